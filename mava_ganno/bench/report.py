"""The benchmark's outputs: ``leaderboard.md``, ``leaderboard.json``, per-task tables and the
performance-profile figure.

``leaderboard.json`` holds everything the Markdown shows (and the per-seed numbers behind it),
so the Markdown and the figure can be rebuilt from it alone::

    python -m mava_ganno.bench.report <bench folder>
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from mava_ganno.bench.metrics import BOOTSTRAP_REPS, VIEWS, TaskScores, aggregate, performance_profile
from mava_ganno.utils.files import atomic_write_text

LEADERBOARD_FORMAT = 1
VIEW_TITLES = {
    "tuned": "Tuned (LR picked on validation)",
    "default": "At LR 1e-3",
    "grid": "LR-grid mean",
    "speedup": "Speed-up vs tuned AdamW + cosine",
}


def _fmt_ci(entry: Dict[str, Any], digits: int = 2) -> str:
    if entry["ci"] is None:  # a partial leaderboard: intervals come with the last task
        return f"{entry['iqm']:.{digits}f}"
    lo, hi = entry["ci"]
    return f"{entry['iqm']:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _metric_value(v: float, metric: str) -> str:
    if v is None or not math.isfinite(v):
        return "–"
    return f"{100 * v:.2f}" if metric == "accuracy" else f"{v:.3f}"


def _mean(xs: Sequence[Optional[float]]) -> float:
    vals = [x for x in xs if x is not None]
    return float(np.mean(vals)) if len(vals) == len(xs) and vals else float("nan")


def _speedup_cell(xs: Sequence[Optional[float]]) -> str:
    vals = [x for x in xs if x is not None and math.isfinite(x)]
    never = len(xs) - len(vals)
    if not vals:
        return "never"
    cell = f"{np.mean(vals):.2f}x"
    return cell + (f" ({never}/{len(xs)} never)" if never else "")


def task_table(t: Dict[str, Any], order: Sequence[str]) -> str:
    """One task's table: every method's four views and divergences (means over seeds)."""
    metric = t["metric"]
    unit = "test accuracy (%)" if metric == "accuracy" else "test loss (bits per byte)"
    best_name, best_value = t["best_schedule"]
    lines = [
        f"### {t['task']}",
        "",
        f"Metric: {unit}, {'higher' if metric == 'accuracy' else 'lower'} is better; mean over seeds {t['seeds']}. "
        f"Normalisation: 0 = tuned constant LR ({_metric_value(t['constant'], metric)}), 1 = best tuned schedule "
        f"({t['methods'][best_name]['label']}, {_metric_value(best_value, metric)}). Speed-up reference: AdamW + cosine "
        f"at LR {t['reference_lr']:g}.",
        "",
        "| method | tuned (LR) | at LR 1e-3 | LR-grid mean | speed-up | divergences |",
        "|---|---|---|---|---|---|",
    ]
    for m in order:
        r = t["methods"].get(m)
        if r is None:
            continue
        lr = f" ({r['tuned_lr']:g})" if r["tuned_lr"] is not None else " (LR-free)"
        lines.append(
            f"| {r['label']} | {_metric_value(_mean(r['tuned']), metric)}{lr} | {_metric_value(_mean(r['default']), metric)} | "
            f"{_metric_value(_mean(r['grid']), metric)} | {_speedup_cell(r['speedup'])} | {r['divergences']}/{r['runs']} |"
        )
    return "\n".join(lines) + "\n"


def leaderboard(tasks: Sequence[TaskScores], meta: Dict[str, Any]) -> Dict[str, Any]:
    """The leaderboard as a JSON-able dict: ``meta`` plus the aggregate and every task's scores.
    The bootstrap intervals (tens of seconds) are computed once the run is complete; a partial
    leaderboard has the IQMs alone."""
    return {
        "format": LEADERBOARD_FORMAT,
        **meta,
        "tasks_done": [t.task for t in tasks],
        "aggregate": aggregate(tasks, reps=BOOTSTRAP_REPS if meta.get("complete") else 0),
        "per_task": {t.task: t.to_json() for t in tasks},
    }


def _compute_time(board: Dict[str, Any]) -> str:
    """The sum of the finished tasks' own compute times, whichever run computed them."""
    secs = [v for v in (board.get("task_seconds") or {}).values() if v is not None]
    return f" Compute: {sum(secs) / 60:.1f} min for these tasks." if secs else ""


