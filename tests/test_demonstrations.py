"""Demonstrations of handcrafted schedules (mava_ganno.offline)."""

from __future__ import annotations

import json
import os
import zipfile

import jax
import numpy as np
import pytest
from conftest import TINY

from mava_ganno.env import make_ganno
from mava_ganno.env.actions import ActionTable
from mava_ganno.env.generator import InitialConditionsGenerator
from mava_ganno.evaluation.rollouts import make_episode_runner
from mava_ganno.offline import ScheduleFollower, generate_demonstrations, load_demonstrations, save_demonstrations
from mava_ganno.offline import cli as DEMOS_CLI
from mava_ganno.offline.demos import LR_LOG_MIN, schedule_targets


def follower(env, name, peak):
    t = schedule_targets(name, peak, env.sl_steps, env.tau)
    table = env.action_table
    return ScheduleFollower(t[1:], np.float32(t[0]), table.multipliers, table.offsets, np.ones(len(t) - 1, np.float32), env.lr_max), t


def test_the_follower_takes_the_action_closest_to_the_schedule_in_log_space(tiny_eval_env):
    """Through the real environment: after every decision each layer's LR is the table's
    best approximation (from the LR it had) of the schedule's next value."""
    env = tiny_eval_env.env
    table = ActionTable.from_strings(env.action_table.entries)
    run = jax.jit(make_episode_runner(env, record_transitions=True))  # one compilation for every schedule
    for name, peak in [("warmup_cosine", 1e-3), ("cosine", 3e-3), ("linear", 1e-2)]:
        pol, targets = follower(env, name, peak)
        ep = run(pol, jax.random.PRNGKey(0), targets[0], 0.1)
        lrs = np.asarray(ep["layer_lrs"])  # (T, L): the LRs used after each decision
        prev = np.full(lrs.shape[1], targets[0], np.float32)
        for t in range(lrs.shape[0]):
            cand = np.clip(prev[:, None] * table.multipliers + table.offsets, 0, env.lr_max)
            dist = np.abs(np.log(np.maximum(cand, LR_LOG_MIN)) - np.log(max(targets[t + 1], LR_LOG_MIN)))
            np.testing.assert_allclose(lrs[t], cand[np.arange(len(prev)), dist.argmin(-1)], rtol=1e-6)
            np.testing.assert_array_equal(np.asarray(ep["actions"])[t], dist.argmin(-1))
            prev = lrs[t]
    # a constant schedule is the no-op at every decision (ties go to the first entry, '+0')
    pol, targets = follower(env, "constant", 1e-3)
    ep = run(pol, jax.random.PRNGKey(0), targets[0], 0.1)
    assert (np.asarray(ep["actions"]) == table.noop_index).all()


