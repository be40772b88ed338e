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
Prints one JSON object per policy: its path and the suite's scores.
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
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
