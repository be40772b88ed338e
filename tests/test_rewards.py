"""Reward functions (mava_ganno.env.rewards) and counterfactuals (mava_ganno.env.counterfactuals),
injected into the environment: a new one of either is written here, not in the environment."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import TINY

from mava_ganno.env import make_ganno
from mava_ganno.env.counterfactuals import BranchContext, Counterfactual, NoopStep, ReferenceEpisode
from mava_ganno.env.generator import InitialConditionsGenerator
from mava_ganno.env.rewards import (
    DifferenceReward,
    EpisodeDifferenceReward,
    HoldOutAccuracy,
    RewardFn,
    StepOutcome,
    make_reward,
)


def outcome(acc=0.8, diverged=False, cf=0.75, cf_diverged=False, unchanged=False) -> StepOutcome:
    return StepOutcome(jnp.float32(acc), jnp.bool_(diverged), jnp.float32(cf), jnp.bool_(cf_diverged), jnp.bool_(unchanged))


def test_the_papers_rewards():
    assert float(HoldOutAccuracy()(outcome())) == pytest.approx(0.8)
    assert float(DifferenceReward()(outcome())) == pytest.approx(0.05)
    assert float(DifferenceReward()(outcome(unchanged=True))) == 0.0  # exactly 0 for the no-op
    assert float(DifferenceReward()(outcome(cf_diverged=True))) == pytest.approx(0.8)  # cf counts 0
    assert float(DifferenceReward(-2.0)(outcome(diverged=True))) == -2.0
    assert float(HoldOutAccuracy(-3.0)(outcome(diverged=True))) == -3.0


def test_a_non_finite_divergence_reward_is_refused():
    with pytest.raises(ValueError, match="divergence_reward"):
        HoldOutAccuracy(float("nan"))


class HalfLoss(RewardFn):
    """A user's reward: minus half the hold-out accuracy (only to see it is the one used)."""

    def reward(self, o: StepOutcome) -> jnp.ndarray:
        return -0.5 * o.val_accuracy


def test_the_environment_uses_the_injected_reward_function():
    env = make_ganno(**TINY, reward_fn=HalfLoss(-4.0))
    assert not env.difference_reward and env.divergence_reward == -4.0
    state, _ = env.reset(jax.random.PRNGKey(0))
    _, ts = jax.jit(env.step)(state, jnp.ones(env.num_agents, jnp.int32))
    np.testing.assert_allclose(np.asarray(ts.reward), -0.5 * float(ts.extras["val_accuracy"]), rtol=1e-6)
    with pytest.raises(TypeError, match="RewardFn"):
        make_ganno(**TINY, reward_fn=lambda o: 0.0)


def test_the_validation_loss_term_adds_to_the_accuracy_difference():
    o = outcome()._replace(val_loss=jnp.float32(0.5), counterfactual_val_loss=jnp.float32(0.7))
    assert float(DifferenceReward(loss_weight=0.5)(o)) == pytest.approx(0.05 + 0.5 * 0.2)
    assert float(DifferenceReward(loss_weight=0.5)(o._replace(lrs_unchanged=jnp.bool_(True)))) == 0.0


def test_the_episode_reward_telescopes_to_the_final_gap():
    """Rewards of an episode sum to final accuracy minus the reference's, whatever the path."""
    fn = EpisodeDifferenceReward(loss_weight=0.1)
    accs, refs = [0.1, 0.5, 0.4, 0.8], [0.1, 0.6, 0.7, 0.7]
    losses, ref_losses = [2.3, 1.0, 1.1, 0.6], [2.3, 0.9, 0.8, 0.8]
    total = 0.0
    for t in range(1, 4):
        o = StepOutcome(
            jnp.float32(accs[t]), jnp.bool_(False), jnp.float32(refs[t]), jnp.bool_(False), jnp.bool_(False),
            val_loss=losses[t], counterfactual_val_loss=ref_losses[t], prev_val_accuracy=accs[t - 1],
            prev_counterfactual_val_accuracy=refs[t - 1], prev_val_loss=losses[t - 1],
            prev_counterfactual_val_loss=ref_losses[t - 1],
        )
        total += float(fn(o))
    assert total == pytest.approx((0.8 - 0.7) + 0.1 * (0.8 - 0.6), abs=1e-6)
    # a diverged step takes back the gap collected so far: the episode's return is -1
    o = StepOutcome(jnp.float32(0.0), jnp.bool_(True), jnp.float32(0.5), jnp.bool_(False), jnp.bool_(False),
                    prev_val_accuracy=0.6, prev_counterfactual_val_accuracy=0.4)
    assert float(EpisodeDifferenceReward()(o)) == pytest.approx(-1.0 - 0.2)


