"""Is a policy worth choosing over a cosine schedule? Every criterion, read from a finished
`ganno bench` folder, with the policy's number, the bar and whether it is met.

The criteria (the policy study's bar, docs/lab/2026-12-05-study-plan.md), all greedy policies as
benchmarked, every number from the folder's ``leaderboard.json`` and its tasks' result files:

- at LR 1e-3: at or above AdamW + cosine at 1e-3 on every task (mean over seeds), and an IQM of
  normalised scores at or above the best handcrafted schedule's;
- tuned (LR picked on validation): within 0.1 accuracy points, or 0.01 normalised, of the best
  tuned schedule on every task (loss tasks: the normalised bar), and an IQM at or above the
  best handcrafted schedule's;
- LR-grid mean: an IQM at or above the best handcrafted schedule's; at no initial LR below the
  constant LR by more than 0.5 accuracy points (loss tasks: 0.025 bits, the same as 0.5 points
  under the benchmark's 1 point = 0.05 bits scale); no diverged run;
- speed-up against tuned AdamW + cosine: IQM >= 1.0.

Usage: python experiments/policy_criteria.py BENCH_FOLDER [METHOD]
  METHOD: a method key of leaderboard.json (default: the first GANNO policy in it).
Prints a markdown table; exit status 0 when every criterion is met, 1 otherwise.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, List, Tuple

import numpy as np

from mava_ganno.bench.metrics import SCHEDULE_GROUPS, method_results
from mava_ganno.bench.tasks import DEFAULT_LR
from mava_ganno.evaluation.store import load_evaluation

TUNED_POINTS, TUNED_NORMALISED = 0.001, 0.01  # 0.1 accuracy points (as a fraction); normalised units
GRID_FLOOR = {"accuracy": 0.005, "loss": 0.025}  # 0.5 points; 0.025 bits
SPEEDUP_BAR = 1.0

Row = Tuple[str, str, str, bool]  # criterion, the policy's number, the bar, met


def _better_or_equal(x: float, y: float, metric: str) -> bool:
    return x >= y if metric == "accuracy" else x <= y


def _show(x: float, metric: str) -> str:
    return f"{100 * x:.2f}%" if metric == "accuracy" else f"{x:.3f} bits"


def criteria(folder: str, method: str) -> List[Row]:
    """Every criterion's row for ``method`` on the benchmark written in ``folder``."""
    with open(os.path.join(folder, "leaderboard.json")) as f:
        board = json.load(f)
    agg = board["aggregate"]
    if method not in agg:
        raise ValueError(f"{method!r} is not a method of {folder}; choose from {sorted(agg)}.")
    schedules = [m for m, a in agg.items() if a["group"] in SCHEDULE_GROUPS]
    rows: List[Row] = []

    def best_schedule(view: str) -> Tuple[str, float]:
        m = max(schedules, key=lambda s: agg[s][view]["iqm"])
        return agg[m]["label"], agg[m][view]["iqm"]

    def iqm_row(view: str, name: str) -> None:
        label, bar = best_schedule(view)
        x = agg[method][view]["iqm"]
        ci = agg[method][view].get("ci")
        shown = f"{x:.2f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")
        rows.append((f"{name}: IQM of normalised scores", shown, f">= {bar:.2f} ({label})", x >= bar))

    for name, task in board["per_task"].items():
        metric, mine, cos = task["metric"], task["methods"][method], task["methods"]["cosine"]
        x, y = float(np.mean(mine["default"])), float(np.mean(cos["default"]))
        rows.append((f"at 1e-3, {name}: vs cosine at 1e-3", _show(x, metric), f">= {_show(y, metric)}" if metric == "accuracy"
                     else f"<= {_show(y, metric)}", _better_or_equal(x, y, metric)))  # fmt: skip
    iqm_row("default", "at 1e-3")
    for name, task in board["per_task"].items():
        metric, mine = task["metric"], task["methods"][method]
        best, value = task["best_schedule"]
        gap = float(np.mean(mine["tuned"])) - value
        gap_norm = float(np.mean(mine["normalised"]["tuned"])) - float(np.mean(task["methods"][best]["normalised"]["tuned"]))
        ok = gap_norm >= -TUNED_NORMALISED or (metric == "accuracy" and gap >= -TUNED_POINTS)
        shown = (f"{100 * gap:+.2f} points" if metric == "accuracy" else f"{gap:+.3f} bits") + f", {gap_norm:+.2f} normalised"
        bar = ">= -0.10 points or -0.01 normalised" if metric == "accuracy" else ">= -0.01 normalised"
        rows.append((f"tuned, {name}: gap to the best tuned schedule ({task['methods'][best]['label']})", shown, bar, ok))
    iqm_row("tuned", "tuned")
    iqm_row("grid", "LR-grid mean")
    for name, worst, metric in _worst_lr_gaps(folder, board, method):
        floor = GRID_FLOOR[metric]
        shown = f"{100 * worst:+.2f} points" if metric == "accuracy" else f"{-worst:+.3f} bits"
        bar = f">= -{100 * floor:.1f} points" if metric == "accuracy" else f"<= +{floor:.3f} bits"
        rows.append((f"every initial LR, {name}: worst gap to the constant LR", shown, bar, worst >= -floor))
    diverged = sum(int(t["methods"][method]["divergences"]) for t in board["per_task"].values())
    rows.append(("no collapse: diverged runs", str(diverged), "0", diverged == 0))
    s = agg[method]["speedup"]
    ci = s.get("ci")
    rows.append(("speed-up vs tuned AdamW + cosine: IQM", f"{s['iqm']:.2f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""),
                 f">= {SPEEDUP_BAR:.1f}", s["iqm"] >= SPEEDUP_BAR))  # fmt: skip
    return rows


def _worst_lr_gaps(folder: str, board: Dict[str, Any], method: str) -> List[Tuple[str, float, str]]:
    """Per task: the lowest (policy - constant) over the initial LRs, each the mean over seeds,
    signed so that negative is worse (loss tasks: constant - policy)."""
    out = []
    for name, task in board["per_task"].items():
        metric = task["metric"]
        results = {m.method: m for m in method_results(load_evaluation(os.path.join(folder, "tasks", name)), metric)}
        mine, const = results[method], results["constant"]
        sign = 1.0 if metric == "accuracy" else -1.0
        gaps = [sign * (mine.test[mine.at(lr)].mean() - const.test[const.at(lr)].mean()) for lr in const.lrs]
        out.append((name, float(min(gaps)), metric))
    return out


def markdown(rows: List[Row], method: str, folder: str) -> str:
    lines = [f"Criteria for `{method}` on `{folder}` (default LR {DEFAULT_LR:g}):", "",
             "| criterion | value | bar | met |", "|---|---|---|---|"]  # fmt: skip
    lines += [f"| {c} | {v} | {b} | {'yes' if ok else '**no**'} |" for c, v, b, ok in rows]
    met = sum(ok for *_, ok in rows)
    return "\n".join(lines + ["", f"{met} of {len(rows)} criteria met."]) + "\n"


def main(argv: List[str]) -> int:
    if not argv or len(argv) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    folder = argv[0]
    with open(os.path.join(folder, "leaderboard.json")) as f:
        agg = json.load(f)["aggregate"]
    method = argv[1] if len(argv) == 2 else next((m for m, a in agg.items() if a["group"] == "ganno"), None)
    if method is None:
        print(f"{folder} has no GANNO policy; name a method: {sorted(agg)}", file=sys.stderr)
        return 2
    rows = criteria(folder, method)
    print(markdown(rows, method, folder), end="")
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