def test_with_a_cosine_lr_decay_the_follower_counts_the_decay_and_the_clone_keeps_it(tiny_eval_env):
    """In an env whose LRs take a cosine step before each action (lr_decay="cosine"), the
    follower picks the action closest to the schedule from the decayed LR; the demonstrations
    and the policy cloned from them record the decay, and the clone refuses an env without it."""
    from mava_ganno.offline.bc import behaviour_clone
    from mava_ganno.policy import NetworkConfig

    gen = InitialConditionsGenerator(lr=1e-3, weight_decay=0.1)
    env = make_ganno(gen, **TINY, difference_reward=False, lr_decay="cosine")
    table = ActionTable.from_strings(env.action_table.entries)
    ratios = np.asarray([env.lr_ratio(t) for t in range(env.time_limit)], np.float32)
    assert ratios[0] == 1.0 and (ratios[1:] < 1.0).all()
    run = jax.jit(make_episode_runner(env))
    for name, peak in [("cosine", 3e-3), ("linear", 1e-2)]:
        t_ = schedule_targets(name, peak, env.sl_steps, env.tau)
        pol = ScheduleFollower(t_[1:], np.float32(t_[0]), table.multipliers, table.offsets, ratios, env.lr_max)
        lrs = np.asarray(run(pol, jax.random.PRNGKey(0), t_[0], 0.1)["layer_lrs"])
        prev = np.full(lrs.shape[1], t_[0], np.float32)
        for t in range(lrs.shape[0]):
            cand = np.clip((prev * ratios[t])[:, None] * table.multipliers + table.offsets, 0, env.lr_max)
            dist = np.abs(np.log(np.maximum(cand, LR_LOG_MIN)) - np.log(max(t_[t + 1], LR_LOG_MIN)))
            np.testing.assert_allclose(lrs[t], cand[np.arange(len(prev)), dist.argmin(-1)], rtol=1e-5)
            prev = lrs[t]
    data = generate_demonstrations([env], ["tiny"], ("cosine",), (1e-3,), seeds=(0,), log=lambda s: None)
    data["meta"] = json.loads(str(data.pop("meta_json")))
    assert data["meta"]["lr_decay"] == "cosine"
    policy, _ = behaviour_clone(data, NetworkConfig(**SMALL_NET), epochs=1, batch_size=4, log=None)
    assert policy.metadata["lr_decay"] == "cosine"
    policy.check_env(env)
    with pytest.raises(ValueError, match="lr_decay 'none' != policy's 'cosine'"):
        policy.check_env(tiny_eval_env.env)


def test_demonstrations_from_given_initial_lrs_start_there_and_follow_the_schedule():
    """``initial_lrs``: every schedule x peak x seed runs once from each initial LR. The env
    starts there (the observed LR of the first decision follows from it), the follower moves
    towards the schedule from the first decision, and the run from the schedule's own first
    value is the default run, step for step."""
    gen = InitialConditionsGenerator(lr=1e-3, weight_decay=0.1)
    env = make_ganno(gen, **TINY, difference_reward=False, features=("current_lr", "initial_lr"))
    table = ActionTable.from_strings(env.action_table.entries)
    quiet = dict(seeds=(0,), weight_decay=0.1, log=lambda s: None)
    plain = generate_demonstrations([env], ["tiny"], ("cosine",), (1e-3,), **quiet)
    data = generate_demonstrations([env], ["tiny"], ("cosine",), (1e-3,), initial_lrs=(1e-2, 1e-3), **quiet)
    N = env.num_agents
    assert plain["obs"].shape[0] == N and data["obs"].shape[0] == 2 * N
    np.testing.assert_allclose(data["initial_lr"], np.repeat([1e-2, 1e-3], N))
    np.testing.assert_allclose(plain["initial_lr"], 1e-3)
    assert json.loads(str(data["meta_json"]))["initial_lrs"] == [1e-2, 1e-3]
    from_top, from_peak = data["initial_lr"] == np.float32(1e-2), data["initial_lr"] == np.float32(1e-3)
    for k in ("obs", "actions", "rewards", "final_val_accuracy"):
        np.testing.assert_array_equal(data[k][from_peak], plain[k])
    targets = schedule_targets("cosine", 1e-3, env.sl_steps, env.tau)
    cand = np.clip(1e-2 * table.multipliers + table.offsets, 0, env.lr_max)
    first = np.abs(np.log(cand) - np.log(targets[1])).argmin()  # the table's best step from 1e-2 towards the cosine
    assert (data["actions"][from_top][:, 0] == first).all() and first != table.noop_index
    observed_lr = data["obs"][from_top][:, 0, 0]  # current_lr before the first action: the start
    assert not np.allclose(observed_lr, data["obs"][from_peak][:, 0, 0])
    assert not np.allclose(data["final_val_accuracy"][from_top], plain["final_val_accuracy"])


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    """Two groups of different episode lengths (4 and 2 decisions) and depths (3 and 2 agents)."""
    gen = InitialConditionsGenerator(lr=1e-3, weight_decay=[1e-4, 1e-1])
    long = make_ganno(gen, **TINY)
    short = make_ganno(gen, **{**TINY, "network": "mlp1", "sl_steps": 10})
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


