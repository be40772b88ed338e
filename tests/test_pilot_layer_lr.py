"""experiments/pilot_layer_lr.py: its uniform runs are the benchmark's per-step AdamW baseline
runs exactly, a layer's multiplier changes only that layer's LR, and the pilot records a row per
task group and refuses bad input by name."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

TINY = ["env/scenario=pool-deep", "env.scenario.env_kwargs.tau=5", "env.scenario.env_kwargs.sl_steps=20"]


def test_the_variants_are_uniform_one_layer_up_or_down_and_two_ramps(experiment_script):
    pilot = experiment_script("pilot_layer_lr")
    v = pilot.layer_variants(3, 3.0)
    assert list(v) == ["uniform", "L0x3", "L0/3", "L1x3", "L1/3", "L2x3", "L2/3", "ramp-down", "ramp-up"]
    np.testing.assert_allclose(v["uniform"], [1, 1, 1])
    np.testing.assert_allclose(v["L1/3"], [1, 1 / 3, 1])
    np.testing.assert_allclose(v["ramp-down"], [3, 1, 1 / 3], rtol=1e-6)
    np.testing.assert_allclose(v["ramp-up"], [1 / 3, 1, 3], rtol=1e-6)


def test_uniform_runs_are_the_benchmarks_baseline_runs_and_a_multiplier_changes_them(experiment_script):
    from mava_ganno.backend.schedules import make_schedule
    from mava_ganno.evaluation.baselines import make_baseline_run
    from mava_ganno.train import compose_config
    from mava_ganno.utils.config import check_config
    from mava_ganno.utils.make_env import make_task, task_groups

    pilot = experiment_script("pilot_layer_lr")
    cfg = check_config(compose_config(TINY), 1)
    env = make_task(cfg, "mlp1-teacher0", task_groups(cfg)["mlp1-teacher0"], "groups")
    runner, total = pilot.make_runner(env)
    assert total == 20
    unit = np.asarray(make_schedule("cosine", 1.0, total)(jnp.arange(total)), np.float32)
    mults = np.ones((2, env.trainer.num_agents), np.float32)
    mults[1, 0] = 3.0
    keys = jnp.stack([jax.random.PRNGKey(s) for s in (0, 1)])
    val, test = runner(keys, jnp.asarray(np.stack([unit, unit])), jnp.asarray([3e-3, 3e-3]), jnp.asarray(mults), 0.1)
    base = jax.jit(make_baseline_run(env.trainer, ("cosine",), int(env.time_limit), 0.1))
    for i, s in enumerate((0, 1)):
        r = base(jax.random.PRNGKey(s), 3e-3, 0.1, 0)
        assert float(val[i, 0]) == pytest.approx(float(r["val_accuracy"][-1]), abs=1e-6)
        assert float(test[i, 0]) == pytest.approx(float(r["test_accuracy"][-1]), abs=1e-6)
    assert not np.allclose(np.asarray(val[:, 0]), np.asarray(val[:, 1])) or not np.allclose(np.asarray(test[:, 0]),
                                                                                              np.asarray(test[:, 1]))  # fmt: skip


def test_the_pilot_writes_a_row_per_group_and_refuses_bad_input(experiment_script, tmp_path, capsys):
    pilot = experiment_script("pilot_layer_lr")
    out = tmp_path / "pilot.jsonl"
    args = ["--out", str(out), "--groups", "mlp1-teacher0", "--schedules", "cosine,wsd", "--lrs", "1e-3,1e-2",
            "--select-seeds", "0", "--confirm-seeds", "1"]  # fmt: skip
    assert pilot.main([*args, "--", *TINY]) == 0
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["task"] == "mlp1-teacher0" and row["layers"] == 2 and row["schedule"] in ("cosine", "wsd")
    assert row["lr"] in (1e-3, 1e-2) and len(row["select_variants"]) == 7 and row["chosen"] in row["select_variants"]
    assert row["confirm_gain_val"] == pytest.approx(row["confirm_chosen_val"] - row["confirm_uniform_val"], abs=1e-4)
    assert "| mlp1-teacher0 | 2 |" in capsys.readouterr().out
    for bad, why in ((["--confirm-seeds", "0"], "two disjoint"), (["--lrs", "1e-3,-1"], "--lrs '1e-3,-1'"),
                     (["--schedules", "cosine,nope"], "choose from"), (["--factor", "1"], "--factor 1.0"),
                     (["--groups", "nope"], "not groups of the config")):  # fmt: skip
        with pytest.raises(SystemExit, match=why):
            pilot.main([*args, *bad, "--", *TINY])
