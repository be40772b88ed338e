"""What holding a schedule's LR for each decision costs, on a training config's validation suite.

A GANNO policy sets each layer's LR once per decision and the LR is held for the decision's tau
SGD steps; the benchmark's schedules set it at every SGD step. This runs every reference
schedule of the suite at the three ``schedule_resolution`` values (held at the decision's first
step, held at the decision's mean, per SGD step; same initialisation and minibatches) and prints,
per task, each schedule's mean final hold-out accuracy at every initial LR, and the tuned (best
LR) value, at each resolution.

Usage (overrides as for ``ganno train``):
    python experiments/schedule_resolution.py -- env/scenario=pool-deep \\
        +env.scenario.validation.reference=best_schedule
Prints one Markdown table; the last rows give, per resolution, the mean over tasks of the best
(schedule, LR), the bar a policy's ``tuned`` score is measured against.
"""

from __future__ import annotations

import sys

import numpy as np
from omegaconf import OmegaConf

from mava_ganno.evaluation.policies import NoopPolicy
from mava_ganno.systems.validation import ValidationSuite
from mava_ganno.train import compose_config
from mava_ganno.utils.config import check_config

RESOLUTIONS = ("decision", "decision_mean", "sgd_step")
SHORT = {"decision": "held", "decision_mean": "held mean", "sgd_step": "per step"}


def main(argv) -> int:
    if not argv or argv[0] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    config = check_config(compose_config(argv[1:]), 1)
    if config.env.scenario.get("validation") is None:
        print("the composed config has no validation suite (env.scenario.validation)", file=sys.stderr)
        return 2
    OmegaConf.set_struct(config, False)
    config.env.scenario.validation.every = 1
    suites = {}
    for resolution in RESOLUTIONS:
        config.env.scenario.validation.schedule_resolution = resolution
        suites[resolution] = ValidationSuite.from_config(config)
    # {resolution: {task: (schedules, seeds, lrs)}}
    runs = {}
    for resolution, suite in suites.items():
        runs[resolution] = {}
        for name, env in suite.envs.items():
            noop = NoopPolicy(env.action_table.entries, env.lr_max)  # unused by the schedules' runs
            runs[resolution][name] = np.stack([suite._schedule_final_val(name, noop, s) for s in suite.schedules])
    print(table(runs, suites["decision"].schedules, [float(x) for x in suites["decision"].lrs]))
    return 0


def table(runs, schedules, lrs) -> str:
    """Markdown: one row per (task, schedule), accuracy (%) per LR and tuned, at each resolution."""
    head = " | ".join(f"{lr:g} {SHORT[r]}" for lr in lrs for r in RESOLUTIONS)
    tuned = " | ".join(f"tuned {SHORT[r]}" for r in RESOLUTIONS)
    lines = [f"| task | schedule | {head} | {tuned} |", "|---|---|" + "---|" * ((len(lrs) + 1) * len(RESOLUTIONS))]
    best = {r: [] for r in RESOLUTIONS}
    for task in runs[RESOLUTIONS[0]]:
        means = {r: 100.0 * runs[r][task].mean(axis=1) for r in RESOLUTIONS}  # (schedules, lrs)
        for r in RESOLUTIONS:
            best[r].append(means[r].max())
        for i, s in enumerate(schedules):
            cells = " | ".join(f"{means[r][i, j]:.2f}" for j in range(len(lrs)) for r in RESOLUTIONS)
            tuned = " | ".join(f"{means[r][i].max():.2f}" for r in RESOLUTIONS)
            lines.append(f"| {task} | {s} | {cells} | {tuned} |")
    for r in RESOLUTIONS:
        lines.append(f"\nbest (schedule, LR), mean over tasks, {r}: {np.mean(best[r]):.2f}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
