"""The one episode runner (mava_ganno.evaluation.rollouts): the harness, the main job and the
training system's evaluator all run episodes through it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mava_ganno.evaluation.policies import NoopPolicy, RandomPolicy
from mava_ganno.evaluation.rollouts import episode_summary, make_episode_runner, present
from mava_ganno.evaluation.rollouts import make_method_runner as make_runner


def test_an_lr_override_is_the_constant_schedule_and_the_no_op_agent(tiny_eval_env):
    """Overriding every layer's LR with lr0 at every step == the always-no-op agent from lr0:
    same init, same minibatches (one key), so the records agree exactly."""
    env = tiny_eval_env.env
    key = jax.random.PRNGKey(3)
    rnd = RandomPolicy(env.action_table.entries, env.lr_max)
    override = make_episode_runner(env, lr_override=lambda lr0, t: lr0)
    plain = make_episode_runner(env)
    a = jax.jit(override)(rnd, key, 1e-3, 0.1, False, jnp.float32(1e-3))
    b = jax.jit(plain)(NoopPolicy(env.action_table.entries, env.lr_max), key, 1e-3, 0.1, False)
    np.testing.assert_array_equal(np.asarray(a["val_accuracy"]), np.asarray(b["val_accuracy"]))
    np.testing.assert_array_equal(np.asarray(a["layer_lrs"]), np.full((env.time_limit, env.num_agents), np.float32(1e-3)))
    # NaN hands the step back to the policy: the random agent then changes the LRs.
    c = jax.jit(override)(rnd, key, 1e-3, 0.1, False, jnp.float32(jnp.nan))
    assert not np.allclose(np.asarray(c["layer_lrs"]), 1e-3)


def test_the_main_jobs_methods_share_one_compiled_runner(tiny_eval_env):
    env = tiny_eval_env.env
    runner = make_runner(env)
    rnd = RandomPolicy(env.action_table.entries, env.lr_max)
    out = jax.device_get(runner(rnd, jax.random.PRNGKey(0), jnp.full(3, 2e-3), jnp.arange(3), 0.1))
    lrs = np.asarray(out["lrs"])  # (methods, T, L)
    assert lrs.shape == (3, env.time_limit, env.num_agents)
    np.testing.assert_allclose(lrs[1], 2e-3)  # constant
    cosine = 2e-3 * (1 + np.cos(np.pi * np.arange(env.time_limit) / env.time_limit)) / 2
    np.testing.assert_allclose(lrs[2], np.repeat(cosine[:, None], env.num_agents, 1), rtol=1e-5)
    assert not np.allclose(lrs[0], 2e-3)  # the policy acted
    assert out["test_accuracy"].shape == (3, env.time_limit + 1)


def test_summary_counts_the_steps_until_the_episode_ended():
    """A run that diverges at step 2 of 4: return and length stop there, the final accuracy is
    that step's, and present() records chance level and inf loss from then on."""
    episode = {
        "first": {"val_accuracy": jnp.float32(0.1), "train_loss": jnp.float32(2.3), "layer_lrs": jnp.ones(2)},
        "reward": jnp.array([0.5, 0.25, -1.0, 7.0]),
        "alive": jnp.array([True, True, True, False]),
        "diverged": jnp.array([False, False, True, True]),
        "val_accuracy": jnp.array([0.6, 0.7, 0.0, 0.0]),
        "train_loss": jnp.array([1.0, 0.5, 9.0, 9.0]),
        "layer_lrs": jnp.ones((4, 2)),
    }
    s = episode_summary(episode)
    assert float(s["episode_return"]) == pytest.approx(-0.25) and int(s["episode_length"]) == 3
    assert float(s["final_val_accuracy"]) == pytest.approx(0.0)
    p = present(episode, chance=0.1)
    np.testing.assert_allclose(np.asarray(p["val_accuracy"]), [0.1, 0.6, 0.7, 0.1, 0.1])
    assert np.isinf(np.asarray(p["train_loss"])[3:]).all() and bool(p["diverged"])
    assert np.isnan(np.asarray(p["lrs"])[3]).all() and np.isfinite(np.asarray(p["lrs"])[:3]).all()