def test_reference_schedules_are_optax_schedules_of_the_initial_lr():
    const, cos = ReferenceEpisode("constant"), ReferenceEpisode("cosine")
    assert float(const.lr(1e-2, 3, 4)) == pytest.approx(1e-2)
    assert [round(float(cos.lr(1e-2, t, 4)), 8) for t in (0, 2, 4)] == [1e-2, 5e-3, 0.0]
    assert float(cos.lr(1e-2, 1, 4)) == float(optax.cosine_decay_schedule(1e-2, 4)(1))  # optax's, exactly
    # WSD over 10 env steps of 100 SGD steps: held at the first step, its warm-up takes the whole
    # first env step at LR 0 and it ends at half its peak; held at the mean, it follows the
    # per-step schedule's average (warm-up over 50 steps, decay to 0 over the last 200)
    first, mean = ReferenceEpisode("wsd"), ReferenceEpisode("wsd", hold="mean")
    np.testing.assert_allclose([float(first.lr(1e-2, t, 10, 100)) for t in (0, 1, 8, 9)], [0.0, 1e-2, 1e-2, 5e-3], rtol=1e-6)
    np.testing.assert_allclose([float(mean.lr(1e-2, t, 10, 100)) for t in (0, 1, 8, 9)],
                               [1e-2 * 0.745, 1e-2, 1e-2 * 0.7525, 1e-2 * 0.2525], rtol=1e-4)
    with pytest.raises(ValueError, match="reference schedule 'sgdr' is not known; use one of constant, cosine, linear"):
        ReferenceEpisode("sgdr")
    with pytest.raises(ValueError, match="reference hold 'last' is not known; use one of first, mean"):
        ReferenceEpisode("wsd", hold="last")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(reward_counterfactual="episode"), "reward_counterfactual 'episode' is not known; use one of noop_step"),
        (dict(reward_loss_weight=-0.1), "loss_weight must be a finite number >= 0.0, got -0.1"),
        (dict(reward_loss_weight=float("inf")), "loss_weight must be a finite number"),
        (dict(reward_loss_weight=True), "loss_weight must be a finite number"),
        (dict(reward_counterfactual="wsd_episode", reward_reference_hold="end"), "reward_reference_hold 'end' is not known"),
        (dict(reward_reference_hold="mean"), "applies to a reference episode only; reward_counterfactual is 'noop_step'"),
    ],
)
def test_bad_reward_options_are_refused_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_reward(True, -1.0, **kwargs)
    with pytest.raises(ValueError, match=match):  # also where no data is loaded yet
        make_ganno(**TINY, **kwargs)


def test_make_reward_picks_the_reward_and_its_counterfactual():
    reward, cf = make_reward(False)
    assert isinstance(reward, HoldOutAccuracy) and cf is None
    reward, cf = make_reward(True)
    assert isinstance(reward, DifferenceReward) and isinstance(cf, NoopStep)
    reward, cf = make_reward(True, -2.0, "cosine_episode", 0.3)
    assert isinstance(reward, EpisodeDifferenceReward) and (reward.loss_weight, reward.divergence_reward) == (0.3, -2.0)
    assert isinstance(cf, ReferenceEpisode) and (cf.schedule, cf.hold) == ("cosine", "first")
    _, cf = make_reward(True, -1.0, "warmup_cosine_episode", reward_reference_hold="mean")
    assert isinstance(cf, ReferenceEpisode) and (cf.schedule, cf.hold) == ("warmup_cosine", "mean")