def test_parts_keep_each_group_done_and_a_rerun_runs_only_the_rest(tmp_path, monkeypatch):
    """A generation stopped after its first group loses nothing of it: the same call reads that
    group's part and runs only the other; a part of another key is refused before any run.
    (The group runs are stand-ins with the real arrays' shapes: what is tested is the keeping.)"""
    import mava_ganno.offline.demos as demos_mod

    gen = InitialConditionsGenerator(lr=1e-3, weight_decay=[1e-4, 1e-1])
    envs = [make_ganno(gen, **TINY), make_ganno(gen, **{**TINY, "network": "mlp1", "sl_steps": 10})]
    ran = []

    def stand_in(env, schedules, peaks, seeds, *a, **k):
        ran.append(env.network_name)
        rng = np.random.default_rng(len(ran))  # another draw on every call: a rerun shows up
        R, T, N = len(schedules) * len(peaks) * len(seeds), env.time_limit, env.num_agents
        return {"obs": rng.standard_normal((R, T, N, 5)), "actions": rng.integers(0, 9, (R, T, N)),
                "reward": rng.standard_normal((R, T)), "last": np.eye(T, dtype=bool)[[T - 1] * R],
                "alive": np.ones((R, T), bool), "final_val_accuracy": rng.random(R), "episode_return": rng.random(R),
                "schedule": np.zeros(R, np.int32), "peak": np.full(R, 1e-3, np.float32), "seed": np.zeros(R, np.int32),
                "initial_lr": np.full(R, 1e-3, np.float32), "not kept": {"nested": np.zeros(R)}}

    monkeypatch.setattr(demos_mod, "_group_demos", stand_in)
    parts = tmp_path / "d.npz.parts"
    call = dict(schedules=("constant", "warmup_cosine"), peaks=(1e-3, 1e-2), seeds=(0, 1), log=lambda s: None,
                parts_dir=str(parts), part_key="k1")
    full = generate_demonstrations(envs, ["long", "short"], **call)
    assert sorted(p.name for p in parts.iterdir()) == ["group000.npz", "group001.npz"] and len(ran) == 2
    with zipfile.ZipFile(parts / "group000.npz") as z:  # kept compressed, as the demonstrations file is
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_DEFLATED}
    (parts / "group001.npz").unlink()  # as if stopped while the second group ran
    (parts / "group001.tmp.npz").write_bytes(b"cut off")  # and cut off while writing it
    ran.clear()
    logs = []
    again = generate_demonstrations(envs, ["long", "short"], **{**call, "log": logs.append})
    assert ran == [envs[1].network_name] and "read from" in logs[0] and "read from" not in logs[1]
    first = full["group"] == 0
    for k in ("obs", "actions", "rewards", "mask", "episode", "final_val_accuracy", "peak"):
        np.testing.assert_array_equal(again[k][first], full[k][first], err_msg=k)  # the kept group, as it was
        assert again[k].shape == full[k].shape
    assert not np.array_equal(again["obs"][~first], full["obs"][~first])  # the other group ran again
    assert demos_mod.check_demo_parts(str(parts), ["long", "short"], "k1") == ["long", "short"]
    ran.clear()
    with pytest.raises(ValueError, match=r"group000.npz holds demonstrations of another command"):
        generate_demonstrations(envs, ["long", "short"], **{**call, "part_key": "k2"})
    with pytest.raises(ValueError, match=r"group001.npz is not a part of these demonstrations"):
        demos_mod.check_demo_parts(str(parts), ["long"], "k1")
    (parts / "group000.npz").write_bytes(b"not npz")
    with pytest.raises(ValueError, match=r"group000.npz: not a readable part"):
        demos_mod.check_demo_parts(str(parts), ["long", "short"], "k1")
    assert ran == []


