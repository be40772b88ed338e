"""Reward functions, injected into the environment (as Jumanji injects a ``RewardFn``).

The reward is shared: every agent receives the same value, shape (num_agents,).

- ``HoldOutAccuracy`` (evaluation): r = val_acc after the tau steps.
- ``DifferenceReward`` (training default, the paper's): a counterfactual copy of the network
  trains the same tau steps on the same minibatches with every learning rate left unchanged
  (the no-op joint action), and r = val_acc(actual) - val_acc(counterfactual). When the chosen
  actions leave every learning rate unchanged the counterfactual *is* the actual branch and r
  is exactly 0. A diverged counterfactual counts as accuracy 0.
- Divergence, for both: if the actual branch's loss became NaN/inf, r = ``divergence_reward``
  (default -1, below any difference of accuracies) and the episode terminates.

The environment trains the counterfactual branch only for a reward function whose
``needs_counterfactual`` is True.
"""

from __future__ import annotations

import abc
import math
from typing import NamedTuple

import chex
import jax.numpy as jnp


class StepOutcome(NamedTuple):
    """What a reward function sees of one env step (all scalars)."""

    val_accuracy: chex.Array  # hold-out accuracy after the tau steps (actual branch)
    diverged: chex.Array  # bool: the actual branch's loss became NaN/inf
    counterfactual_val_accuracy: chex.Array  # the no-op branch's (= val_accuracy without one)
    counterfactual_diverged: chex.Array  # bool
    lrs_unchanged: chex.Array  # bool: the joint action left every learning rate as it was


class RewardFn(abc.ABC):
    """``reward_fn(outcome) -> ()`` float32 shared reward."""

    needs_counterfactual: bool = False

    def __init__(self, divergence_reward: float = -1.0):
        if not math.isfinite(float(divergence_reward)):
            raise ValueError(f"divergence_reward must be a finite number, got {divergence_reward!r}.")
        self.divergence_reward = float(divergence_reward)

    @abc.abstractmethod
    def reward(self, outcome: StepOutcome) -> chex.Array:
        """The reward of a step that did not diverge."""

    def __call__(self, outcome: StepOutcome) -> chex.Array:
        r = jnp.where(outcome.diverged, self.divergence_reward, self.reward(outcome))
        return r.astype(jnp.float32)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(divergence_reward={self.divergence_reward})"


class HoldOutAccuracy(RewardFn):
    """r = hold-out accuracy after the tau steps."""

    def reward(self, outcome: StepOutcome) -> chex.Array:
        return outcome.val_accuracy


class DifferenceReward(RewardFn):
    """r = hold-out accuracy minus that of the no-op counterfactual (0 if nothing changed)."""

    needs_counterfactual = True

    def reward(self, outcome: StepOutcome) -> chex.Array:
        cf = jnp.where(outcome.counterfactual_diverged, 0.0, outcome.counterfactual_val_accuracy)
        return jnp.where(outcome.lrs_unchanged, 0.0, outcome.val_accuracy - cf)