@pytest.fixture(scope="module")
def episode_env():
    gen = InitialConditionsGenerator(lr=1e-3, weight_decay=0.1)
    env = make_ganno(gen, **TINY, reward_counterfactual="constant_episode")
    return env, jax.jit(env.reset), jax.jit(env.step)


def _episode(episode_env, action: int, key: int = 3):
    env, reset, step = episode_env
    state, _ = reset(jax.random.PRNGKey(key))
    out = []
    for _ in range(env.time_limit):
        state, ts = step(state, jnp.full(env.num_agents, action, jnp.int32))
        out.append((float(ts.reward[0]), float(ts.extras["val_accuracy"]), float(ts.extras["counterfactual_val_accuracy"])))
    return np.asarray(out), state


def test_the_episode_counterfactual_in_the_environment(episode_env):
    env = episode_env[0]
    assert env.difference_reward and isinstance(env.counterfactual_fn, ReferenceEpisode)
    # all no-ops: the actual run *is* the constant-LR reference, every reward is 0 (up to the
    # float rounding of XLA's fused arithmetic)
    noop, _ = _episode(episode_env, 0)
    np.testing.assert_allclose(noop[:, 0], 0.0, atol=1e-6)
    np.testing.assert_array_equal(noop[:, 1], noop[:, 2])
    # raising every LR (+1e-3 each decision): the reference ignores the actions (the same
    # accuracies as the no-op run), the actual run differs, and the return is the final gap
    up, state = _episode(episode_env, 7)
    np.testing.assert_array_equal(up[:, 2], noop[:, 2])
    assert not np.array_equal(up[:, 1], noop[:, 1])
    assert up[:, 0].sum() == pytest.approx(up[-1, 1] - up[-1, 2], abs=1e-5)
    assert state.reference is not None and not bool(state.reference.diverged)


def test_a_reference_episode_is_the_schedule_run_held_per_decision():
    """``wsd_episode`` held at the mean: the reference branch's hold-out accuracies are exactly
    those of a WSD run held the same way through the evaluation's episode runner (same init and
    minibatches from the same key), whatever the agents do."""
    from mava_ganno.evaluation.policies import NoopPolicy
    from mava_ganno.evaluation.rollouts import METHODS, make_method_runner

    env = make_ganno(InitialConditionsGenerator(lr=3e-3, weight_decay=0.1), **TINY, reward_counterfactual="wsd_episode",
                     reward_reference_hold="mean")
    assert repr(env.counterfactual_fn) == "ReferenceEpisode('wsd', hold='mean')"
    state, _ = jax.jit(env.reset)(jax.random.PRNGKey(5))
    step, reference = jax.jit(env.step), []
    for _ in range(env.time_limit):
        state, ts = step(state, jnp.full(env.num_agents, 7, jnp.int32))  # +1e-3 each decision
        reference.append(float(ts.extras["counterfactual_val_accuracy"]))
    noop = NoopPolicy(env.action_table.entries, env.lr_max)
    runs = make_method_runner(env, hold="mean")(noop, jax.random.PRNGKey(5), jnp.array([3e-3, 3e-3], jnp.float32),
                                                jnp.array([METHODS.index("wsd"), METHODS.index("constant")]), 0.1)
    wsd = np.asarray(runs["val_accuracy"])[0, 1:]
    np.testing.assert_allclose(reference, wsd, atol=1e-6)
    assert not np.allclose(wsd, np.asarray(runs["val_accuracy"])[1, 1:])  # not the constant LR's


def test_the_step_counterfactual_keeps_no_reference(tiny_train_env):
    state, _ = tiny_train_env.reset(jax.random.PRNGKey(0))
    assert state.reference is None


# ----------------------------------------------------------------------------- written here
class SameAsActual(Counterfactual):
    """A counterfactual that does exactly what the agents did: the difference is always 0."""

    def start(self, ctx: BranchContext):
        return None, ctx.actual_lrs


class LossDrop(RewardFn):
    """r = the branch's hold-out loss minus the actual one (positive when the actions helped)."""

    needs_counterfactual = True

    def reward(self, outcome: StepOutcome):
        return outcome.counterfactual_val_loss - outcome.val_loss