def test_demos_cli_keeps_parts_until_the_file_is_written_and_refuses_another_commands(demos, tmp_path, monkeypatch, capsys):
    import mava_ganno.offline.demos as demos_mod

    data, _ = demos
    seen = {}

    def fake(envs, names, *a, parts_dir=None, part_key="", **k):
        seen.update(parts_dir=parts_dir, part_key=part_key, names=names)
        os.makedirs(parts_dir, exist_ok=True)
        open(os.path.join(parts_dir, "group000.npz"), "wb").close()
        return data

    monkeypatch.setattr(demos_mod, "generate_demonstrations", fake)
    out = tmp_path / "d.npz"
    argv = ["env/scenario=mlp2-digits", "--schedules", "cosine", "--peaks", "1e-3", "--out", str(out)]
    DEMOS_CLI.main(argv)
    assert out.exists() and not (tmp_path / "d.npz.parts").exists()  # removed once the file is written
    assert seen["parts_dir"] == str(out) + ".parts" and seen["names"] == ["mlp2-digits"]
    key = json.loads(seen["part_key"])
    assert key["schedules"] == ["cosine"] and key["peaks"] == [1e-3] and "out" not in key
    assert key["env"]["scenario"]["task_name"] == "mlp2-digits"
    # a part of another command is refused before anything runs
    demos_mod._write_part(str(tmp_path / "e.npz.parts" / "group000.npz"), "another",
                          {k: np.zeros(1) for k in demos_mod._PART_ARRAYS})
    seen.clear()
    with pytest.raises(SystemExit) as e:
        DEMOS_CLI.main(argv[:-1] + [str(tmp_path / "e.npz")])
    assert e.value.code == 2 and "holds demonstrations of another command" in capsys.readouterr().err and not seen


def test_peaks_above_the_start_raise_a_low_start_and_never_lower_a_high_one():
    """``peaks_above_start``: from each initial LR only the peaks at or above it run, so the
    follower's first action never lowers the start to reach a lower peak; without it, every
    peak runs from every start."""
    from mava_ganno.offline.demos import demo_runs

    every = demo_runs(1, (1e-3, 1e-2), (0,), (1e-4, 1e-3, 1e-2))
    assert [(p, lr0) for _, p, _, lr0 in every] == [(1e-3, 1e-4), (1e-3, 1e-3), (1e-3, 1e-2), (1e-2, 1e-4), (1e-2, 1e-3),
                                                   (1e-2, 1e-2)]
    above = demo_runs(2, (1e-3, 1e-2), (0, 1), (1e-4, 1e-3, 1e-2), peaks_above_start=True)
    assert len(above) == 2 * 2 * (2 + 2 + 1)
    assert {(p, lr0) for _, p, _, lr0 in above} == {(1e-3, 1e-4), (1e-3, 1e-3), (1e-2, 1e-4), (1e-2, 1e-3), (1e-2, 1e-2)}
    assert demo_runs(1, (1e-3,), (0,), None, peaks_above_start=True) == [(0, 1e-3, 0, None)]
    gen = InitialConditionsGenerator(lr=1e-3, weight_decay=0.1)
    env = make_ganno(gen, **TINY, difference_reward=False)
    table = ActionTable.from_strings(env.action_table.entries)
    data = generate_demonstrations([env], ["tiny"], ("linear",), (1e-3, 1e-2), seeds=(0,), weight_decay=0.1,
                                   log=lambda s: None, initial_lrs=(1e-2, 1e-4), peaks_above_start=True)
    N = env.num_agents
    np.testing.assert_allclose(data["peak"], np.repeat([1e-3, 1e-2, 1e-2], N))
    np.testing.assert_allclose(data["initial_lr"], np.repeat([1e-4, 1e-2, 1e-4], N))
    assert json.loads(str(data["meta_json"]))["peaks_above_start"] is True
    first, start = data["actions"][:, 0], data["initial_lr"]
    after = table.multipliers[first] * start + table.offsets[first]  # each agent's LR after its first action
    assert (after[start == np.float32(1e-4)] > 1e-4).all()  # a low start is raised
    # the high start is the peak of its own linear decay: one step along it, not towards the 1e-3 peak
    target = schedule_targets("linear", 1e-2, env.sl_steps, env.tau)[1]
    cand = np.clip(1e-2 * table.multipliers + table.offsets, 0, env.lr_max)
    assert (first[start == np.float32(1e-2)] == np.abs(np.log(cand) - np.log(target)).argmin()).all()
    assert (after[start == np.float32(1e-2)] > 5e-3).all()
    with pytest.raises(ValueError, match=r"initial learning rate\(s\) \[0.03\] are above every peak"):
        generate_demonstrations([env], ["tiny"], ("linear",), (1e-3, 1e-2), initial_lrs=(1e-3, 3e-2),
                                peaks_above_start=True, log=lambda s: None)


