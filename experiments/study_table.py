"""Tables of a study over RL training seeds from `ganno evaluate` outputs.

A policy labelled ``<variant>_s<seed>`` (``--policy pool-robust_s0=DIR``) is one training
seed of a variant. For every weight decay and policy mode, a variant's cell is the mean over
its policy seeds of the policy's mean final test accuracy over evaluation seeds, ± the std
over policy seeds (the outcome of the training procedure, not of one policy); its Average
is per policy seed over the LR columns, then mean ± std over policy seeds. Baselines: mean ±
std over evaluation seeds. A diverged run counts as 10% (as in every table here).

Checks against the robustness bar, per variant and mode, over policy seeds and LRs:
``worst vs constant`` is the smallest (variant - constant) cell, ``collapses`` the number of
runs below 50% test accuracy, ``vs best schedule`` the Average minus the best handcrafted
schedule's Average.

With ``--runs OUT`` (the training output folder of study_task_distribution.sh) each policy's
selected action mode is read from its ``policy_best`` metadata (``validation_mode``, chosen on
the validation suite of its pool) and every variant gets a ``suite mode`` row: per policy seed,
the runs of the mode its suite chose (both modes must have been evaluated). Policies without
a recorded mode are left out of that row.

Where the grid has initial LR 0 (the paper's Table 3), a "From LR 0" table follows per weight
decay: each variant's LR-0 accuracy (mean ± std over policy seeds of each policy's mean over
evaluation seeds) against the warm-up schedules' Average over their peaks (the LR columns),
the paper's Table 3 comparison.

With ``--merge`` the folders are one grid evaluated in several calls (e.g. one variant per
call): one table of all their policies. Their handcrafted rows must be the same runs with the
same results (checked run by run; the first difference is named) and are taken once.

With ``--alias OLD=NEW`` (repeatable) the policies of variant OLD are counted as variant NEW
(``OLD_s3`` becomes ``NEW_s3``): seeds of one procedure that were evaluated under different
labels, e.g. ``deep-robust-episode_s3`` (experiments/evaluate_study.sh names policies by their
run) with study12's ``rl_s0``-``rl_s2``. A merge checks labels after the renaming.

Usage: python experiments/study_table.py [--runs OUT] [--alias OLD=NEW ...] [--merge] RESULTS_DIR [RESULTS_DIR ...] > table.md
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


def aliased(name: str, aliases: dict = None) -> str:
    """``<variant>_s<seed>`` with its variant renamed by ``aliases`` (``--alias``); any other
    name as it is."""
    m = POLICY.match(name)
    if m is None or m["variant"] not in (aliases or {}):
        return name
    return f"{aliases[m['variant']]}_s{m['seed']}"


def load(folder: Path, aliases: dict = None):
    rows = list(csv.DictReader(open(folder / "table.csv")))
    for r in rows:
        r["acc"] = 0.1 if r["diverged"] == "true" else float(r["final_test_accuracy"])
        r["lr"], r["wd"] = float(r["initial_lr"]), float(r["weight_decay"])
        if r["policy"]:
            suffix = f" ({r['mode']})"
            r["label"] = aliased(r["label"].removesuffix(suffix), aliases) + (suffix if r["label"].endswith(suffix) else "")
    return rows


def fmt(values) -> str:
    v = 100 * np.asarray(values, float)
    return f"{v.mean():.2f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.2f}"


def suite_modes(runs: Path, aliases: dict = None) -> dict:
    """``<variant>_s<seed>`` (after ``aliases``) -> the action mode its validation suite chose,
    where recorded."""
    modes = {}
    for meta_file in runs.glob("*/checkpoints/rec_ippo/*/policy_best/policy.json"):
        mode = (json.load(open(meta_file)).get("metadata") or {}).get("validation_mode")
        if mode is not None:
            modes[aliased(meta_file.parent.parent.name, aliases)] = mode
    return modes


def merge(folders, aliases: dict = None) -> list:
    """The rows of several evaluation folders of one grid: every policy row, and the baseline
    rows once, after checking that every folder has the same baseline runs with the same
    results and that no policy label is in two folders."""
    rows, base, first, owner = [], None, None, {}
    for folder in folders:
        these = load(folder, aliases)
        b = {(r["method"], r["lr"], r["wd"], r["seed"]): r["acc"] for r in these if not r["policy"]}
        if base is None:
            base, first = b, folder
            rows += [r for r in these if not r["policy"]]
        elif set(b) != set(base):
            sys.exit(f"--merge: {folder} and {first} do not have the same baseline runs "
                     f"(only in {folder}: {sorted(set(b) - set(base))[:3]}, only in {first}: {sorted(set(base) - set(b))[:3]})")
        else:
            diff = [k for k in sorted(b) if b[k] != base[k]]
            if diff:
                sys.exit(f"--merge: {len(diff)} baseline run(s) differ between {first} and {folder}, first {diff[0]}: "
                         f"{base[diff[0]]} vs {b[diff[0]]}; they are not one grid's evaluation (merge only folders whose "
                         "handcrafted rows agree)")
        for label in {r["label"] for r in these if r["policy"]}:
            if owner.setdefault(label, folder) != folder:
                sys.exit(f"--merge: policy label {label!r} is in several folders ({owner[label]}, {folder}); give each policy one label")
        rows += [r for r in these if r["policy"]]
    return rows


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
        out += from_zero([r for r in rows if r["wd"] == wd], lrs, base_avg)
    return "\n".join(out) + "\n"


def from_zero(rows, lrs, base_avg: dict) -> list:
    """The "From LR 0" lines of one weight decay (none when LR 0 was not evaluated): every
    policy variant at LR 0 against the warm-up schedules' averages over their peaks ``lrs``."""
    zero = [r for r in rows if r["lr"] == 0]
    warmups = sorted({r["label"] for r in rows if r["group"] == "warmup" and r["label"] in base_avg})
    if not zero:
        return []
    pol = defaultdict(lambda: defaultdict(list))  # (variant, mode) -> pseed -> accs
    for r in zero:
        m = POLICY.match(r["label"].removesuffix(f" ({r['mode']})")) if r["policy"] else None
        if m is not None:
            pol[(m["variant"], r["mode"])][int(m["seed"])].append(r["acc"])
    if not pol:
        return []
    out = ["", "From LR 0 (Table 3): the variant at initial LR 0 against each warm-up schedule's Average over "
           f"its peaks {', '.join(f'{lr:g}' for lr in lrs)}", ""]
    if warmups:
        best_label = max(warmups, key=lambda k: base_avg[k])
        out.append("Warm-up schedules: " + ", ".join(f"{k} {100 * base_avg[k]:.2f}" for k in warmups))
        out.append("")
    out += ["| Variant | from LR 0 | per policy | collapses (< 50%) | vs best warm-up's average |", "|---|---|---|---|---|"]
    for (variant, mode), seeds in sorted(pol.items()):
        per = [np.mean(seeds[s]) for s in sorted(seeds)]
        runs = [a for s in seeds.values() for a in s]
        vs = f"{100 * (np.mean(per) - base_avg[best_label]):+.2f} ({best_label})" if warmups else "/ (no warm-up schedule run)"
        out.append(f"| {variant} ({mode}, {len(seeds)} policies) | {fmt(per)} | {' / '.join(f'{100 * p:.2f}' for p in per)} "
                   f"| {sum(a < COLLAPSE for a in runs)} / {len(runs)} | {vs} |")
    return out


