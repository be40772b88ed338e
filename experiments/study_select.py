"""Apply the policy study's selection rules (docs/lab/2026-12-05-study-plan.md) to finished runs.

Rule 2: over every finished run of the planned variants and seeds, the candidate is the run whose
selected policy (``policy_best``) has the highest ``validation_score``; ties go to the higher
``validation_worst``. Rule 3: the candidate may replace the shipped policy only if its score is
above the incumbent's, rescored on the same suite (``rescore_validation.py default``, a JSON file),
and its worst cell is not lower than the incumbent's.

A run is ``<study folder>/<variant>_s<seed>`` with a ``done`` marker and
``checkpoints/rec_ippo/<run>/policy_best/policy.json``; it is named ``<folder name>/<run>`` (the
cloning studies reuse the run name ``clone-rl_s<seed>`` in different folders).

Usage:
  python experiments/study_select.py --bar docs/results/study28/rescore_default.json \\
      --planned study28/strong-cosine,study28-clone/clone-rl,... [--seeds 0,1,2] FOLDER...

Prints every run as a markdown table (best first), the variants' means and the verdict. Exit
status: 0 when every planned run is in and the candidate passes rule 3; 1 when the planned runs
are in and no run passes (nothing to ship); 3 when planned runs are missing (the selection is
provisional); 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence

import numpy as np

RUN = re.compile(r"^(?P<variant>.+)_s(?P<seed>\d+)$")


class Run(NamedTuple):
    name: str  # <folder name>/<variant>_s<seed>
    variant: str  # <folder name>/<variant>
    seed: int
    score: float
    worst: float
    advantage: float
    at_default: float
    tuned: float
    mode: str
    timestep: int
    policy: str  # path of policy_best


def load_runs(folders: Sequence[Path]) -> List[Run]:
    """Every finished run with a selected policy scored by a selection score, in ``folders``."""
    runs = []
    for folder in folders:
        if not folder.is_dir():
            raise FileNotFoundError(f"study folder {folder} does not exist")
        for run_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
            m = RUN.match(run_dir.name)
            if not m or not (run_dir / "done").is_file():
                continue
            policy = run_dir / "checkpoints" / "rec_ippo" / run_dir.name / "policy_best"
            if not (policy / "policy.json").is_file():
                continue
            meta = json.loads((policy / "policy.json").read_text())["metadata"]
            if "validation_score" not in meta:
                continue  # suites without a selection score (older studies) do not enter the rule
            runs.append(Run(
                name=f"{folder.name}/{run_dir.name}", variant=f"{folder.name}/{m['variant']}", seed=int(m["seed"]),
                score=float(meta["validation_score"]), worst=float(meta["validation_worst"]),
                advantage=float(meta["validation_advantage"]), at_default=float(meta["validation_at_default"]),
                tuned=float(meta["validation_tuned"]), mode=meta.get("validation_mode", "sampled"),
                timestep=int(meta["selected_at_timestep"]), policy=str(policy)))
    return runs


def candidate(runs: Sequence[Run]) -> Optional[Run]:
    """Rule 2: the highest score; ties broken by the higher worst cell."""
    return max(runs, key=lambda r: (r.score, r.worst), default=None)


def passes(run: Run, bar: Dict[str, float]) -> bool:
    """Rule 3: score above the incumbent's and worst cell not lower than its worst."""
    return run.score > bar["validation_score"] and run.worst >= bar["validation_worst"]


def missing(runs: Sequence[Run], planned: Sequence[str], seeds: Sequence[int]) -> List[str]:
    have = {(r.variant, r.seed) for r in runs}
    return [f"{v}_s{s}" for v in planned for s in seeds if (v, s) not in have]


def report(runs: Sequence[Run], bar: Dict[str, float], planned: Sequence[str], seeds: Sequence[int]) -> int:
    runs = [r for r in runs if r.variant in planned and r.seed in seeds]  # only planned runs enter
    print(f"Incumbent (rule 3's bar): score {bar['validation_score']:+.2f}, worst {bar['validation_worst']:+.2f}\n")
    print("| run | selection score | advantage | at LR 1e-3 | tuned | worst cell | mode | selected at | passes rule 3 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in sorted(runs, key=lambda r: (r.score, r.worst), reverse=True):
        print(f"| {r.name} | {r.score:+.2f} | {r.advantage:+.2f} | {r.at_default:+.2f} | {r.tuned:+.2f} "
              f"| {r.worst:+.2f} | {r.mode} | {r.timestep} | {'yes' if passes(r, bar) else 'no'} |")
    print("\n| variant | seeds in | selection score (mean ± sample std) | worst cell (mean) | runs passing rule 3 |")
    print("|---|---|---|---|---|")
    for v in planned:
        vr = [r for r in runs if r.variant == v]
        if not vr:
            print(f"| {v} | none | / | / | / |")
            continue
        s = np.array([r.score for r in vr])
        std = s.std(ddof=1) if len(s) > 1 else 0.0
        print(f"| {v} | {', '.join(str(r.seed) for r in sorted(vr, key=lambda r: r.seed))} | {s.mean():+.2f} ± {std:.2f} "
              f"| {np.mean([r.worst for r in vr]):+.2f} | {sum(passes(r, bar) for r in vr)} of {len(vr)} |")
    gone = missing(runs, planned, seeds)
    best = candidate(runs)
    print()
    if best is None:
        print("No finished run of the planned variants.")
        return 3
    verdict = "passes rule 3" if passes(best, bar) else "does not pass rule 3: the shipped policy stays"
    if gone:
        print(f"PROVISIONAL ({len(gone)} planned runs missing: {', '.join(gone)}): "
              f"the leading run is {best.name} ({best.score:+.2f}, worst {best.worst:+.2f}), which {verdict}.")
        return 3
    print(f"Candidate (rule 2): {best.name} ({best.score:+.2f}, worst {best.worst:+.2f}, {best.mode}); it {verdict}.")
    print(f"Policy: {best.policy}")
    return 0 if passes(best, bar) else 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folders", nargs="+", type=Path, help="study folders holding <variant>_s<seed> runs")
    p.add_argument("--bar", required=True, type=Path, help="the incumbent's rescore JSON (rescore_validation.py)")
    p.add_argument("--planned", required=True, help="planned variants, comma-separated, as <folder name>/<variant>")
    p.add_argument("--seeds", default="0,1,2", help="planned RL seeds, comma-separated (default 0,1,2)")
    a = p.parse_args(argv)
    try:
        bar = json.loads(a.bar.read_text())
        bar = {k: float(bar[k]) for k in ("validation_score", "validation_worst")}
    except FileNotFoundError:
        print(f"error: --bar {a.bar} does not exist; write it with experiments/rescore_validation.py default", file=sys.stderr)
        return 2
    except KeyError as e:
        print(f"error: --bar {a.bar} has no {e.args[0]}: is it a rescore_validation.py JSON?", file=sys.stderr)
        return 2
    planned = [v for v in a.planned.split(",") if v]
    try:
        seeds = [int(s) for s in a.seeds.split(",")]
    except ValueError:
        print(f"error: --seeds {a.seeds!r} is not a comma-separated list of integers (e.g. 0,1,2)", file=sys.stderr)
        return 2
    names = {f.name for f in a.folders}
    bad = [v for v in planned if v.split("/")[0] not in names or "/" not in v]
    if bad:
        print(f"error: planned variants {bad} are not <folder name>/<variant> with a folder among "
              f"{sorted(names)}", file=sys.stderr)
        return 2
    try:
        runs = load_runs(a.folders)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return report(runs, bar, planned, seeds)


if __name__ == "__main__":
    sys.exit(main())