def test_a_new_counterfactual_and_reward_need_no_change_to_the_environment():
    gen = InitialConditionsGenerator(lr=1e-3, weight_decay=0.1)
    env = make_ganno(gen, **TINY, reward_fn=LossDrop(), counterfactual_fn=SameAsActual(), counterfactual="sequential")
    state, _ = env.reset(jax.random.PRNGKey(0))
    step = jax.jit(env.step)
    for _ in range(env.time_limit):
        state, ts = step(state, jnp.full(env.num_agents, 7, jnp.int32))  # raise every LR
        assert float(ts.reward[0]) == 0.0  # the branch repeated the actual steps exactly
        assert float(ts.extras["counterfactual_val_accuracy"]) == float(ts.extras["val_accuracy"])
    noop_env = make_ganno(gen, **TINY, reward_fn=LossDrop(), counterfactual_fn=NoopStep(), counterfactual="sequential")
    state, _ = noop_env.reset(jax.random.PRNGKey(0))
    _, ts = jax.jit(noop_env.step)(state, jnp.full(noop_env.num_agents, 7, jnp.int32))
    assert float(ts.reward[0]) != 0.0  # against the no-op, raising the LRs changes the loss


@pytest.mark.parametrize("kwargs, match", [
    (dict(reward_fn=DifferenceReward(), reward_loss_weight=0.5), r"was given together with reward_loss_weight=0.5"),
    (dict(reward_fn=DifferenceReward(), reward_counterfactual="constant_episode"),
     r"together with reward_counterfactual='constant_episode'; the injected reward function and counterfactual replace"),
    (dict(reward_fn=DifferenceReward()), r"compares with a counterfactual branch: give counterfactual_fn too"),
    (dict(reward_fn=DifferenceReward(), counterfactual_fn="noop"), r"counterfactual_fn must be a mava_ganno.env.counterfactuals"),
])  # fmt: skip
def test_an_injected_reward_and_reward_keywords_are_refused_together(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make_ganno(**TINY, **kwargs)


def test_a_reference_episode_per_sgd_step_is_the_benchmarks_schedule_run():
    """``reward_reference_hold: step``: the reference branch trains with the schedule's LR at
    every SGD step, so its hold-out accuracies are those of the benchmark's per-step WSD run
    (``make_baseline_run``, same key), whatever the agents do; in an env whose no-op follows a
    per-step cosine (``lr_decay="cosine_step"``) against a per-step cosine reference, the
    always-no-op agent is the reference run and earns 0."""
    from mava_ganno.evaluation.baselines import make_baseline_run

    gen = InitialConditionsGenerator(lr=3e-3, weight_decay=0.1)
    env = make_ganno(gen, **TINY, reward_counterfactual="wsd_episode", reward_reference_hold="step")
    assert repr(env.counterfactual_fn) == "ReferenceEpisode('wsd', hold='step')"
    assert env.counterfactual_fn.lr(3e-3, 0, env.time_limit, env.tau).shape == (env.tau,)
    state, _ = jax.jit(env.reset)(jax.random.PRNGKey(5))
    step, reference = jax.jit(env.step), []
    for _ in range(env.time_limit):
        state, ts = step(state, jnp.full(env.num_agents, 7, jnp.int32))  # +1e-3 each decision
        reference.append(float(ts.extras["counterfactual_val_accuracy"]))
    run = make_baseline_run(env.trainer, ("wsd",), env.time_limit, 1.0 / env.dataset.num_classes)
    direct = np.asarray(jax.jit(run)(jax.random.PRNGKey(5), jnp.float32(3e-3), 0.1, jnp.int32(0))["val_accuracy"])[1:]
    np.testing.assert_allclose(reference, direct, atol=1e-6)

    cos = make_ganno(gen, **TINY, reward_counterfactual="cosine_episode", reward_reference_hold="step", lr_decay="cosine_step")
    state, _ = jax.jit(cos.reset)(jax.random.PRNGKey(5))
    step, rewards = jax.jit(cos.step), []
    for _ in range(cos.time_limit):
        state, ts = step(state, jnp.zeros(cos.num_agents, jnp.int32))
        rewards.append(float(ts.reward[0]))
    np.testing.assert_allclose(rewards, 0.0, atol=1e-6)