def test_a_max_peak_ratio_keeps_only_the_peaks_near_each_start():
    """``max_peak_ratio`` R: from each initial LR only the peaks in [LR, R x LR] run (the
    half-decade grid's next peak with R = 3.5, never the decade above); refused without
    ``peaks_above_start``, below 1, or where an initial LR would have no peak."""
    from mava_ganno.offline.demos import check_initial_lrs, demo_runs

    peaks, starts = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2), (1e-4, 1e-3, 3e-3, 1e-2)
    near = demo_runs(1, peaks, (0,), starts, peaks_above_start=True, max_peak_ratio=3.5)
    assert [(lr0, p) for _, p, _, lr0 in sorted(near, key=lambda r: (r[3], r[1]))] == [
        (1e-4, 1e-4), (1e-4, 3e-4), (1e-3, 1e-3), (1e-3, 3e-3), (3e-3, 3e-3), (3e-3, 1e-2), (1e-2, 1e-2)]
    assert len(demo_runs(1, peaks, (0,), starts, peaks_above_start=True)) == 5 + 3 + 2 + 1  # no bound
    assert demo_runs(1, peaks, (0,), starts, peaks_above_start=True, max_peak_ratio=1.0) == [
        (0, p, 0, p) for p in (1e-4, 1e-3, 3e-3, 1e-2)]  # the start is its own peak
    with pytest.raises(ValueError, match="add --peaks-above-start"):
        check_initial_lrs(starts, peaks, max_peak_ratio=3.5)
    with pytest.raises(ValueError, match="max peak ratio 0.5 must be a finite number >= 1"):
        check_initial_lrs(starts, peaks, True, 0.5)
    with pytest.raises(ValueError, match=r"initial learning rate\(s\) \[0.0002\] have no peak .* within 1.2 times"):
        check_initial_lrs((2e-4, 1e-3), peaks, True, 1.2)
    gen = InitialConditionsGenerator(lr=1e-3, weight_decay=0.1)
    env = make_ganno(gen, **TINY, difference_reward=False)
    data = generate_demonstrations([env], ["tiny"], ("linear",), (1e-3, 1e-2), seeds=(0,), weight_decay=0.1,
                                   log=lambda s: None, initial_lrs=(1e-3,), peaks_above_start=True, max_peak_ratio=3.5)
    np.testing.assert_allclose(data["peak"], np.full(env.num_agents, 1e-3))
    assert json.loads(str(data["meta_json"]))["max_peak_ratio"] == 3.5


@pytest.mark.parametrize("argv, message", [
    (["--schedules", "cosinus"], "unknown schedule 'cosinus'"),
    (["--peaks", "0"], "peak learning rate 0.0 must be a finite number > 0"),
    (["--peaks", "1e-3,x"], "is not a comma-separated list of floats"),
    (["--initial-lrs", "1e-3,-1"], "initial learning rate -1.0 must be a finite number >= 0"),
    (["--peaks-above-start"], "give initial learning rates too, e.g. --initial-lrs 1e-4,1e-3,1e-2"),
    (["--peaks-above-start", "--initial-lrs", "1e-3,3e-2"], "initial learning rate(s) [0.03] are above every peak"),
    (["--initial-lrs", "1e-3", "--max-peak-ratio", "3"], "add --peaks-above-start"),
    (["--peaks-above-start", "--initial-lrs", "1e-3", "--max-peak-ratio", "nan"], "max peak ratio nan must be a finite number >= 1"),
    (["env/scenario=no-such"], "config: "),
])
def test_demos_cli_refuses_bad_input_before_running(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        DEMOS_CLI.main(argv + ["--out", str(tmp_path / "d.npz")])
    assert e.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "d.npz").exists()


