"""Tables of a study over RL training seeds (issue 10) from `ganno evaluate` outputs.

A policy labelled ``<variant>_s<seed>`` (``--policy pool-robust_s0=DIR``) is one training
seed of a variant. For every weight decay and policy mode, a variant's cell is the mean over
its policy seeds of the policy's mean final test accuracy over evaluation seeds, ± the std
over policy seeds (the outcome of the training procedure, not of one policy); its Average
is per policy seed over the LR columns, then mean ± std over policy seeds. Baselines: mean ±
std over evaluation seeds. A diverged run counts as 10% (as in every table here).

Checks against the issue's bar, per variant and mode, over policy seeds and LRs:
``worst vs constant`` is the smallest (variant - constant) cell, ``collapses`` the number of
runs below 50% test accuracy, ``vs best schedule`` the Average minus the best handcrafted
schedule's Average.

With ``--runs OUT`` (the training output folder of study_task_distribution.sh) each policy's
selected action mode is read from its ``policy_best`` metadata (``validation_mode``, chosen on
the validation suite of its pool) and every variant gets a ``suite mode`` row: per policy seed,
the runs of the mode its suite chose (both modes must have been evaluated). Policies without
a recorded mode are left out of that row.

Usage: python experiments/study_table.py [--runs OUT] RESULTS_DIR [RESULTS_DIR ...] > table.md
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

COLLAPSE = 0.5
POLICY = re.compile(r"^(?P<variant>.+)_s(?P<seed>\d+)$")


def load(folder: Path):
    rows = list(csv.DictReader(open(folder / "table.csv")))
    for r in rows:
        r["acc"] = 0.1 if r["diverged"] == "true" else float(r["final_test_accuracy"])
        r["lr"], r["wd"] = float(r["initial_lr"]), float(r["weight_decay"])
    return rows


def fmt(values) -> str:
    v = 100 * np.asarray(values, float)
    return f"{v.mean():.2f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.2f}"


def suite_modes(runs: Path) -> dict:
    """``<variant>_s<seed>`` -> the action mode its validation suite chose, where recorded."""
    modes = {}
    for meta_file in runs.glob("*/checkpoints/rec_ippo/*/policy_best/policy.json"):
        mode = (json.load(open(meta_file)).get("metadata") or {}).get("validation_mode")
        if mode is not None:
            modes[meta_file.parent.parent.name] = mode
    return modes


def with_suite_mode(rows, modes: dict):
    """Adds, per policy, copies of the rows of its suite-selected mode, under the mode
    ``suite mode``."""
    extra = []
    for r in rows:
        label = r["label"].removesuffix(f" ({r['mode']})")
        if r["policy"] and modes.get(label) == r["mode"]:
            extra.append({**r, "mode": "suite mode", "label": f"{label} (suite mode)"})
    return rows + extra


def table(rows, title: str) -> str:
    lrs = sorted({r["lr"] for r in rows if r["lr"] > 0})
    out = [f"## {title}"]
    for wd in sorted({r["wd"] for r in rows}, reverse=True):
        sub = [r for r in rows if r["wd"] == wd and r["lr"] in lrs]
        base = defaultdict(lambda: defaultdict(list))  # label -> lr -> [acc per eval seed]
        pol = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))  # (variant, mode) -> pseed -> lr -> accs
        for r in sub:
            m = POLICY.match(r["label"].removesuffix(f" ({r['mode']})")) if r["policy"] else None
            if m is None:  # a baseline, or a policy not labelled <variant>_s<seed>
                base[r["label"]][r["lr"]].append(r["acc"])
            else:
                pol[(m["variant"], r["mode"])][int(m["seed"])][r["lr"]].append(r["acc"])
        head = "| Method | " + " | ".join(f"{lr:g}" for lr in lrs) + " | Average |"
        out += [f"\n### λ = {wd:g}\n", head, "|" + "---|" * (len(lrs) + 2)]
        base_avg = {}
        for label, cells in base.items():
            per_seed = np.mean([cells[lr] for lr in lrs], axis=0)
            base_avg[label] = per_seed.mean()
            out.append(f"| {label} | " + " | ".join(fmt(cells[lr]) for lr in lrs) + f" | {fmt(per_seed)} |")
        checks = []
        for (variant, mode), seeds in sorted(pol.items()):
            cell = {lr: [np.mean(seeds[s][lr]) for s in sorted(seeds)] for lr in lrs}
            avg = [np.mean([np.mean(seeds[s][lr]) for lr in lrs]) for s in sorted(seeds)]
            name = f"{variant} ({mode}, {len(seeds)} policies)"
            out.append(f"| **{name}** | " + " | ".join(fmt(cell[lr]) for lr in lrs) + f" | {fmt(avg)} |")
            if "Constant" in base:
                worst = min(np.mean(cell[lr]) - np.mean(base["Constant"][lr]) for lr in lrs)
                runs = [a for s in seeds.values() for lr in lrs for a in s[lr]]
                others = [(v, k) for k, v in base_avg.items() if k != "Constant"]
                best = f"{100 * (np.mean(avg) - max(others)[0]):+.2f} ({max(others)[1]})" if others else "/ (no schedule run)"
                checks.append(f"| {name} | {100 * worst:+.2f} | {sum(a < COLLAPSE for a in runs)} / {len(runs)} | {best} |")
        if checks:
            out += ["", "| Variant | worst vs constant (points) | collapses (< 50%) | vs best schedule's average |",
                    "|---|---|---|---|", *checks]
    return "\n".join(out) + "\n"


def main(argv) -> None:
    modes = None
    if argv[:1] == ["--runs"]:
        if len(argv) < 2 or not Path(argv[1]).is_dir():
            sys.exit(f"--runs needs the training output folder (e.g. results/study10), got {argv[1:2]}")
        modes, argv = suite_modes(Path(argv[1])), argv[2:]
    if not argv:
        sys.exit(__doc__)
    for folder in map(Path, argv):
        if not (folder / "table.csv").is_file():
            sys.exit(f"{folder}: no table.csv (run `ganno evaluate ... --out` first)")
        rows = load(folder)
        print(table(rows if modes is None else with_suite_mode(rows, modes), folder.name))


if __name__ == "__main__":
    main(sys.argv[1:])
