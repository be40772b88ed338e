"""The curated top-level API: what a user needs imports from ``mava_ganno`` itself."""

from __future__ import annotations

import subprocess
import sys


def test_top_level_names_are_the_deep_ones():
    import mava_ganno
    from mava_ganno import Ganno, evaluate, ganno_adamw, load_policy, lr_trajectory, run_bench, save_policy
    from mava_ganno.bench import run_bench as deep_bench
    from mava_ganno.env import Ganno as deep_env
    from mava_ganno.evaluation.harness import evaluate as deep_evaluate
    from mava_ganno.optimiser import ganno_adamw as deep_adamw
    from mava_ganno.optimiser import lr_trajectory as deep_traj
    from mava_ganno.policy import load_policy as deep_load
    from mava_ganno.policy import save_policy as deep_save

    assert (Ganno, evaluate, ganno_adamw, load_policy, lr_trajectory, run_bench, save_policy) == (
        deep_env, deep_evaluate, deep_adamw, deep_load, deep_traj, deep_bench, deep_save)  # fmt: skip
    assert set(mava_ganno.__all__) >= {"Ganno", "ganno_adamw", "load_policy", "evaluate", "run_bench"}
    assert "ganno_adamw" in dir(mava_ganno)


def test_importing_the_package_stays_light_and_unknown_names_fail():
    code = (
        "import sys, mava_ganno\n"
        "heavy = [m for m in ('mava_ganno.optimiser', 'mava_ganno.evaluation.harness', 'mava_ganno.bench') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "try:\n    mava_ganno.no_such_name\nexcept AttributeError as e:\n    print(e)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "has no attribute 'no_such_name'" in r.stdout
