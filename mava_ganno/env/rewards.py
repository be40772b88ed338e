"""The shared reward: hold-out accuracy, optionally as a difference reward.

- ``difference_reward=False`` (evaluation): r = val_acc(after the tau steps).
- ``difference_reward=True`` (training default): a counterfactual copy of the network trains
  the same tau steps on the same minibatches with every learning rate left unchanged (the
  no-op joint action), and r = val_acc(actual) - val_acc(counterfactual). When the chosen
  actions leave every learning rate unchanged the counterfactual *is* the actual branch and
  r is exactly 0. A diverged counterfactual counts as accuracy 0.
- Divergence: if the actual branch's loss became NaN/inf, r = ``divergence_reward``
  (default -1, below any difference of accuracies) and the episode terminates.

The reward is shared: every agent receives the same value, shape (num_agents,).
"""

from __future__ import annotations

import chex
import jax.numpy as jnp


def shared_reward(
    val_accuracy: chex.Array,
    diverged: chex.Array,
    divergence_reward: float,
    counterfactual_val_accuracy: chex.Array | None = None,
    counterfactual_diverged: chex.Array | None = None,
    lrs_unchanged: chex.Array | None = None,
) -> chex.Array:
    """Scalar reward; ``counterfactual_*`` given means the difference reward."""
    if counterfactual_val_accuracy is None:
        reward = val_accuracy
    else:
        cf = jnp.where(counterfactual_diverged, 0.0, counterfactual_val_accuracy)
        reward = jnp.where(lrs_unchanged, 0.0, val_accuracy - cf)
    return jnp.where(diverged, divergence_reward, reward).astype(jnp.float32)