# ----------------------------------------------------------------------------- behaviour cloning
SMALL_NET = dict(pre_torso=(32,), post_torso=(16,), hidden_state_dim=16)


def test_cloning_one_schedule_reproduces_its_actions(tiny_eval_env):
    """Clone the demonstrations of one warm-up schedule, then let the clone act greedily on an
    episode seed it never saw: it takes the schedule follower's actions at every decision."""
    from mava_ganno.offline.bc import behaviour_clone
    from mava_ganno.policy import NetworkConfig

    env = tiny_eval_env.env
    data = generate_demonstrations([env], ["tiny"], ("warmup_cosine",), (1e-3,), seeds=(0, 1, 2, 3), log=lambda s: None)
    data["meta"] = json.loads(str(data.pop("meta_json")))
    policy, history = behaviour_clone(data, NetworkConfig(**SMALL_NET), epochs=150, batch_size=12, learning_rate=3e-3,
                                      log=None)
    assert history[-1]["accuracy"] == 1.0 and history[-1]["loss"] < history[0]["loss"]
    assert policy.metadata["source"] == "behaviour_cloning" and policy.obs_norm is not None
    pol, targets = follower(env, "warmup_cosine", 1e-3)
    run = jax.jit(make_episode_runner(env, record_transitions=True))
    demo = run(pol, jax.random.PRNGKey(7), targets[0], 0.1)
    clone = run(policy, jax.random.PRNGKey(7), targets[0], 0.1, True)
    np.testing.assert_array_equal(np.asarray(clone["actions"]), np.asarray(demo["actions"]))
    np.testing.assert_allclose(np.asarray(clone["layer_lrs"]), np.asarray(demo["layer_lrs"]), rtol=1e-6)
    # an untrained policy of the same shape does not (the test can fail)
    from mava_ganno.policy import init_policy_for_env

    untrained = init_policy_for_env(env, jax.random.PRNGKey(0), network=NetworkConfig(**SMALL_NET))
    assert not np.array_equal(np.asarray(run(untrained, jax.random.PRNGKey(7), targets[0], 0.1, True)["actions"]),
                              np.asarray(demo["actions"]))


def test_keep_top_keeps_the_best_episodes_of_each_group(demos):
    from mava_ganno.offline.bc import keep_top_episodes

    data, _ = demos
    mask = keep_top_episodes(data, 0.25)
    for g in (0, 1):
        rows = data["group"] == g
        kept = np.unique(data["episode"][rows & mask.any(1)])
        assert len(kept) == 2  # 25% of 8 episodes
        acc = {e: data["final_val_accuracy"][data["episode"] == e][0] for e in np.unique(data["episode"][rows])}
        assert min(acc[e] for e in kept) >= max(v for e, v in acc.items() if e not in kept)
    with pytest.raises(ValueError, match="keep_top must be a fraction in"):
        keep_top_episodes(data, 1.5)


