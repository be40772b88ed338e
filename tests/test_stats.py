"""Global statistics (mava_ganno.env.stats): what every layer agent sees of the whole network."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from mava_ganno.env.stats import LOSS_CAP, global_stats


def test_global_stats_are_always_finite_and_flag_the_non_finite_loss():
    g = global_stats(jnp.float32(jnp.nan), 0.5, jnp.float32(jnp.inf), 0.9, 0.25, 1e-3, 0.1)
    assert bool(g.nonfinite) and float(g.train_loss) == LOSS_CAP and float(g.val_loss) == LOSS_CAP
    assert float(g.val_accuracy) == 0.0  # a non-finite run's hold-out accuracy counts as 0
    ok = global_stats(jnp.float32(0.7), 0.5, jnp.float32(0.8), 0.9, 0.25, 1e-3, 0.1)
    assert not bool(ok.nonfinite) and float(ok.val_accuracy) == np.float32(0.9)


def test_global_stats_are_jittable_and_typed():
    g = jax.jit(global_stats)(jnp.float32(0.7), jnp.float32(0.5), jnp.float32(0.8), jnp.float32(0.9), 0.25, 1e-3, 0.1)
    assert g.progress.dtype == g.initial_lr.dtype == g.weight_decay.dtype == jnp.float32
    assert float(g.progress) == 0.25 and float(g.initial_lr) == np.float32(1e-3) and float(g.weight_decay) == np.float32(0.1)
    nan_train = global_stats(jnp.float32(jnp.nan), 0.5, jnp.float32(0.8), 0.9, 0.5, 1e-3, 0.1)
    assert bool(nan_train.nonfinite) and float(nan_train.val_loss) == np.float32(0.8)  # only the bad loss is capped


def test_previous_train_loss_is_carried_capped():
    first = global_stats(jnp.float32(2.0), 0.5, jnp.float32(2.1), 0.4, 0.0, 1e-3, 0.1)
    assert float(first.prev_train_loss) == 2.0  # the first decision: the loss itself (trend 0)
    later = global_stats(jnp.float32(1.5), 0.5, jnp.float32(2.1), 0.4, 0.25, 1e-3, 0.1, prev_train_loss=first.train_loss)
    assert float(later.prev_train_loss) == 2.0 and later.prev_train_loss.dtype == jnp.float32
    blown = global_stats(jnp.float32(jnp.inf), 0.5, jnp.float32(2.1), 0.4, 0.5, 1e-3, 0.1, prev_train_loss=jnp.nan)
    assert float(blown.train_loss) == float(blown.prev_train_loss) == LOSS_CAP
    first_nan = global_stats(jnp.float32(jnp.nan), 0.5, jnp.float32(2.1), 0.4, 0.0, 1e-3, 0.1)
    assert float(first_nan.prev_train_loss) == LOSS_CAP
    jitted = jax.jit(global_stats)(jnp.float32(1.0), 0.5, jnp.float32(1.0), 0.5, 0.5, 1e-3, 0.1, jnp.float32(3.0))
    assert float(jitted.prev_train_loss) == 3.0
