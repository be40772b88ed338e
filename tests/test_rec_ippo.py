"""Recurrent IPPO on a tiny GANNO scenario: a few updates, checkpoints, resume, learning.

One compiled learner serves every test (same config but the budget/seed; rec_ippo caches
compiled learners per config).
"""

from __future__ import annotations

import json
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hydra.errors import MissingConfigException
from omegaconf import OmegaConf

from mava_ganno.env.actions import ActionTable
from mava_ganno.policy import load_policy
from mava_ganno.systems import rec_ippo
from mava_ganno.train import _preprocess_argv, compose_config
from mava_ganno.utils import checkpointing
from mava_ganno.utils.config import ConfigError, check_config

# Tiny: mlp2 (hidden 16) on digits, tau 5, 4 env steps per episode, initial LR fixed far too
# low (1e-5), so raising it clearly pays under the difference reward.
TINY = [
    "env/scenario=mlp2-digits",
    "env.scenario.env_kwargs.tau=5",
    "env.scenario.env_kwargs.sl_steps=20",
    "env.scenario.env_kwargs.hidden=16",
    "env.scenario.task_config.lr=1e-5",
    "env.scenario.task_config.weight_decay=1e-4",
    "network.hidden_state_dim=16",
    "network.actor_network.pre_torso.layer_sizes=[32]",
    "network.actor_network.post_torso.layer_sizes=[16]",
    "network.critic_network.pre_torso.layer_sizes=[16]",
    "network.critic_network.post_torso.layer_sizes=[16]",
    "arch.num_envs=4",
    "system.rollout_length=8",
    "system.recurrent_chunk_size=4",
    "system.num_minibatches=2",
    "system.actor_lr=3e-3",
    "system.critic_lr=3e-3",
    "system.total_timesteps=null",
    "logger.use_console=False",
    "logger.progress_bar=False",
]
UPDATES_PER_EVAL = 2


def tiny_config(tmp, *extra):
    return compose_config(TINY + [f"logger.base_exp_path={tmp}", *extra])


@pytest.fixture(scope="module")
def run_a(tmp_path_factory):
    """6 updates in 3 evaluation steps, a checkpoint after each, evaluation + JSON logging."""
    tmp = tmp_path_factory.mktemp("run_a")
    cfg = tiny_config(
        tmp,
        f"system.num_updates={3 * UPDATES_PER_EVAL}",
        "arch.num_evaluation=3",
        "arch.num_eval_episodes=2",
        "logger.use_json=True",
        "logger.checkpointing.save_args.save_interval_steps=1",
        "logger.checkpointing.save_args.max_to_keep=null",
        "logger.checkpointing.save_args.checkpoint_uid=run_a",
    )
    return cfg, rec_ippo.run_experiment(cfg, verbose=False), tmp


def _actor_params(state):
    return jax.device_get(rec_ippo.unreplicate(state.params.actor_params))


def test_config_errors_name_the_key(tmp_path):
    cases = {
        "system.num_minibatches=3": "system.num_minibatches",
        "arch.num_envs=-1": "arch.num_envs",
        "system.rollout_length=0": "system.rollout_length",
        "system.recurrent_chunk_size=3": "system.recurrent_chunk_size",
        "network.actor_network.pre_torso.layer_sizes=[-4]": "network.actor_network.pre_torso.layer_sizes",
        "system.total_timesteps=10": "system.total_timesteps",
        "system.gamma=1.5": "system.gamma",
    }
    for override, key in cases.items():
        cfg = tiny_config(tmp_path, "system.num_updates=2", override)
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            check_config(cfg)
    with pytest.raises(ConfigError, match="env_kwargs"):
        rec_ippo.run_experiment(tiny_config(tmp_path, "system.num_updates=2", "env.scenario.env_kwargs.tau=-5"), verbose=False)
    with pytest.raises(MissingConfigException, match="env/scenario"):
        compose_config(["env/scenario=no-such-scenario"])


def test_defaults_are_the_papers():
    cfg = compose_config([])
    assert cfg.env.scenario.task_name == "mlp2-digits" and cfg.env.scenario.name == "GANNO-v0"
    assert cfg.env.implicit_agent_id is True and cfg.system.add_agent_id is False
    assert cfg.arch.num_envs == 4 and cfg.system.total_timesteps == 50_000
    assert list(cfg.network.actor_network.pre_torso.layer_sizes) == [128, 128]
    assert cfg.network.hidden_state_dim == 64 and list(cfg.network.actor_network.post_torso.layer_sizes) == [64]
    assert list(cfg.network.critic_network.pre_torso.layer_sizes) == [64]
    s = cfg.system
    assert (s.ppo_epochs, s.num_minibatches, s.recurrent_chunk_size) == (2, 4, 8)
    assert s.normalise_advantages and s.normalise_value_targets and s.clip_value and s.normalise_observations
    for scenario in ("cnn2-digits", "cnn2-fashion_mnist", "resnet9-fashion_mnist", "mlp5-mnist_5k",
                     "cnn5-mnist_5k", "cnn5-cifar10", "resnet18-cifar10"):
        c = compose_config([f"env/scenario={scenario}"])
        assert c.env.scenario.task_name == scenario and set(c.env.scenario) >= {"name", "task_config", "env_kwargs"}


