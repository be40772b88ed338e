"""Observation normalisation of the GANNO policy: running moments of ``agents_view`` columns."""

from __future__ import annotations

from typing import Sequence

import chex
import jax.numpy as jnp
import numpy as np
from flax import struct


def welford(mean, var, count, b_mean, b_var, b_count):
    """Parallel Welford: combine running (mean, var, count) with a batch's moments."""
    b_count = jnp.asarray(b_count, jnp.float32)
    delta = b_mean - mean
    tot = count + b_count
    new_mean = mean + delta * b_count / tot
    m2 = var * count + b_var * b_count + jnp.square(delta) * count * b_count / tot
    return new_mean, m2 / tot, tot


class ObsNormStats(struct.PyTreeNode):
    """Running mean/variance of ``agents_view`` columns (parallel Welford), per feature column.

    ``norm_mask`` (F,) says which columns are normalised: continuous features only. One-hot
    and binary columns (previous action, layer type, depth, non-finite flag) pass through, so
    a category never seen in training (e.g. the *intermediate* depth of a deeper network)
    stays a plain 1 rather than being blown up by a near-zero training variance.
    """

    mean: chex.Array  # (F,)
    var: chex.Array  # (F,)
    count: chex.Array  # ()
    norm_mask: chex.Array  # (F,) bool
    min_std: float = struct.field(pytree_node=False, default=0.1)
    clip: float = struct.field(pytree_node=False, default=5.0)

    @classmethod
    def create(cls, norm_mask: chex.Array, min_std: float = 0.1, clip: float = 5.0) -> "ObsNormStats":
        f = norm_mask.shape[0]
        return cls(
            jnp.zeros((f,), jnp.float32),
            jnp.ones((f,), jnp.float32),
            jnp.asarray(1e-4, jnp.float32),
            jnp.asarray(norm_mask, bool),
            float(min_std),
            float(clip),
        )

    def update(self, batch: chex.Array) -> "ObsNormStats":
        """Fold a batch (..., F) into the statistics (jittable)."""
        x = batch.reshape(-1, batch.shape[-1]).astype(jnp.float32)
        return self.update_moments(x.mean(0), x.var(0), x.shape[0])

    def update_moments(self, b_mean: chex.Array, b_var: chex.Array, b_count: chex.Numeric) -> "ObsNormStats":
        """Fold a batch given by its moments (e.g. averaged over devices) into the statistics."""
        mean, var, count = welford(self.mean, self.var, self.count, b_mean, b_var, b_count)
        return self.replace(mean=mean, var=var, count=count)

    def normalise(self, x: chex.Array) -> chex.Array:
        std = jnp.maximum(jnp.sqrt(self.var), self.min_std)
        z = jnp.clip((x - self.mean) / std, -self.clip, self.clip)
        return jnp.where(self.norm_mask, z, x)


def continuous_feature_mask(feature_names: Sequence[str], num_actions: int) -> np.ndarray:
    """(F,) bool: True for the agents_view columns of continuous (non one-hot) features."""
    from mava_ganno.env.observations import feature_columns

    return feature_columns(feature_names, num_actions, lambda f: not f.categorical)
