"""Pilot: does choosing the weight decay per task beat the best uniform schedule at one weight
decay? Read from `pilot_layer_lr.py` runs that differ only in ``--weight-decay``; no run is made.

Per task group: the weight decay whose best uniform (schedule, LR) has the highest mean on the
selection seeds (``select_uniform``; ties to the reference weight decay) is chosen; the gain is
its ``confirm_uniform_val`` on the confirmation seeds minus the reference run's. The rule
(pre-registered, docs/lab/2026-12-05-study-plan.md, "Third pilot"): a lever when the mean gain
is at least ``--min-gain`` points and at least ``--min-groups`` groups gain that much.

Usage: python experiments/pilot_weight_decay.py --reference 0.1 WD=FILE.jsonl [WD=FILE.jsonl ...]
Prints a Markdown table and the verdict; exit status 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Dict, List, Tuple

import numpy as np


def read_runs(specs: List[str]) -> Dict[float, Dict[str, dict]]:
    """``WD=FILE`` -> {wd: {task: row}}; every file must hold the same tasks."""
    runs: Dict[float, Dict[str, dict]] = {}
    for spec in specs:
        wd, sep, path = spec.partition("=")
        try:
            value = float(wd)
        except ValueError:
            raise SystemExit(f"{spec!r}: give WEIGHT_DECAY=FILE.jsonl, e.g. 0.1=results/pilot-wd/wd0.1.jsonl") from None
        if not sep or not path:
            raise SystemExit(f"{spec!r}: give WEIGHT_DECAY=FILE.jsonl, e.g. 0.1=results/pilot-wd/wd0.1.jsonl")
        if value in runs:
            raise SystemExit(f"weight decay {value:g} is given twice; give each run once")
        with open(path, encoding="utf-8") as f:
            runs[value] = {r["task"]: r for r in (json.loads(line) for line in f if line.strip())}
    tasks = [sorted(r) for r in runs.values()]
    if any(t != tasks[0] for t in tasks):
        raise SystemExit(f"the runs hold different tasks: {dict(zip(map(str, runs), tasks))}; give complete runs")
    return runs


def choose(runs: Dict[float, Dict[str, dict]], reference: float) -> List[Tuple[str, float, dict, float]]:
    """Per task (in the reference run's order): (task, chosen wd, its row, gain over the reference)."""
    if reference not in runs:
        raise SystemExit(f"--reference {reference:g}: no run has that weight decay; the runs have {sorted(runs)}")
    order = [reference] + [w for w in runs if w != reference]  # the reference wins ties
    out = []
    for task, ref_row in runs[reference].items():
        wd = max(order, key=lambda w: (runs[w][task]["select_uniform"], -order.index(w)))
        row = runs[wd][task]
        out.append((task, wd, row, row["confirm_uniform_val"] - ref_row["confirm_uniform_val"]))
    return out


def markdown(runs: Dict[float, Dict[str, dict]], chosen, reference: float, min_gain: float, min_groups: int) -> str:
    wds = sorted(runs)
    lines = ["| task | " + " | ".join(f"wd {w:g}: best uniform, seeds 0-3 / 4-7" for w in wds) + " | chosen | gain |",
             "|---|" + "---|" * (len(wds) + 2)]  # fmt: skip
    for task, wd, _, gain in chosen:
        cells = [f"{runs[w][task]['schedule']} {runs[w][task]['lr']:g}: {runs[w][task]['select_uniform']:.2f} / "
                 f"{runs[w][task]['confirm_uniform_val']:.2f}" for w in wds]  # fmt: skip
        lines.append(f"| {task} | " + " | ".join(cells) + f" | {wd:g} | {gain:+.2f} |")
    gains = np.array([g for *_, g in chosen])
    n = int((gains >= min_gain).sum())
    lever = gains.mean() >= min_gain and n >= min_groups
    lines += ["", f"Mean gain over the {len(gains)} groups {gains.mean():+.2f} points (reference weight decay "
              f"{reference:g}); groups gaining >= {min_gain:g}: {n} of {len(gains)}; weight decay other than "
              f"{reference:g} chosen in {sum(wd != reference for _, wd, _, _ in chosen)}. Verdict: "
              + ("**a lever**" if lever else "**not a lever**") + f" (rule: mean >= {min_gain:g} and >= {min_groups} groups)."]  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="WEIGHT_DECAY=FILE.jsonl, one per pilot_layer_lr.py run")
    p.add_argument("--reference", type=float, required=True, help="the weight decay the schedules are tuned at")
    p.add_argument("--min-gain", type=float, default=0.2)
    p.add_argument("--min-groups", type=int, default=5)
    a = p.parse_args(argv)
    runs = read_runs(a.runs)
    print(markdown(runs, choose(runs, a.reference), a.reference, a.min_gain, a.min_groups), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