def test_keep_top_by_start_ranks_each_initial_lr_of_a_group_on_its_own():
    """Ranked per group, the runs from a start whose runs all end worse are dropped; ranked per
    (group, initial LR), each start keeps its own best runs."""
    from mava_ganno.offline.bc import keep_top_episodes

    # one group, 8 runs of one agent: starts 1e-3 (episodes 0-3) and 1e-2 (4-7), whose runs all end below
    acc = np.array([0.90, 0.93, 0.91, 0.92, 0.80, 0.85, 0.70, 0.75], np.float32)
    data = {"episode": np.arange(8), "group": np.zeros(8, np.int32), "final_val_accuracy": acc,
            "initial_lr": np.array([1e-3] * 4 + [1e-2] * 4, np.float32), "mask": np.ones((8, 3), bool)}
    kept = lambda m: set(np.flatnonzero(m.any(1)).tolist())  # noqa: E731
    assert kept(keep_top_episodes(data, 0.25)) == {1, 3}
    assert kept(keep_top_episodes(data, 0.25, by="group")) == {1, 3}
    assert kept(keep_top_episodes(data, 0.25, by="start")) == {1, 5}
    # a second group with the same starts is ranked apart from the first
    two = {k: np.concatenate([v, v]) for k, v in data.items()}
    two["episode"], two["group"] = np.arange(16), np.repeat([0, 1], 8)
    two["final_val_accuracy"][8:] -= 0.5
    assert kept(keep_top_episodes(two, 0.25, by="start")) == {1, 5, 9, 13}
    with pytest.raises(ValueError, match="keep_top_by must be one of group, start, got 'lr'"):
        keep_top_episodes(data, 0.25, by="lr")


def test_clone_cli_names_a_bad_input_and_writes_a_loadable_policy(demos, tmp_path, capsys):
    from mava_ganno.policy import load_policy

    _, path = demos
    for argv, message in [(["--demos", str(tmp_path / "none.npz")], "none.npz: not a readable demonstrations file"),
                          (["--demos", path, "--epochs", "0"], "epochs must be an integer >= 1, got 0"),
                          (["--demos", path, "--keep-top", "0"], "keep_top must be a fraction in (0, 1]"),
                          (["--demos", path, "--keep-top-by", "start"],
                           "--keep-top-by start ranks the episodes --keep-top keeps; add --keep-top")]:
        with pytest.raises(SystemExit) as e:
            DEMOS_CLI.clone_main(argv + ["--out", str(tmp_path / "p")])
        assert e.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "p").exists()
    from mava_ganno.offline.bc import behaviour_clone

    with pytest.raises(ValueError, match="keep_top_by='start' ranks the episodes keep_top keeps; pass keep_top too"):
        behaviour_clone(load_demonstrations(path), keep_top_by="start")  # the Python API refuses it as the CLI does
    DEMOS_CLI.clone_main(["--demos", path, "--out", str(tmp_path / "p"), "--epochs", "1", "--batch-size", "8"])
    policy = load_policy(str(tmp_path / "p"))
    assert policy.metadata["source"] == "behaviour_cloning" and policy.metadata["demonstrations_file"] == path
    assert policy.metadata["keep_top"] is None and policy.metadata["keep_top_by"] is None
    DEMOS_CLI.clone_main(["--demos", path, "--out", str(tmp_path / "q"), "--epochs", "1", "--batch-size", "8",
                          "--keep-top", "0.5", "--keep-top-by", "start"])
    meta = load_policy(str(tmp_path / "q")).metadata
    assert meta["keep_top"] == 0.5 and meta["keep_top_by"] == "start"
    # each (group, initial LR) keeps half its runs: the long group's 3 starts (0, 1e-3, 1e-2) hold
    # 4, 2 and 2 runs of 3 agents, the short group's 4, 2, 2 of 2 agents
    assert meta["sequences"] == (2 + 1 + 1) * 3 + (2 + 1 + 1) * 2


# ----------------------------------------------------------------------------- critic pre-fit
def test_discounted_returns_run_backwards_over_the_valid_steps():
    from mava_ganno.policy.fitting import discounted_returns

    rewards = np.array([[1.0, 2.0, 3.0, 9.0], [1.0, 1.0, 0.0, 0.0]], np.float32)
    mask = np.array([[True, True, True, False], [True, True, False, False]])
    g = discounted_returns(rewards, mask, 0.5)
    np.testing.assert_allclose(g, [[1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3, 0], [1.5, 1, 0, 0]])