def test_with_a_cosine_lr_decay_the_no_op_is_the_cosine_schedule_and_overrides_still_set_the_lr():
    """lr_decay="cosine": the always-no-op agent follows the cosine schedule from its initial LR,
    and the harness's LR overrides still train at exactly the schedule's LR (the constant at
    lr_max, the clip's edge, included), as in an env without the decay."""
    from conftest import TINY

    from mava_ganno.env import make_ganno
    from mava_ganno.env.generator import InitialConditionsGenerator

    gen = InitialConditionsGenerator(lr=1e-3, weight_decay=0.1)
    decay = make_ganno(gen, **TINY, difference_reward=False, lr_decay="cosine")
    plain = make_ganno(gen, **TINY, difference_reward=False)
    noop, key = NoopPolicy(decay.action_table.entries, decay.lr_max), jax.random.PRNGKey(0)
    lr0, methods = jnp.full(3, 0.1), jnp.arange(3)  # ganno (the no-op), constant, cosine
    a = jax.device_get(make_runner(decay)(noop, key, lr0, methods, 0.1))
    b = jax.device_get(make_runner(plain)(noop, key, lr0, methods, 0.1))
    cosine = 0.1 * (1 + np.cos(np.pi * np.arange(decay.time_limit) / decay.time_limit)) / 2
    np.testing.assert_allclose(a["lrs"][0], np.repeat(cosine[:, None], decay.num_agents, 1), rtol=1e-5)
    np.testing.assert_allclose(a["lrs"][1:], b["lrs"][1:], rtol=1e-6)  # overrides: the same LRs
    np.testing.assert_allclose(a["lrs"][1], 0.1, rtol=1e-6)
    np.testing.assert_allclose(b["lrs"][0], 0.1)  # without the decay the no-op keeps its LR
    np.testing.assert_allclose(a["val_accuracy"][0], a["val_accuracy"][2], atol=1e-6)  # no-op == cosine
    with pytest.raises(ValueError, match="lr_decay='cos' is not known; use one of 'none', 'cosine'"):
        make_ganno(gen, **TINY, lr_decay="cos")


def test_a_schedule_held_per_env_step_at_its_first_step_or_its_mean():
    """``method_lr``: ``hold="first"`` holds the schedule's value at the env step's first SGD step
    (a WSD over 10 env steps: LR 0 for the whole first one, half its peak in the last);
    ``hold="mean"`` holds its mean over the env step's tau SGD steps, computed here from optax's
    schedule at every step."""
    import optax

    from mava_ganno.evaluation.rollouts import METHODS, method_lr

    T, tau, lr0 = 10, 100, 2e-3
    wsd = METHODS.index("wsd")
    first = np.array([float(method_lr(T)((jnp.float32(lr0), wsd), t)) for t in range(T)])
    np.testing.assert_allclose(first[[0, 1, 8, 9]], [0.0, lr0, lr0, lr0 / 2], rtol=1e-6)
    mean = np.array([float(method_lr(T, "mean", tau)((jnp.float32(lr0), wsd), t)) for t in range(T)])
    per_step = np.concatenate([np.asarray(optax.linear_schedule(0.0, lr0, 50)(np.arange(50))), np.full(750, lr0),
                               np.asarray(optax.linear_schedule(lr0, 0.0, 200)(np.arange(200)))])
    np.testing.assert_allclose(mean, per_step.reshape(T, tau).mean(axis=1), rtol=1e-5, atol=1e-9)
    cos = METHODS.index("cosine")
    np.testing.assert_allclose(
        [float(method_lr(T, "mean", tau)((jnp.float32(lr0), cos), t)) for t in range(T)],
        np.asarray(optax.cosine_decay_schedule(lr0, T * tau)(np.arange(T * tau))).reshape(T, tau).mean(axis=1), rtol=1e-5)
    with pytest.raises(ValueError, match="hold='last'"):
        method_lr(T, "last")
    with pytest.raises(ValueError, match="tau=0"):
        method_lr(T, "mean", 0)