def main(argv) -> None:
    runs = None
    if argv[:1] == ["--runs"]:
        if len(argv) < 2 or not Path(argv[1]).is_dir():
            sys.exit(f"--runs needs the training output folder (e.g. results/study10), got {argv[1:2]}")
        runs, argv = Path(argv[1]), argv[2:]
    aliases = {}
    while argv[:1] == ["--alias"]:
        old, sep, new = (argv[1] if len(argv) > 1 else "").partition("=")
        if not (old and sep and new):
            sys.exit(f"--alias needs OLD=NEW (a variant label and the one to count it as), got {argv[1:2]}")
        aliases[old], argv = new, argv[2:]
    modes = None if runs is None else suite_modes(runs, aliases)
    merged = argv[:1] == ["--merge"]
    argv = argv[1:] if merged else argv
    if not argv:
        sys.exit(__doc__)
    folders = list(map(Path, argv))
    for folder in folders:
        if not (folder / "table.csv").is_file():
            sys.exit(f"{folder}: no table.csv (run `ganno evaluate ... --out` first)")
    groups = [(merge(folders, aliases), " + ".join(f.name for f in folders))] if merged else [(load(f, aliases), f.name) for f in folders]
    for rows, title in groups:
        print(table(rows if modes is None else with_suite_mode(rows, modes), title))


if __name__ == "__main__":
    main(sys.argv[1:])