def leaderboard_markdown(board: Dict[str, Any]) -> str:
    agg = board["aggregate"]
    order = sorted(agg, key=lambda m: -agg[m]["tuned"]["iqm"])
    done, total = board["tasks_done"], board["tasks"]
    status = "complete" if board.get("complete") else f"PARTIAL: {len(done)} of {len(total)} tasks finished"
    lines = [
        f"# GANNO benchmark: suite `{board['suite']}` ({status})",
        "",
        f"Command: `{board['command']}`",
        "",
        f"Tasks: {', '.join(done)}. Initial-LR grid {board['lrs']}, seeds {board['seeds']}, "
        f"AdamW weight decay per task (see below). Policies greedy." + _compute_time(board),
        "",
        "Normalised scores: 0 = AdamW with a constant LR tuned on validation, 1 = the best tuned "
        "handcrafted AdamW schedule of the task; IQM over (seed, task) pairs with 95% bootstrap CIs "
        "(rliable, tasks and seeds resampled). Speed-up: steps tuned AdamW + cosine needs to reach its "
        "final validation loss over the steps the method (at its tuned LR) needs; never = 0 in the IQM.",
        "",
        "| method | " + " | ".join(VIEW_TITLES[v] for v in (*VIEWS, "speedup")) + " | divergences |",
        "|---|" + "---|" * (len(VIEWS) + 2),
    ]
    for m in order:
        a = agg[m]
        cells = [_fmt_ci(a[v]) for v in VIEWS] + [_fmt_ci(a["speedup"])]
        lines.append(f"| {a['label']} | " + " | ".join(cells) + f" | {a['divergences']}/{a['runs']} |")
    if board.get("complete"):
        lines += ["", "Performance profile (tuned scores): `performance_profile.png`."]
    else:
        lines += ["", "IQMs of the tasks finished so far; the 95% CIs and the performance profile come with the last task."]
    lines += ["", "## Per task", ""]
    for name in done:
        t = board["per_task"][name]
        lines.append(task_table(t, order))
    return "\n".join(lines)


def write_profile(tasks: Sequence[TaskScores], path: str) -> Optional[str]:
    """The performance profile of the tuned normalised scores, one line (and band) per method."""
    if not tasks:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    taus, prof, band = performance_profile(tasks)
    labels = tasks[0].methods
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    cmap = plt.get_cmap("tab20")
    policy_colours = iter(["black", "crimson", "navy", "darkgreen", "darkorange"] * 4)
    for k, m in enumerate(prof):
        policy = labels[m]["group"] in ("ganno", "ablation")
        colour = next(policy_colours) if policy else cmap(k % 20)
        ax.plot(taus, prof[m], "-" if policy else "--", lw=2.4 if policy else 1.2, color=colour, label=labels[m]["label"])
        if policy:  # the policies' bootstrap bands only, to stay readable
            ax.fill_between(taus, band[m][0], band[m][1], color=colour, alpha=0.15)
    ax.axvline(0.0, color="grey", lw=0.6)
    ax.axvline(1.0, color="grey", lw=0.6)
    ax.set_xlabel("normalised score τ (0 = tuned constant LR, 1 = best tuned schedule)")
    ax.set_ylabel("fraction of (seed, task) runs with score > τ")
    ax.set_title(f"Performance profile, tuned LR ({len(tasks)} tasks)")
    ax.legend(fontsize=7, ncol=2, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_leaderboard(tasks: Sequence[TaskScores], meta: Dict[str, Any], out_dir: str, figure: bool = True) -> List[str]:
    """Writes ``leaderboard.json``, ``leaderboard.md`` and (``figure``) the profile PNG; returns
    the paths. Each file is replaced atomically."""
    board = leaderboard(tasks, meta)
    files = [
        atomic_write_text(os.path.join(out_dir, "leaderboard.json"), json.dumps(board, indent=1, sort_keys=False) + "\n"),
        atomic_write_text(os.path.join(out_dir, "leaderboard.md"), leaderboard_markdown(board)),
    ]
    profile = os.path.join(out_dir, "performance_profile.png")
    if figure and tasks and meta.get("complete"):  # its bootstrap bands, like the CIs, once complete
        files.append(_replace_figure(tasks, profile))
    elif not meta.get("complete") and os.path.exists(profile):
        os.remove(profile)  # an earlier run's: it does not belong to this leaderboard
    return files


def _replace_figure(tasks: Sequence[TaskScores], final: str) -> str:
    tmp = os.path.join(os.path.dirname(final), ".performance_profile.tmp.png")
    try:
        write_profile(tasks, tmp)
        os.replace(tmp, final)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return final


def tasks_of(board: Dict[str, Any]) -> List[TaskScores]:
    """The finished tasks' scores of a ``leaderboard.json`` (None there are NaN/never)."""
    return [TaskScores.from_json(board["per_task"][name]) for name in board["tasks_done"]]


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Rebuild ``leaderboard.md`` and ``performance_profile.png`` from a bench folder's
    ``leaderboard.json``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m mava_ganno.bench.report <bench folder>", file=sys.stderr)
        raise SystemExit(2)
    path = os.path.join(args[0], "leaderboard.json")
    with open(path) as f:
        board = json.load(f)
    print(atomic_write_text(os.path.join(args[0], "leaderboard.md"), leaderboard_markdown(board)))
    tasks = tasks_of(board)
    if tasks:
        print(_replace_figure(tasks, os.path.join(args[0], "performance_profile.png")))


if __name__ == "__main__":
    main()
