"""A centralised critic's global state for GANNO (used by the Mava wrapper for MAPPO).

Kept free of Mava imports so it is testable anywhere.

For N layer agents whose ``agents_view`` (N, F) holds G global-feature columns (the same in
every row) and Lf layer-feature columns, the global state is (N, G + 4 * Lf); row i is::

    [global features, agent i's layer features,
     mean, min and max over all layers of the layer features]

i.e. everything the environment exposes about the whole network (its global statistics
once, and a permutation-invariant summary of every layer's learning rate, previous action,
type, depth and gradient/update/weight statistics), plus the agent's own layer so that the
per-agent value head knows which layer it evaluates. Its width does not depend on N, so a
critic trained on one depth also runs on another. (Mava's default, every agent's view
concatenated, would repeat the global features N times and tie the critic to one depth.)
"""

from __future__ import annotations

from typing import Sequence, Tuple

import chex
import jax.numpy as jnp
import numpy as np

from mava_ganno.env import observations


def feature_columns(feature_names: Sequence[str], num_actions: int) -> Tuple[np.ndarray, np.ndarray]:
    """(global columns, layer columns) of ``agents_view`` for these observation features."""
    is_global = observations.feature_columns(feature_names, num_actions, lambda f: f.scope == "global")
    return np.flatnonzero(is_global).astype(np.int32), np.flatnonzero(~is_global).astype(np.int32)


def global_state_dim(feature_names: Sequence[str], num_actions: int) -> int:
    global_cols, layer_cols = feature_columns(feature_names, num_actions)
    return len(global_cols) + 4 * len(layer_cols)


def global_state(agents_view: chex.Array, global_cols: np.ndarray, layer_cols: np.ndarray) -> chex.Array:
    """(N, F) agents_view -> (N, G + 4 * Lf) float32 global state (see the module docstring)."""
    view = jnp.asarray(agents_view, jnp.float32)
    n = view.shape[0]
    layers = view[:, layer_cols]
    summary = jnp.concatenate([layers.mean(0), layers.min(0), layers.max(0)])
    return jnp.concatenate(
        [
            jnp.broadcast_to(view[0, global_cols], (n, len(global_cols))),
            layers,
            jnp.broadcast_to(summary, (n, summary.shape[0])),
        ],
        axis=-1,
    )