def test_the_critic_prefit_learns_the_demonstrations_returns(demos):
    """The critic fitted to the demonstrations' discounted returns explains most of their
    variance; the statistics it was fitted under are the returns'."""
    from mava_ganno.policy import NetworkConfig, make_critic
    from mava_ganno.policy.fitting import discounted_returns, prefit_critic
    from mava_ganno.policy.networks import ScannedRNN

    data, _ = demos
    cfg = NetworkConfig((32,), (16,), 16)
    critic = make_critic(cfg)
    x = np.asarray(data["obs"], np.float32)
    h0 = ScannedRNN.initialize_carry((2,), 16)
    params = critic.init(jax.random.PRNGKey(0), h0, (x[:2, :1].transpose(1, 0, 2), np.zeros((1, 2), bool)))
    centre, scale = x[data["mask"]].mean(0), x[data["mask"]].std(0) + 1e-3  # as the run's statistics would
    fitted, (mean, var, count), history = prefit_critic(
        critic, params, 16, x, data["rewards"], data["mask"], lambda o: (o - centre) / scale, gamma=0.99, epochs=150,
        batch_size=16, learning_rate=3e-3, chunk=2, log=None)
    returns = discounted_returns(data["rewards"], data["mask"], 0.99)[data["mask"]]
    assert mean == pytest.approx(float(returns.mean()), rel=1e-5) and var == pytest.approx(float(returns.var()), rel=1e-4)
    assert count == data["mask"].sum() and var > 0
    assert history[-1]["loss"] < 0.7 * history[0]["loss"], history
    assert history[-1]["explained_variance"] > 0.4, history[-1]  # a fresh critic explains nothing (about 0)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1, got 0"):
        prefit_critic(critic, params, 16, x, data["rewards"], data["mask"], lambda o: o, gamma=0.99, epochs=0)


def test_recurrent_ippo_starts_from_the_prefitted_critic(demos, tmp_path):
    """system.critic_prefit_demos: the learner's critic is pre-fitted and the value-target
    statistics start as the demonstrations' returns; a file of other features, or no file, is
    refused by name."""
    from mava_ganno.policy.fitting import discounted_returns
    from mava_ganno.systems import rec_ippo, warm_start
    from mava_ganno.train import compose_config
    from mava_ganno.utils import make_env
    from mava_ganno.utils.config import ConfigError, check_config

    data, path = demos
    tiny = ["env/scenario=mlp2-digits", "env.scenario.env_kwargs.tau=5", "env.scenario.env_kwargs.sl_steps=20",
            "env.scenario.env_kwargs.hidden=16", "network.hidden_state_dim=16", "arch.num_envs=2", "system.rollout_length=8",
            "system.num_minibatches=2", "system.num_updates=1", f"logger.base_exp_path={tmp_path}"]
    cfg = check_config(compose_config(tiny + [f"system.critic_prefit_demos={path}", "system.critic_prefit_epochs=3"]))
    env = make_env.make_single(cfg)
    learner = rec_ippo.learner_setup([env], jax.random.split(jax.random.PRNGKey(0), 3), cfg)
    assert [row["epoch"] for row in learner.critic_prefit] == [1, 2, 3]
    returns = discounted_returns(data["rewards"], data["mask"], float(cfg.system.gamma))[data["mask"]]
    value = jax.tree_util.tree_map(lambda v: float(np.asarray(v).ravel()[0]), learner.init_state.norms.value)
    assert value.mean == pytest.approx(float(returns.mean()), rel=1e-5) and value.count == data["mask"].sum()
    other = check_config(compose_config(tiny + [f"system.critic_prefit_demos={path}", "env.kwargs.features=robust"]))
    with pytest.raises(ConfigError, match=r"system\.critic_prefit_demos .*features .* this run's are"):
        warm_start.prefit_critic_on_demos(path, make_env.make_single(other), learner.critic, learner.critic_config,
                                        None, None, other)
    with pytest.raises(ConfigError, match=r"system\.critic_prefit_demos='nope\.npz' is not a file"):
        check_config(compose_config(tiny + ["system.critic_prefit_demos=nope.npz"]))
