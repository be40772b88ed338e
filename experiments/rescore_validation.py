"""Scores saved policies on a training config's validation suite, as training would.

The study of policies against handcrafted schedules (docs/lab/2026-12-05-study-plan.md) selects
on the suite's scores against the best schedule; this re-scores any policy (the shipped one, or
a run's ``policy_best``) on the same suite, in every mode the suite validates, so candidates and
the policy they would replace are compared on one footing.

Usage (overrides as for ``ganno train``; the study's suite is the strong-* variants' one):
    python experiments/rescore_validation.py default results/study28/strong-cosine_s0/.../policy_best \
        -- env/scenario=pool-deep env.kwargs.features=robust \
           +env.scenario.validation.reference=best_schedule \
           +env.scenario.validation.select=[advantage,at_default,tuned]
Prints one JSON object per policy: its path and the suite's scores. With ``--cells`` (before
the paths) it also prints, per policy and mode, one Markdown row per (task, initial LR): the
policy's and the reference's mean final hold-out accuracy, the reference's schedule and the gap
in points, so the cell that sets ``validation_worst`` is named.
"""

from __future__ import annotations

import json
import sys

from omegaconf import OmegaConf

from mava_ganno.evaluation.policies import load_policy_any
from mava_ganno.systems.validation import ValidationSuite
from mava_ganno.train import compose_config
from mava_ganno.utils.config import check_config


def main(argv) -> int:
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    cut = argv.index("--")
    paths, overrides = argv[:cut], argv[cut + 1:]
    show_cells = "--cells" in paths
    paths = [p for p in paths if p != "--cells"]
    config = check_config(compose_config(overrides), 1)
    if config.env.scenario.get("validation") is None:
        print("the composed config has no validation suite (env.scenario.validation)", file=sys.stderr)
        return 2
    OmegaConf.set_struct(config, False)
    config.env.scenario.validation.every = 1  # on, whatever the training config's interval
    suite = ValidationSuite.from_config(config)
    for path in paths:
        policy = load_policy_any(path)
        print(json.dumps({"policy": path, **suite(policy)}, sort_keys=True), flush=True)
        if show_cells:
            for mode in suite.modes:
                print(cells_table(suite.cells(policy, greedy=mode == "greedy"), f"{path} ({mode})"), flush=True)
    return 0


def cells_table(rows, title: str) -> str:
    """Markdown table of ``ValidationSuite.cells`` rows, accuracies in %, the worst cell marked."""
    worst = min(range(len(rows)), key=lambda i: rows[i]["gap"])
    lines = [f"\n{title}\n", "| task | initial LR | policy | reference | reference schedule | gap (points) |",
             "|---|---|---|---|---|---|"]
    for i, r in enumerate(rows):
        gap = f"**{r['gap']:.2f}**" if i == worst else f"{r['gap']:.2f}"
        lines.append(f"| {r['task']} | {r['lr']:g} | {100 * r['policy']:.2f} | {100 * r['reference']:.2f} "
                     f"| {r['reference_schedule']} | {gap} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
