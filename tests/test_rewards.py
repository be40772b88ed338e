"""Reward functions (mava_ganno.env.rewards), injected into the environment."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import TINY

from mava_ganno.env import Ganno
from mava_ganno.env.rewards import DifferenceReward, HoldOutAccuracy, RewardFn, StepOutcome


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
    env = Ganno(**TINY, reward_fn=HalfLoss(-4.0))
    assert not env.difference_reward and env.divergence_reward == -4.0
    state, _ = env.reset(jax.random.PRNGKey(0))
    _, ts = jax.jit(env.step)(state, jnp.ones(env.num_agents, jnp.int32))
    np.testing.assert_allclose(np.asarray(ts.reward), -0.5 * float(ts.extras["val_accuracy"]), rtol=1e-6)
    with pytest.raises(TypeError, match="RewardFn"):
        Ganno(**TINY, reward_fn=lambda o: 0.0)