def _noop_and_constant_runs(lr_decays, decisions=None):
    """(the first env, the key, one run per ``lr_decays``): in a TINY env with each ``lr_decay``,
    from LR 0.05, the always-no-op agent (row 0) and the constant LR override (row 1), same key."""
    from conftest import TINY

    from mava_ganno.env import make_ganno
    from mava_ganno.env.generator import InitialConditionsGenerator

    gen = InitialConditionsGenerator(lr=1e-3, weight_decay=0.1)
    config = TINY if decisions is None else dict(TINY, sl_steps=decisions * TINY["tau"])
    envs = [make_ganno(gen, **config, difference_reward=False, lr_decay=d) for d in lr_decays]
    noop, key = NoopPolicy(envs[0].action_table.entries, envs[0].lr_max), jax.random.PRNGKey(0)
    lr0, methods = jnp.full(2, 0.05), jnp.arange(2)  # ganno (the no-op), constant
    return envs[0], key, [jax.device_get(make_runner(e)(noop, key, lr0, methods, 0.1)) for e in envs]


def test_with_a_per_step_cosine_decay_the_no_op_is_optax_cosine_at_every_sgd_step():
    """lr_decay="cosine_step": the always-no-op agent trains exactly as the benchmark's per-step
    cosine schedule (``make_baseline_run``, same key: same init and minibatches), not as the
    staircase of ``lr_decay="cosine"``; an LR override is still held for its env step, so the
    constant schedule runs as in an env without any decay."""
    from mava_ganno.evaluation.baselines import make_baseline_run

    step, key, (a, s, b) = _noop_and_constant_runs(("cosine_step", "cosine", "none"))
    run = make_baseline_run(step.trainer, ("cosine",), step.time_limit, 1.0 / step.dataset.num_classes)
    direct = jax.device_get(jax.jit(run)(key, jnp.float32(0.05), 0.1, jnp.int32(0)))
    np.testing.assert_allclose(a["val_loss"][0], direct["val_loss"], rtol=1e-4)
    np.testing.assert_allclose(a["val_accuracy"][0], direct["val_accuracy"], atol=1e-6)
    assert not np.allclose(s["val_loss"][0], direct["val_loss"], rtol=1e-4)  # the staircase is another run
    np.testing.assert_allclose(a["lrs"][0], s["lrs"][0], rtol=1e-6)  # both observe the decision's first LR
    np.testing.assert_allclose(a["val_loss"][1], b["val_loss"][1], rtol=1e-6)  # the override: held, as without decay


def test_with_a_wsd_decay_the_no_op_holds_its_lr_then_anneals_as_the_benchmarks_wsd():
    """lr_decay="wsd_step": the always-no-op agent trains exactly as a constant LR for the first
    four fifths of the episode (the same run, bit for bit), then anneals at every SGD step;
    "wsd" holds each decision's first value of the same decay. Per SGD step, the decay is the
    benchmark's WSD schedule after its warm-up."""
    from mava_ganno.backend.schedules import make_schedule
    from mava_ganno.env.actions import decay_ratio, within_decision_scale

    T, tau, lr = 10, 100, 3e-3
    rows = []
    for t in range(T):
        lr = lr * float(decay_ratio("wsd_step", t, T))
        rows.append(lr * np.asarray(within_decision_scale("wsd_step", t, tau, T)))
    per_step = np.concatenate(rows)
    bench = np.asarray(make_schedule("wsd", 3e-3, T * tau)(np.arange(T * tau)))
    warm = T * tau // 20
    np.testing.assert_allclose(per_step[warm:], bench[warm:], rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(per_step[:800], 3e-3, rtol=1e-6)
    assert within_decision_scale("wsd", 0, tau, T) is None

    # 10 decisions: the decay is the last 2
    step, _, (a, h, b) = _noop_and_constant_runs(("wsd_step", "wsd", "none"), decisions=10)
    wsd = 0.05 * np.array([1.0] * 8 + [1.0, 0.5])  # each decision's first LR
    np.testing.assert_allclose(a["lrs"][0], np.repeat(wsd[:, None], step.num_agents, 1), rtol=1e-5)
    np.testing.assert_allclose(h["lrs"][0], a["lrs"][0], rtol=1e-6)
    np.testing.assert_array_equal(a["val_loss"][0][:8], b["val_loss"][1][:8])  # stable: the constant run
    assert not np.allclose(a["val_loss"][0][8:], b["val_loss"][1][8:], rtol=1e-4)  # then it anneals
    np.testing.assert_array_equal(h["val_loss"][0][:8], a["val_loss"][0][:8])
    assert not np.allclose(h["val_loss"][0][8:], a["val_loss"][0][8:], rtol=1e-4)  # held: a staircase
    np.testing.assert_allclose(a["val_loss"][1], b["val_loss"][1], rtol=1e-6)  # the override: held, as without decay
