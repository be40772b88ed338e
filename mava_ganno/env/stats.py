"""Global statistics: what every layer agent sees of the whole network (``GlobalStats``), built
from raw metrics in one place (``global_stats``) by the environment and by
``mava_ganno.optimiser``. Per-layer raw statistics live in ``mava_ganno.backend.layer_stats``."""

from __future__ import annotations

from typing import NamedTuple, Optional

import chex
import jax.numpy as jnp


class GlobalStats(NamedTuple):
    """Statistics shared by every layer agent (all scalars)."""

    train_loss: chex.Array  # () mean over the last tau minibatches
    train_accuracy: chex.Array  # ()
    val_loss: chex.Array  # () on the hold-out validation split (the paper's "test" obs)
    val_accuracy: chex.Array  # ()
    nonfinite: chex.Array  # () bool: a loss was NaN/inf during the last tau steps
    progress: chex.Array  # () env steps done / time_limit, in [0, 1]
    initial_lr: chex.Array  # ()
    weight_decay: chex.Array  # ()
    # () train_loss at the previous decision (env step), capped like train_loss; equal to
    # train_loss at the first decision (reset). Read only by the ``train_loss_trend`` feature;
    # None in hand-built statistics that predate it.
    prev_train_loss: Optional[chex.Array] = None


LOSS_CAP = 1e4  # a non-finite loss is stored (and observed) as this, with the nonfinite flag set


def global_stats(
    train_loss: chex.Array,
    train_accuracy: chex.Array,
    val_loss: chex.Array,
    val_accuracy: chex.Array,
    progress: chex.Array,
    initial_lr: chex.Numeric,
    weight_decay: chex.Numeric,
    prev_train_loss: Optional[chex.Array] = None,
) -> GlobalStats:
    """GlobalStats from raw metrics, always finite: a NaN/inf train or hold-out loss sets
    ``nonfinite``, is stored as ``LOSS_CAP``, and the hold-out accuracy then counts as 0.
    ``prev_train_loss`` is the (stored) train loss of the previous decision; None at the first
    decision, where it is the train loss itself (so the loss trend starts at 0).
    The environment and ``mava_ganno.optimiser`` both build their global statistics here."""
    nonfinite = ~(jnp.isfinite(train_loss) & jnp.isfinite(val_loss))
    cap = lambda x: jnp.nan_to_num(x, nan=LOSS_CAP, posinf=LOSS_CAP)  # noqa: E731
    train_loss = cap(train_loss)
    return GlobalStats(
        train_loss=train_loss,
        train_accuracy=train_accuracy,
        val_loss=cap(val_loss),
        val_accuracy=jnp.where(nonfinite, 0.0, val_accuracy),
        nonfinite=nonfinite,
        progress=jnp.asarray(progress, jnp.float32),
        initial_lr=jnp.asarray(initial_lr, jnp.float32),
        weight_decay=jnp.asarray(weight_decay, jnp.float32),
        prev_train_loss=train_loss if prev_train_loss is None else cap(jnp.asarray(prev_train_loss, jnp.float32)),
    )
