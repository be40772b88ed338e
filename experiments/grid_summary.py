"""The three ways a user chooses, from one `ganno evaluate` folder (its table.csv): per weight
decay and method, the LR-grid average, the cell at the default LR and the tuned cell (the
initial LR with the best mean final *validation* accuracy, its mean final *test* accuracy
reported), final test accuracy in %, mean over seeds. Diverged runs count as 10%, as in every
table of `ganno evaluate`. LR-free methods (no initial LR) get one value in every column.

Usage: python experiments/grid_summary.py FOLDER [--default-lr 1e-3] > summary.md
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

DIVERGED = 0.10


def load(folder: str) -> List[dict]:
    path = os.path.join(folder, "table.csv")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} not found: give the --out/--name folder of a `ganno evaluate` run")
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def summarise(rows: List[dict], default_lr: float) -> Dict[float, List[Tuple[str, float, float, float, float]]]:
    """Per weight decay: (label, grid average, at default LR, tuned test, tuned LR) per method,
    best grid average first. NaN where the method has no run at the default LR; tuned LR None
    for an LR-free method."""
    cells: Dict[Tuple[float, str, Optional[float]], List[Tuple[float, float]]] = defaultdict(list)
    for r in rows:
        lr = None if r["initial_lr"] in ("", "nan") else float(r["initial_lr"])  # None: LR-free (NaN != NaN)
        test = DIVERGED if r["diverged"] == "true" else float(r["final_test_accuracy"])
        val = DIVERGED if r["diverged"] == "true" else float(r["final_val_accuracy"])
        label = r["label"]  # a policy's label already names its mode
        cells[(float(r["weight_decay"]), label, lr)].append((test, val))
    out: Dict[float, list] = defaultdict(list)
    for wd in sorted({k[0] for k in cells}, reverse=True):
        for label in dict.fromkeys(k[1] for k in cells if k[0] == wd):
            by_lr = {lr: v for (w, lab, lr), v in cells.items() if w == wd and lab == label}
            mean = {lr: (sum(t for t, _ in v) / len(v), sum(x for _, x in v) / len(v)) for lr, v in by_lr.items()}
            avg = sum(t for t, _ in mean.values()) / len(mean)
            at = next((m[0] for lr, m in mean.items() if lr is not None and math.isclose(lr, default_lr)), math.nan)
            if list(mean) == [None]:  # LR-free: one cell
                at = avg
            tuned_lr = max(mean, key=lambda lr: mean[lr][1])
            out[wd].append((label, 100 * avg, 100 * at, 100 * mean[tuned_lr][0], tuned_lr))
        out[wd].sort(key=lambda row: -row[1])
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder")
    p.add_argument("--default-lr", type=float, default=1e-3)
    a = p.parse_args(argv)
    try:
        rows = load(a.folder)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for wd, table in summarise(rows, a.default_lr).items():
        print(f"\n### weight decay {wd:g}\n")
        print(f"| method | LR-grid average | at LR {a.default_lr:g} | tuned (LR picked on validation) |")
        print("|---|---|---|---|")
        for label, avg, at, tuned, lr in table:
            lr_text = "" if lr is None else f" (LR {lr:g})"
            at_text = "/" if math.isnan(at) else f"{at:.2f}"
            print(f"| {label} | {avg:.2f} | {at_text} | {tuned:.2f}{lr_text} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