def test_few_updates_finite_losses_params_change(run_a):
    cfg, res, tmp = run_a
    assert res.num_updates == 6 and len(res.history) == 6
    for row in res.history:
        for k in ("total_loss", "actor_loss", "value_loss", "entropy"):
            assert np.isfinite(row[k]), (k, row)
        assert row["episodes"] == 8  # 4 envs x 8 steps / 4 steps per episode
        assert abs(sum(row["action_probs"]) - 1) < 1e-4
    assert [r["timestep"] for r in res.history] == [32 * (i + 1) for i in range(6)]
    # parameters changed from their initialisation
    before, after = res.initial_actor_params, _actor_params(res.final_state)
    diffs = jax.tree_util.tree_leaves(jax.tree_util.tree_map(lambda a, b: float(np.abs(a - b).max()), before, after))
    assert min(diffs) > 0  # every actor tensor moved
    # evaluation ran and the JSON is marl-eval's layout
    assert len(res.eval_history) == 3 and np.isfinite(res.eval_performance)
    metrics = json.load(open(os.path.join(tmp, "json", "rec_ippo", "run_a", "metrics.json")))
    seed = metrics["GANNO"]["mlp2-digits"]["rec_ippo"][f"seed_{cfg.system.seed}"]
    assert set(seed) >= {"absolute_metrics", "step_0", "step_2"}
    assert seed["step_2"]["step_count"] == 6 * 32 and "mean_episode_return" in seed["step_2"]


