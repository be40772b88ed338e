"""Raw per-layer statistics behind the layer observations (norms, mean, variance, trust ratio).

Shared by the environment's trainer and the ``mava_ganno.optimiser`` optimiser so both compute
exactly the same numbers; ``mava_ganno.env.observations`` scales them into features.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np


class LayerStats(NamedTuple):
    """Per-layer-agent statistics, each of shape (num_layers,)."""

    weight_norm: chex.Array  # ||theta_l||
    weight_mean: chex.Array  # mean of theta_l
    weight_var: chex.Array  # variance of theta_l
    grad_norm: chex.Array  # ||g_l||
    update_norm: chex.Array  # ||u_l||, u = Adam update term with weight decay, before the LR
    trust_ratio: chex.Array  # ||theta_l|| / ||u_l|| (LAMB); 1 where either norm is 0


def layer_statistics(
    params: Any, grads: Any, direction: Any, leaf_agent_ids: np.ndarray, num_layers: int
) -> LayerStats:
    """Per-layer statistics from three pytrees of the params' structure.

    Args:
        params, grads, direction: theta, g and the Adam update term u.
        leaf_agent_ids: (num_leaves,) layer index of each leaf, in tree-flatten order.
        num_layers: number of layer agents.
    """
    leaves = jax.tree_util.tree_leaves
    per_leaf = jnp.stack(
        [
            jnp.stack(
                [
                    jnp.sum(jnp.square(p)),
                    jnp.sum(p),
                    jnp.asarray(p.size, jnp.float32),
                    jnp.sum(jnp.square(g)),
                    jnp.sum(jnp.square(u)),
                ]
            ).astype(jnp.float32)
            for p, g, u in zip(leaves(params), leaves(grads), leaves(direction))
        ]
    )
    sums = jax.ops.segment_sum(per_leaf, jnp.asarray(leaf_agent_ids), num_layers)
    sq, s, n, gsq, usq = (sums[:, i] for i in range(5))
    mean = s / n
    var = jnp.maximum(sq / n - jnp.square(mean), 0.0)
    w_norm, u_norm = jnp.sqrt(sq), jnp.sqrt(usq)
    safe_u = jnp.where(u_norm > 0, u_norm, 1.0)
    trust = jnp.where((w_norm > 0) & (u_norm > 0), w_norm / safe_u, 1.0)
    return LayerStats(w_norm, mean, var, jnp.sqrt(gsq), u_norm, trust)
