"""Demonstrations of handcrafted schedules (mava_ganno.offline, issue 11 step 1)."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest
from conftest import TINY

from mava_ganno.env import Ganno
from mava_ganno.env.actions import ActionTable
from mava_ganno.env.generator import InitialConditionsGenerator
from mava_ganno.evaluation.rollouts import make_episode_runner
from mava_ganno.offline import ScheduleFollower, generate_demonstrations, load_demonstrations, save_demonstrations
from mava_ganno.offline import cli as DEMOS_CLI
from mava_ganno.offline.demos import LR_FLOOR, schedule_targets


def follower(env, name, peak):
    t = schedule_targets(name, peak, env.sl_steps, env.tau)
    table = env.action_table
    return ScheduleFollower(t[1:], np.float32(t[0]), table.multipliers, table.offsets, env.lr_max), t


def test_the_follower_takes_the_action_closest_to_the_schedule_in_log_space(tiny_eval_env):
    """Through the real environment: after every decision each layer's LR is the table's
    best approximation (from the LR it had) of the schedule's next value."""
    env = tiny_eval_env.env
    table = ActionTable.from_strings(env.action_table.entries)
    for name, peak in [("warmup_cosine", 1e-3), ("cosine", 3e-3), ("linear", 1e-2)]:
        pol, targets = follower(env, name, peak)
        ep = jax.jit(make_episode_runner(env, record_transitions=True))(pol, jax.random.PRNGKey(0), targets[0], 0.1)
        lrs = np.asarray(ep["layer_lrs"])  # (T, L): the LRs used after each decision
        prev = np.full(lrs.shape[1], targets[0], np.float32)
        for t in range(lrs.shape[0]):
            cand = np.clip(prev[:, None] * table.multipliers + table.offsets, 0, env.lr_max)
            dist = np.abs(np.log(np.maximum(cand, LR_FLOOR)) - np.log(max(targets[t + 1], LR_FLOOR)))
            np.testing.assert_allclose(lrs[t], cand[np.arange(len(prev)), dist.argmin(-1)], rtol=1e-6)
            np.testing.assert_array_equal(np.asarray(ep["actions"])[t], dist.argmin(-1))
            prev = lrs[t]
    # a constant schedule is the no-op at every decision (ties go to the first entry, '+0')
    pol, targets = follower(env, "constant", 1e-3)
    ep = jax.jit(make_episode_runner(env, record_transitions=True))(pol, jax.random.PRNGKey(0), targets[0], 0.1)
    assert (np.asarray(ep["actions"]) == table.noop_index).all()


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    """Two groups of different episode lengths (4 and 2 decisions) and depths (3 and 2 agents)."""
    gen = InitialConditionsGenerator(lr=1e-3, weight_decay=[1e-4, 1e-1])
    long = Ganno(gen, **TINY)
    short = Ganno(gen, **{**TINY, "network": "mlp1", "sl_steps": 10})
    data = generate_demonstrations([long, short], ["long", "short"], ("constant", "warmup_cosine"), (1e-3, 1e-2),
                                   seeds=(0, 1), log=lambda s: None)
    path = save_demonstrations(str(tmp_path_factory.mktemp("demos") / "d.npz"), data)
    return data, path


def test_the_dataset_holds_one_masked_sequence_per_agent_and_episode(demos):
    data, _ = demos
    runs = 2 * 2 * 2  # schedules x peaks x seeds, per group
    S = runs * 3 + runs * 2
    assert data["obs"].shape[:2] == (S, 4) and data["actions"].shape == data["mask"].shape == (S, 4)
    long, short = data["group"] == 0, data["group"] == 1
    assert data["mask"][long].all() and data["dones"][long][:, 3].all() and not data["dones"][long][:, :3].any()
    # the short group's episodes end after 2 decisions: steps 2, 3 are padding
    assert data["mask"][short][:, :2].all() and not data["mask"][short][:, 2:].any()
    assert data["dones"][short][:, 1].all() and not data["obs"][short][:, 2:].any()
    # the constant schedule's agents always take the no-op; the warm-up's do not
    const = data["schedule"] == 0
    assert (data["actions"][const & long] == 0).all() and (data["actions"][~const & long] != 0).any()
    # agents of one episode share the reward, the episode's outcome and its schedule
    for e in np.unique(data["episode"]):
        rows = data["episode"] == e
        assert len({tuple(r) for r in data["rewards"][rows]}) == 1
        assert len(set(data["final_val_accuracy"][rows])) == 1 and len(set(data["peak"][rows])) == 1
        assert sorted(data["agent"][rows]) == list(range(rows.sum()))
    assert np.isfinite(data["obs"]).all() and (data["final_val_accuracy"] > 0).all()


def test_the_file_round_trips_without_pickle_and_a_bad_file_is_named(demos, tmp_path):
    data, path = demos
    loaded = load_demonstrations(path)
    for k in ("obs", "actions", "rewards", "dones", "mask", "final_val_accuracy", "peak"):
        np.testing.assert_array_equal(loaded[k], data[k])
    assert loaded["meta"]["groups"] == ["long", "short"] and loaded["meta"]["action_table"][0] == "+0"
    assert json.loads(str(data["meta_json"]))["schedules"] == ["constant", "warmup_cosine"]
    bad = tmp_path / "bad.npz"
    bad.write_bytes(open(path, "rb").read()[:200])
    with pytest.raises(ValueError, match=f"{bad}: not a readable demonstrations file"):
        load_demonstrations(str(bad))


@pytest.mark.parametrize("argv, message", [
    (["--schedules", "cosinus"], "unknown schedule 'cosinus'"),
    (["--peaks", "0"], "peak learning rate 0.0 must be a finite number > 0"),
    (["--peaks", "1e-3,x"], "is not a comma-separated list of floats"),
    (["env/scenario=no-such"], "config: "),
])
def test_demos_cli_refuses_bad_input_before_running(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        DEMOS_CLI.main(argv + ["--out", str(tmp_path / "d.npz")])
    assert e.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "d.npz").exists()