def test_checkpoint_and_policy_round_trip(run_a):
    cfg, res, tmp = run_a
    ckpts = checkpointing.list_checkpoints(res.run_dir)
    assert [s for s, _ in ckpts] == [1, 2, 3]
    assert not [f for f in os.listdir(res.run_dir) if f.startswith(".")]  # no temp leftovers
    # the last checkpoint holds exactly the final learner state
    restored, meta = checkpointing.restore(ckpts[-1][1], jax.device_get(res.final_state))
    assert meta["timestep"] == 6 * 32
    for a, b in zip(jax.tree_util.tree_leaves(restored), jax.tree_util.tree_leaves(jax.device_get(res.final_state))):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # the saved policy loads without the training config and runs on a deeper network
    policy = load_policy(os.path.join(res.run_dir, "policy"))
    assert policy.metadata["scenario"] == "mlp2-digits" and policy.metadata["num_layers_trained_on"] == 3
    for a, b in zip(jax.tree_util.tree_leaves(policy.params), jax.tree_util.tree_leaves(res.policy.params)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    n = 6
    x = jnp.zeros((n, policy.obs_dim))
    h, actions, probs = policy.act(policy.init_hidden(n), x, jnp.ones((n, policy.action_dim), bool),
                                   jnp.ones(n, bool), jax.random.PRNGKey(0), True)
    assert actions.shape == (n,) and probs.shape == (n, policy.action_dim)


def test_resume_equals_uninterrupted(run_a, tmp_path):
    """Resuming from the checkpoint a killed run left after evaluation step 1 ends with the
    same parameters (and learner state) as the uninterrupted run."""
    cfg, res, tmp = run_a
    root = checkpointing.checkpoint_root(str(tmp_path), "rec_ippo")
    shutil.copytree(os.path.join(res.run_dir, "ckpt_000001"), os.path.join(root, "killed", "ckpt_000001"))
    os.makedirs(os.path.join(root, "killed", ".ckpt_000002.tmp-x"))  # a half-written one: ignored
    cfg_b = cfg.copy()
    OmegaConf.update(cfg_b, "logger.base_exp_path", str(tmp_path))
    OmegaConf.update(cfg_b, "logger.use_json", False)
    OmegaConf.update(cfg_b, "logger.checkpointing.load_model", True)  # what --resume sets
    res_b = rec_ippo.run_experiment(cfg_b, verbose=False)
    assert res_b.uid == "killed" and [r["update"] for r in res_b.history] == [3, 4, 5, 6]
    for a, b in zip(jax.tree_util.tree_leaves(jax.device_get(res_b.final_state)),
                    jax.tree_util.tree_leaves(jax.device_get(res.final_state))):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert res_b.history == res.history[2:]
    # a config that differs from the checkpoint's is refused, naming the key
    OmegaConf.update(cfg_b, "system.clip_eps", 0.3)
    with pytest.raises(ConfigError, match="system.clip_eps"):
        rec_ippo.run_experiment(cfg_b, verbose=False)


def test_resume_flag():
    assert _preprocess_argv(["system.seed=1", "--resume"]) == ["system.seed=1", "logger.checkpointing.load_model=True"]
    assert _preprocess_argv(["a=1"]) == ["a=1"]


def test_learning_raises_too_low_lr(tmp_path):
    """Initial LR 1e-5 (far too low): the trained policy's probability of LR-raising actions
    rises clearly above its initial value within a short run, under the paper's difference
    reward (the episode-level one: the task-groups test, which trains under it)."""
    cfg = tiny_config(
        tmp_path,
        f"system.num_updates={20 * UPDATES_PER_EVAL}",
        "arch.num_evaluation=20",
        "arch.num_eval_episodes=0",
        "logger.checkpointing.save_model=False",
        "system.seed=3",
        "env.kwargs.reward_counterfactual=noop_step",
    )
    res = rec_ippo.run_experiment(cfg, verbose=False)
    assert res.policy.metadata["reward"].startswith("DifferenceReward(")
    table = ActionTable.from_strings(list(cfg.env.kwargs.action_table))
    raise_idx = np.flatnonzero((table.multipliers > 1) | (table.offsets > 0))
    p_raise = np.array([sum(r["action_probs"][i] for i in raise_idx) for r in res.history])
    first, last = p_raise[0], p_raise[-4:].mean()
    assert last > first + 0.1, (first, last, p_raise.round(3))
    # and the learning rates it picks end up far above the initial 1e-5
    assert res.history[-1]["log10_lr"] > res.history[0]["log10_lr"] + 0.5


GROUPS = "+env.scenario.groups={shallow:{env_kwargs:{network:mlp1}},deep:{env_kwargs:{network:mlp3,hidden:8}}}"


def test_task_groups_of_different_depths_train_one_policy(tmp_path):
    """A task-distribution scenario: two groups of different depth (2 and 4 layer agents) step
    side by side and train the one shared policy; at initial LR 1e-5 in both, it learns to
    raise LRs under the episode-level difference reward (its reference episode keeps the LR at
    1e-5), the evaluator runs episodes of both groups, and the policy records both."""
    cfg = tiny_config(
        tmp_path, GROUPS,
        f"system.num_updates={10 * UPDATES_PER_EVAL}",
        "arch.num_evaluation=2",  # 10 updates per evaluation step (evaluation uses its own key)
        "arch.num_eval_episodes=1",
        "logger.checkpointing.save_model=False",
        "system.seed=3",
        "env.kwargs.reward_counterfactual=constant_episode",
    )
    res = rec_ippo.run_experiment(cfg, verbose=False)
    assert res.policy.metadata["reward"].startswith("EpisodeDifferenceReward(")
    assert [d.shape[-1] for d in res.final_state.dones] == [2, 4]  # per group (devices, ubs, envs, agents)
    assert res.total_timesteps == 10 * UPDATES_PER_EVAL * 8 * 4 * 2  # both groups' steps count
    assert res.history[0]["episodes"] == 2 * 4 * 8 // 4  # 4 envs per group, 4 steps per episode
    assert res.policy.metadata["network"] == ["mlp1", "mlp3"] and res.policy.metadata["num_layers_trained_on"] == [2, 4]
    assert len(res.eval_history) == 2 and np.isfinite(res.eval_performance)
    table = ActionTable.from_strings(list(cfg.env.kwargs.action_table))
    raise_idx = np.flatnonzero((table.multipliers > 1) | (table.offsets > 0))
    p_raise = np.array([sum(r["action_probs"][i] for i in raise_idx) for r in res.history])
    assert p_raise[-4:].mean() > p_raise[0] + 0.1, p_raise.round(3)
    assert res.history[-1]["log10_lr"] > res.history[0]["log10_lr"] + 0.5, [r["log10_lr"] for r in res.history]
    for row in res.history:
        assert all(np.isfinite(row[k]) for k in ("total_loss", "value_loss", "entropy", "reward"))


def test_task_group_errors_name_the_group(tmp_path):
    with pytest.raises(ConfigError, match="groups.deep: unknown keys"):
        rec_ippo.run_experiment(tiny_config(tmp_path, "+env.scenario.groups={deep:{network:mlp3}}"), verbose=False)
    odd = "+env.scenario.groups={a:{env_kwargs:{network:mlp1}},b:{env_kwargs:{action_table:['+0','*2']}}}"
    with pytest.raises(ConfigError, match="every task group must share features, action_table"):
        rec_ippo.run_experiment(tiny_config(tmp_path, odd, "system.num_updates=2"), verbose=False)


def test_validation_suite_selects_the_best_policy(tmp_path):
    """Model selection: the suite runs after every `every`-th evaluation step and the last,
    scores the policy against a constant LR on held-out tasks, and policy_best holds the
    policy with the best advantage (its score in its metadata)."""
    suite = ("+env.scenario.validation={every:2,lrs:[1.0e-4,1.0e-2],seeds:[0,1],weight_decay:0.1,"
             "tasks:{mlp1-val:{env_kwargs:{network:mlp1,hidden:8}}}}")
    cfg = tiny_config(tmp_path, suite, f"system.num_updates={3 * UPDATES_PER_EVAL}", "arch.num_evaluation=3",
                      "arch.num_eval_episodes=0")
    res = rec_ippo.run_experiment(cfg, verbose=False)
    assert [v["timestep"] for v in res.validation_history] == [res.total_timesteps * 2 // 3, res.total_timesteps]
    scores = [v["validation_advantage"] for v in res.validation_history]
    assert all(np.isfinite(scores)) and all(v["validation_worst"] <= v["validation_advantage"] for v in res.validation_history)
    best = load_policy(res.best_policy_dir)
    assert best.metadata["validation_advantage"] == max(scores)
    assert best.metadata["selected_at_timestep"] in [v["timestep"] for v in res.validation_history]
    with open(os.path.join(res.run_dir, "validation_history.json")) as f:  # on disk too, beside the policies
        assert json.load(f) == json.loads(json.dumps(res.validation_history))


def test_the_constant_lr_has_zero_advantage_over_itself(tmp_path):
    """A policy that never changes the LR (the no-op agent) *is* the constant schedule: same
    init and minibatches per seed, so its validation advantage is exactly 0."""
    from mava_ganno.evaluation.policies import NoopPolicy
    from mava_ganno.systems.validation import ValidationSuite

    cfg = tiny_config(tmp_path, "+env.scenario.validation={every:1,lrs:[1.0e-3,3.0e-2],seeds:[0],tasks:{t:{}}}")
    suite = ValidationSuite.from_config(cfg)
    env = suite.envs["t"]
    out = suite(NoopPolicy(env.action_table.entries, env.lr_max))
    assert out["validation_advantage"] == 0.0 and out["validation_worst"] == 0.0 and out["validation/t"] == 0.0
    with pytest.raises(ConfigError, match="validation.lrs"):
        ValidationSuite({"t": env}, [-1.0], [0], 0.1)


def test_validation_against_the_best_schedule_scores_the_noop_agent_by_its_gap(tmp_path):
    """``reference: best_schedule``: at each (task, LR) the reference is the schedule with the best
    mean over seeds. The no-op agent is the constant LR, so every cell is the constant's gap to
    the better of constant and cosine (never above 0); ``at_default`` is the cell at 1e-3,
    ``tuned`` compares best LRs, and ``score`` is the mean of the selected scores."""
    from mava_ganno.evaluation.policies import NoopPolicy
    from mava_ganno.evaluation.rollouts import METHODS
    from mava_ganno.systems.validation import ValidationSuite

    cfg = tiny_config(tmp_path, "+env.scenario.validation={every:1,lrs:[1.0e-3,3.0e-2],seeds:[0,1],tasks:{t:{}},"
                                "reference:best_schedule,schedules:[constant,cosine],select:[at_default,tuned]}")
    suite = ValidationSuite.from_config(cfg)
    env = suite.envs["t"]
    noop = NoopPolicy(env.action_table.entries, env.lr_max)
    out = suite(noop)
    const, cos = (suite._final_val("t", noop, METHODS.index(m)).mean(0) for m in ("constant", "cosine"))
    assert not np.allclose(const, cos)  # the two schedules differ, so the reference is a real choice
    cells = 100.0 * (const - np.maximum(const, cos))
    np.testing.assert_allclose(out["validation_advantage"], cells.mean(), atol=1e-4)
    np.testing.assert_allclose(out["validation_worst"], cells.min(), atol=1e-4)
    np.testing.assert_allclose(out["validation_at_default"], cells[0], atol=1e-4)
    np.testing.assert_allclose(out["validation_tuned"], 100.0 * (const.max() - max(const.max(), cos.max())), atol=1e-4)
    assert out["validation_score"] == np.mean([out["validation_at_default"], out["validation_tuned"]])
    assert out["validation_advantage"] <= 0.0
    # the cells name each (task, LR), its reference schedule and the gap whose minimum is `worst`
    rows = suite.cells(noop)
    assert [(r["task"], r["lr"]) for r in rows] == [("t", pytest.approx(1e-3)), ("t", pytest.approx(3e-2))]
    assert [r["reference_schedule"] for r in rows] == list(np.where(const >= cos, "constant", "cosine"))
    np.testing.assert_allclose([r["gap"] for r in rows], cells, atol=1e-4)
    np.testing.assert_allclose([r["reference"] for r in rows], np.maximum(const, cos), atol=1e-6)
    assert min(r["gap"] for r in rows) == pytest.approx(out["validation_worst"], abs=1e-4)
    # with the constant alone as the schedule set, it is the constant reference again
    same = ValidationSuite({"t": env}, [1e-3, 3e-2], [0, 1], 0.1, reference="best_schedule", schedules=["constant"])
    assert same(noop)["validation_advantage"] == 0.0 and same(noop)["validation_score"] == 0.0


def test_suite_scores_pick_on_some_seeds_and_report_on_others():
    """``suite_scores``: every choice (the reference schedule at each LR, the policy's tuned LR,
    the best (schedule, LR)) on the ``pick`` seeds, every score on the ``report`` seeds; by
    default both are all seeds, the suite's own scores. Numbers worked by hand."""
    from mava_ganno.systems.validation import suite_scores

    policy = {"t": np.array([[0.80, 0.70], [0.60, 0.90]])}  # (seeds, lrs)
    schedules = {"t": np.array([[[0.75, 0.50], [0.75, 0.50]],   # schedule 0: means 0.75, 0.50
                                [[0.90, 0.60], [0.50, 0.60]]])}  # schedule 1: means 0.70, 0.60
    same = suite_scores(policy, schedules, 0, ["at_default", "tuned"])
    # reference per LR: schedule 0 at LR 0, schedule 1 at LR 1; the policy's means 0.70, 0.80
    assert same["validation_advantage"] == pytest.approx(7.5) and same["validation_worst"] == pytest.approx(-5.0)
    assert same["validation_at_default"] == pytest.approx(-5.0) and same["validation/t"] == pytest.approx(7.5)
    assert same["validation_tuned"] == pytest.approx(5.0)  # policy's LR 1 (0.80) against schedule 0 at LR 0 (0.75)
    assert same["validation_score"] == pytest.approx(0.0)
    # picked on seed 0 (schedule 1 at both LRs; policy's LR 0; schedule 1 at LR 0), measured on seed 1
    held = suite_scores(policy, schedules, 0, ["at_default", "tuned"], pick=[0], report=[1])
    assert held["validation_advantage"] == pytest.approx(20.0) and held["validation_worst"] == pytest.approx(10.0)
    assert held["validation_at_default"] == pytest.approx(10.0)
    assert held["validation_tuned"] == pytest.approx(10.0)  # 0.60 against 0.50
    assert "validation_at_default" not in suite_scores(policy, schedules, None, ["advantage"])


def test_rescore_split_scores_each_group_and_across_groups(experiment_script, capsys):
    """``rescore_validation.py --split``: all seeds as one suite, one row per seed group, their
    mean, and the mean of the scores picked on one group and measured on another."""
    script = experiment_script("rescore_validation")
    from mava_ganno.systems.validation import suite_scores

    rng = np.random.default_rng(0)
    policy = {"a": rng.uniform(0.5, 0.9, (4, 3)), "b": rng.uniform(0.5, 0.9, (4, 3))}
    schedules = {n: rng.uniform(0.5, 0.9, (2, 4, 3)) for n in policy}
    rows = script.split_scores(policy, schedules, [0, 1, 2, 3], 2, 1, ["advantage", "tuned"])
    assert [r["seeds"] for r in rows] == ["0,1,2,3", "0,1", "2,3", "mean, picked on the same group",
                                          "mean, picked on another group"]
    everything = suite_scores(policy, schedules, 1, ["advantage", "tuned"])
    assert rows[0]["validation_score"] == pytest.approx(everything["validation_score"])
    first = suite_scores({n: r[:2] for n, r in policy.items()}, {n: r[:, :2] for n, r in schedules.items()}, 1,
                         ["advantage", "tuned"])
    assert rows[1]["validation_tuned"] == pytest.approx(first["validation_tuned"])
    assert rows[3]["validation_worst"] == pytest.approx((rows[1]["validation_worst"] + rows[2]["validation_worst"]) / 2)
    crossed = [suite_scores(policy, schedules, 1, ["advantage", "tuned"], a, b) for a, b in (([0, 1], [2, 3]), ([2, 3], [0, 1]))]
    assert rows[4]["validation_tuned"] == pytest.approx(np.mean([c["validation_tuned"] for c in crossed]))
    assert rows[4]["validation_tuned"] != pytest.approx(rows[3]["validation_tuned"])
    table = script.split_table(rows, "p (greedy)").splitlines()
    assert table[3] == "| seeds | score | advantage | at_default | tuned | worst |"
    assert table[-1].startswith("| mean, picked on another group | ") and len(table) == 10
    alone = {n: script.split_scores({n: policy[n]}, {n: schedules[n]}, [0, 1, 2, 3], 2, 1, ["advantage", "tuned"])
             for n in policy}  # each task as a suite of its own, as --split prints them
    assert alone["a"][0]["validation_tuned"] == pytest.approx(
        suite_scores({"a": policy["a"]}, {"a": schedules["a"]}, 1, ["advantage", "tuned"])["validation_tuned"])
    task_lines = script.task_table(alone, "p (greedy), each task alone").splitlines()
    assert task_lines[3] == ("| task | at_default, all seeds | tuned, all seeds | worst, all seeds | at_default, picked on "
                             "another group | tuned, picked on another group | worst, picked on another group |")
    b = alone["b"]
    assert task_lines[-1] == "| b | " + " | ".join(f"{v:.2f}" for v in [
        b[0]["validation_at_default"], b[0]["validation_tuned"], b[0]["validation_worst"],
        b[-1]["validation_at_default"], b[-1]["validation_tuned"], b[-1]["validation_worst"]]) + " |"
    assert script.main(["--split", "two", "default", "--"]) == 2
    assert "--split 'two': give the number of seeds per group" in capsys.readouterr().err


def test_rescore_reference_cache_is_reused_across_features_and_keyed_on_the_suite(experiment_script, tmp_path, capsys):
    """``rescore_validation.py --reference-cache``: the schedules' runs are saved once and read by
    a later call with the same suite, also for a policy with other features (sgd_step schedules
    do not run through the policy); another suite gets a file of its own; the scores are the same
    either way."""
    from mava_ganno.policy import init_policy_for_env, save_policy
    from mava_ganno.systems.validation import ValidationSuite

    script = experiment_script("rescore_validation")
    suite_args = ["+env.scenario.validation={every:1,lrs:[1.0e-3,3.0e-2],seeds:[0,1],tasks:{t:{}},"
                  "reference:best_schedule,schedules:[constant,cosine],schedule_resolution:sgd_step,modes:[greedy]}"]
    overrides = TINY + [f"logger.base_exp_path={tmp_path}", "system.num_updates=2"] + suite_args
    paths = {}
    for features in ("full", "robust_input"):
        cfg = tiny_config(tmp_path, f"env.kwargs.features={features}", *suite_args)
        env = ValidationSuite.from_config(cfg).envs["t"]
        paths[features] = save_policy(str(tmp_path / features), init_policy_for_env(env, jax.random.PRNGKey(0)))
    cache = tmp_path / "cache"

    def rescore(features, *extra):
        assert script.main(["--reference-cache", str(cache), paths[features], "--", *overrides,
                            f"env.kwargs.features={features}", *extra]) == 0
        out, err = capsys.readouterr()
        return json.loads(out.splitlines()[0]), err

    first, err = rescore("full")
    assert "saved to" in err and "read from" not in err and len(list(cache.iterdir())) == 1
    # the same suite, another policy with other features: the reference is read, not run
    original = ValidationSuite._schedule_final_val
    ValidationSuite._schedule_final_val = lambda *a: pytest.fail("the cached reference was run again")
    try:
        again, err = rescore("full")
        other, err_other = rescore("robust_input")
    finally:
        ValidationSuite._schedule_final_val = original
    assert "read from" in err and "read from" in err_other and again == first
    assert other["policy"] == paths["robust_input"] and np.isfinite(other["validation_score"])
    # another suite (other seeds) is another key: a second file, the first one untouched
    rescore("full", "env.scenario.validation.seeds=[0,2]")
    assert len(list(cache.iterdir())) == 2
    # a file that holds another config's runs under this key is refused, not used
    key_file = script.ReferenceCache(str(cache), tiny_config(tmp_path, *suite_args)).path
    with np.load(key_file) as data:
        runs = {k: data[k] for k in data.files if k != "key"}
    np.savez(key_file, key=np.asarray("{}"), **runs)
    with pytest.raises(ValueError, match="holds the reference of another config"):
        script.main(["--reference-cache", str(cache), paths["full"], "--", *overrides, "env.kwargs.features=full"])
    # the decision-held schedules run through the policy's environment: no cache for them
    assert script.main(["--reference-cache", str(cache), paths["full"], "--", *overrides,
                        "env.scenario.validation.schedule_resolution=decision"]) == 2
    assert "--reference-cache needs +env.scenario.validation.schedule_resolution=sgd_step" in capsys.readouterr().err
    # a new suite's reference runs first and is saved after each task, before any policy runs
    saves, ran = [], []
    original_save, original_policy = script.ReferenceCache.save, ValidationSuite.policy_runs

    def save(self, suite):
        saves.append((sorted(suite.known_schedule_runs), len(ran)))
        return original_save(self, suite)

    def policy_runs(self, *a, **k):
        ran.append(1)
        return original_policy(self, *a, **k)

    script.ReferenceCache.save, ValidationSuite.policy_runs = save, policy_runs
    try:
        two = ["+env.scenario.validation.tasks.u={}", "env.scenario.validation.seeds=[1,2]"]
        rescore("full", *two)
    finally:
        script.ReferenceCache.save, ValidationSuite.policy_runs = original_save, original_policy
    assert saves[:2] == [(["t"], 0), (["t", "u"], 0)] and ran
    # given runs must be the suite's shape
    suite = ValidationSuite.from_config(tiny_config(tmp_path, *suite_args))
    with pytest.raises(ValueError, match=r"have shape \(2, 2\); the suite's is \(2, 2, 2\)"):
        suite.give_schedule_runs("t", np.zeros((2, 2)))


def test_validation_schedules_at_every_sgd_step_are_the_benchmark_baselines(tmp_path):
    """``schedule_resolution: sgd_step``: the reference schedules run as the benchmark runs them
    (optax's LR at every SGD step, ``make_baseline_run``) from the policy's initialisation and
    minibatches. A constant LR is the same either way (so the seeds line up with the policy's
    runs); a cosine decay is not held for tau steps any more, so its runs differ, and they are
    exactly the benchmark runner's."""
    from mava_ganno.evaluation.baselines import make_baseline_run
    from mava_ganno.evaluation.policies import NoopPolicy
    from mava_ganno.systems.validation import ValidationSuite

    lrs = "lrs:[1.0e-3,3.0e-2],seeds:[0,1],tasks:{t:{}},reference:best_schedule,schedules:[constant,cosine]"
    held = ValidationSuite.from_config(tiny_config(tmp_path, "+env.scenario.validation={every:1," + lrs + "}"))
    step = ValidationSuite.from_config(tiny_config(tmp_path, "+env.scenario.validation={every:1," + lrs + ",schedule_resolution:sgd_step}"))
    assert (held.schedule_resolution, step.schedule_resolution) == ("decision", "sgd_step")
    env = step.envs["t"]
    noop = NoopPolicy(env.action_table.entries, env.lr_max)
    np.testing.assert_allclose(step._schedule_final_val("t", noop, "constant"), held._schedule_final_val("t", noop, "constant"),
                               atol=1e-6)
    cos_step, cos_held = step._schedule_final_val("t", noop, "cosine"), held._schedule_final_val("t", noop, "cosine")
    assert not np.allclose(cos_step, cos_held)
    run = make_baseline_run(env.trainer, ("constant", "cosine"), env.time_limit, 1.0 / env.dataset.num_classes)
    direct = run(jax.random.PRNGKey(1), jnp.float32(3e-2), 0.1, jnp.int32(1))["val_accuracy"][-1]
    np.testing.assert_allclose(cos_step[1, 1], direct, atol=1e-6)
    # the no-op agent's cells are its gaps to the better of the per-step schedules
    const = held._schedule_final_val("t", noop, "constant").mean(0)
    out = step(noop)
    np.testing.assert_allclose(out["validation_advantage"], (100.0 * (const - np.maximum(const, cos_step.mean(0)))).mean(),
                               atol=1e-4)
    with pytest.raises(ConfigError, match=r"schedule_resolution='tau'.*sgd_step"):
        ValidationSuite({"t": env}, [1e-3], [0], 0.1, schedule_resolution="tau")


def test_schedule_resolution_prints_each_schedule_held_and_per_step(tmp_path, experiment_script, capsys):
    """experiments/schedule_resolution.py: a row per (task, schedule) with the three resolutions at
    each LR; a constant LR is the same at each, a cosine decay is not."""
    suite = ("+env.scenario.validation={every:1,lrs:[1.0e-3,3.0e-2],seeds:[0],tasks:{t:{}},reference:best_schedule,"
             "schedules:[constant,cosine]}")
    script = experiment_script("schedule_resolution")
    assert script.main(["--", *TINY, f"logger.base_exp_path={tmp_path}", "system.num_updates=2", suite]) == 0
    rows = {line.split(" | ")[1]: [float(x) for x in line.strip(" |").split(" | ")[2:]]
            for line in capsys.readouterr().out.splitlines() if line.startswith("| t |")}
    # per LR: held, held mean, per step; then tuned at each
    assert set(rows) == {"constant", "cosine"} and all(len(v) == 9 for v in rows.values())
    const, cos = rows["constant"], rows["cosine"]
    assert const[0:3] == [const[0]] * 3 and const[3:6] == [const[3]] * 3  # a constant LR: the same at every resolution
    assert len({cos[0], cos[1], cos[2]}) > 1 and len({cos[3], cos[4], cos[5]}) > 1
    assert script.main(["env/scenario=pool-deep"]) == 2


def test_the_rescore_cells_table_marks_the_worst_cell(experiment_script):
    table = experiment_script("rescore_validation").cells_table(
        [{"task": "a", "lr": 1e-3, "policy": 0.9, "reference": 0.91, "reference_schedule": "cosine", "gap": -1.0},
         {"task": "b", "lr": 1e-2, "policy": 0.5, "reference": 0.8, "reference_schedule": "wsd", "gap": -30.0}], "p (greedy)")
    lines = table.splitlines()
    assert lines[-2] == "| a | 0.001 | 90.00 | 91.00 | cosine | -1.00 |"
    assert lines[-1] == "| b | 0.01 | 50.00 | 80.00 | wsd | **-30.00** |"


def test_validation_traces_draws_a_policy_beside_the_schedules(tmp_path, experiment_script, capsys):
    """experiments/validation_traces.py on a suite task: the figure is written, each mode's final
    accuracy and last per-layer LRs are printed; a task outside the suite exits 2, naming the suite's."""
    from mava_ganno.policy import NetworkConfig, init_policy_for_env, save_policy
    from mava_ganno.utils import make_env

    suite = "+env.scenario.validation={every:1,lrs:[1.0e-3],seeds:[0],tasks:{t:{}}}"
    env = make_env.make_single(tiny_config(tmp_path))
    save_policy(str(tmp_path / "p"), init_policy_for_env(env, jax.random.PRNGKey(0), network=NetworkConfig((32,), (16,), 16)))
    traces = experiment_script("validation_traces")
    overrides = ["--", *TINY, f"logger.base_exp_path={tmp_path}", "system.num_updates=2", suite]
    assert traces.main(["t", "1e-3", str(tmp_path / "f.png"), str(tmp_path / "p"), *overrides]) == 0
    assert (tmp_path / "f.png").stat().st_size > 0
    out = capsys.readouterr().out
    for mode in ("greedy", "sampled"):
        line = next(x for x in out.splitlines() if f"({mode}): final hold-out" in x)
        assert len(json.loads(line.split("last LRs ")[1])) == env.num_layers
    assert traces.main(["u", "1e-3", str(tmp_path / "g.png"), str(tmp_path / "p"), *overrides]) == 2
    assert "task 'u' is not in the suite; its tasks: ['t']" in capsys.readouterr().err
    # a policy with other features runs in the task built with its own, beside one with the config's
    wide = make_env.make_single(tiny_config(tmp_path, "env.kwargs.features=robust_input"))
    save_policy(str(tmp_path / "q"), init_policy_for_env(wide, jax.random.PRNGKey(1), network=NetworkConfig((32,), (16,), 16)))
    # (the one with other features first: the schedules run in its task)
    assert traces.main(["t", "1e-3", str(tmp_path / "h.png"), str(tmp_path / "q"), str(tmp_path / "p"), *overrides]) == 0
    out = capsys.readouterr().out
    own = next(x for x in out.splitlines() if x.startswith(f"{tmp_path / 'q'}: run with its own features"))
    assert "input_weight_var" in own and f"{tmp_path / 'p'}: run with its own" not in out
    assert sum("final hold-out" in x for x in out.splitlines()) == 4


def test_a_bad_validation_config_names_the_key(tmp_path):
    from mava_ganno.systems.validation import ValidationSuite

    cfg = tiny_config(tmp_path, "+env.scenario.validation={every:1,lrs:[1.0e-3],seeds:[0],tasks:{t:{}},refrence:best_schedule}")
    with pytest.raises(ConfigError, match=r"unknown keys \['refrence'\]"):
        ValidationSuite.from_config(cfg)
    cfg = tiny_config(tmp_path, "+env.scenario.validation={every:1,lrs:[1.0e-3],seeds:[0],tasks:{t:{}}}")
    env = ValidationSuite.from_config(cfg).envs["t"]
    with pytest.raises(ConfigError, match="reference='best'"):
        ValidationSuite({"t": env}, [1e-3], [0], 0.1, reference="best")
    with pytest.raises(ConfigError, match=r"schedules=\['cosine', 'sgdr'\]"):
        ValidationSuite({"t": env}, [1e-3], [0], 0.1, reference="best_schedule", schedules=["cosine", "sgdr"])
    with pytest.raises(ConfigError, match="default_lr=0.001 is not one of lrs=\\[0.01\\]: add it"):
        ValidationSuite({"t": env}, [1e-2], [0], 0.1, select=["at_default"])
    with pytest.raises(ConfigError, match=r"select=\['best'\]"):
        ValidationSuite({"t": env}, [1e-3], [0], 0.1, select=["best"])


def test_validation_in_both_modes_selects_the_better_one(tmp_path):
    """``modes: [sampled, greedy]``: the uniform random agent taken greedily is the no-op (action 0,
    "+0"), i.e. the constant LR, so its greedy advantage is exactly 0 and its sampled one is not;
    the unsuffixed scores are the better mode's, which ``validation_mode`` names."""
    from mava_ganno.evaluation.policies import RandomPolicy
    from mava_ganno.systems.validation import ValidationSuite

    cfg = tiny_config(tmp_path, "+env.scenario.validation={every:1,lrs:[1.0e-3,3.0e-2],seeds:[0],modes:[sampled,greedy],tasks:{t:{}}}")
    suite = ValidationSuite.from_config(cfg)
    env = suite.envs["t"]
    assert env.action_table.entries[0] == "+0"
    out = suite(RandomPolicy(env.action_table.entries, env.lr_max))
    assert out["validation_advantage/greedy"] == 0.0 and out["validation_worst/greedy"] == 0.0
    assert out["validation_advantage/sampled"] != 0.0
    best = max(("sampled", "greedy"), key=lambda m: out[f"validation_advantage/{m}"])
    assert out["validation_mode"] == best
    for k in ("validation_advantage", "validation_worst", "validation/t"):
        assert out[k] == out[f"{k}/{best}"]
    with pytest.raises(ConfigError, match=r"validation.modes=\['sampled', 'argmax'\].*\[sampled, greedy\]"):
        ValidationSuite({"t": env}, [1e-3], [0], 0.1, modes=["sampled", "argmax"])


def test_kl_penalty_keeps_the_actor_near_its_start_and_decays(tmp_path):
    """system.init_policy_kl_coef: KL(start || policy) on every agent-step, weighted by a
    coefficient that decays linearly over the run (in actor SGD steps). A strong penalty keeps
    the policy much closer to its start than a negligible one does, on the same run."""
    from mava_ganno.policy import NetworkConfig, init_policy_for_env, save_policy
    from mava_ganno.utils import make_env

    base = ["system.num_updates=6", "arch.num_evaluation=1", "arch.num_eval_episodes=0",
            "logger.checkpointing.save_model=False", "system.actor_lr=3e-3"]
    env = make_env.make_single(tiny_config(tmp_path, *base))
    save_policy(str(tmp_path / "start"), init_policy_for_env(env, jax.random.PRNGKey(123), network=NetworkConfig((32,), (16,), 16)))
    start = f"system.init_policy={tmp_path / 'start'}"
    weak = rec_ippo.run_experiment(tiny_config(tmp_path, *base, start, "system.init_policy_kl_coef=1e-6"), verbose=False)
    strong = rec_ippo.run_experiment(tiny_config(tmp_path, *base, start, "system.init_policy_kl_coef=10.0"), verbose=False)
    kl_weak, kl_strong = ([row["anchor_kl"] for row in r.history] for r in (weak, strong))
    assert kl_weak[0] < 1e-3 and kl_weak[-1] > 10 * kl_weak[0]  # unpenalised, the policy moves away
    assert kl_strong[-1] < 0.5 * kl_weak[-1], (kl_strong, kl_weak)
    steps = int(strong.final_state.opt_states.actor_opt_state[1][0].count.ravel()[0])  # epochs x minibatches x updates
    per_update = steps // 6
    expected = [10.0 * (1 - (u * per_update + (per_update - 1) / 2) / steps) for u in range(6)]  # mean over the update
    np.testing.assert_allclose([row["anchor_kl_coef"] for row in strong.history], expected, rtol=1e-5)
    with pytest.raises(ConfigError, match=r"system\.init_policy_kl_coef=0\.5 keeps the actor near system\.init_policy, which is not set"):
        rec_ippo.run_experiment(tiny_config(tmp_path, "system.init_policy_kl_coef=0.5"), verbose=False)
    with pytest.raises(ConfigError, match=r"system\.init_policy_kl_coef"):
        rec_ippo.run_experiment(tiny_config(tmp_path, start, "system.init_policy_kl_coef=-1.0"), verbose=False)


def test_a_failed_final_save_keeps_the_policy_elsewhere_and_says_where(tmp_path, monkeypatch, capsys):
    """The disk fills up at the very end: the trained policy goes to a temporary folder, the
    message names both paths, and the result points there."""
    real = rec_ippo.save_policy

    def full_disk(path, policy):
        if str(path).startswith(str(tmp_path)):
            raise OSError(28, "No space left on device", path)
        return real(path, policy)

    monkeypatch.setattr(rec_ippo, "save_policy", full_disk)
    cfg = tiny_config(tmp_path, "system.num_updates=2", "arch.num_evaluation=1", "arch.num_eval_episodes=0",
                      "logger.checkpointing.save_model=False")
    res = rec_ippo.run_experiment(cfg, verbose=False)
    err = capsys.readouterr().err
    assert f"could not save the policy to {os.path.join(res.run_dir, 'policy')}: No space left on device" in err
    assert res.policy_dir in err and not res.policy_dir.startswith(str(tmp_path))
    loaded = load_policy(res.policy_dir)
    for a, b in zip(jax.tree_util.tree_leaves(loaded.params), jax.tree_util.tree_leaves(res.policy.params)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_training_starts_from_a_saved_policy(tmp_path):
    """system.init_policy (e.g. a cloned policy): the actor starts from its parameters; a
    policy of another network is refused by name before training."""
    from mava_ganno.policy import NetworkConfig, init_policy_for_env, save_policy
    from mava_ganno.utils import make_env

    cfg = tiny_config(tmp_path, "system.num_updates=2", "arch.num_evaluation=1", "arch.num_eval_episodes=0",
                      "logger.checkpointing.save_model=False")
    env = make_env.make_single(cfg)
    start = init_policy_for_env(env, jax.random.PRNGKey(123), network=NetworkConfig((32,), (16,), 16))
    save_policy(str(tmp_path / "start"), start)
    res = rec_ippo.run_experiment(tiny_config(tmp_path, "system.num_updates=2", "arch.num_evaluation=1",
                                              "arch.num_eval_episodes=0", "logger.checkpointing.save_model=False",
                                              f"system.init_policy={tmp_path / 'start'}"), verbose=False)
    for a, b in zip(jax.tree_util.tree_leaves(res.initial_actor_params), jax.tree_util.tree_leaves(start.params)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert res.policy.metadata["init_policy"] == str(tmp_path / "start")
    save_policy(str(tmp_path / "other"), init_policy_for_env(env, jax.random.PRNGKey(0)))  # the paper's network
    with pytest.raises(ConfigError, match=r"system\.init_policy .*network .* this run's is"):
        rec_ippo.run_experiment(tiny_config(tmp_path, "system.num_updates=2", f"system.init_policy={tmp_path / 'other'}"),
                                verbose=False)
    with pytest.raises(ConfigError, match=r"system\.init_policy .*not found"):
        rec_ippo.run_experiment(tiny_config(tmp_path, "system.num_updates=2", f"system.init_policy={tmp_path / 'none'}"),
                                verbose=False)
