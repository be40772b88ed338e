"""Initial conditions: the generator samples each episode's initial LR and weight decay."""

from __future__ import annotations

import math
from typing import Any, Iterable, NamedTuple, Sequence, Tuple, Union

import chex
import jax
import jax.numpy as jnp
import numpy as np

Range = Union[float, Sequence[float]]


class InitialConditions(NamedTuple):
    initial_lr: chex.Array  # ()
    weight_decay: chex.Array  # ()


def _number(name: str, v: Any, whole: Any) -> float:
    """``v`` as a finite float, or a ValueError naming ``name`` and the value."""
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number or a [min, max] pair of numbers, got {whole!r}.")
    if not math.isfinite(float(v)):
        example = "[1e-5,1e-2]" if name == "lr" else "[1e-5,1e-1]"
        raise ValueError(f"{name} = {whole!r} is not finite; give a finite number or [min, max] pair, e.g. {name}={example}.")
    return float(v)


def _parse(name: str, value: Range, allow_zero: bool) -> Tuple[float, float]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        lo = hi = _number(name, value, value)
    else:
        vals = list(value)
        if len(vals) != 2:
            raise ValueError(f"{name} must be a number or a [min, max] pair, got {vals}.")
        lo, hi = (_number(name, v, vals) for v in vals)
    if lo > hi:
        raise ValueError(f"{name} range [{lo}, {hi}] has min > max; swap them.")
    if lo < 0 or (lo == 0 and not (allow_zero and hi == 0)):
        raise ValueError(
            f"{name} = {value} is not valid: a log-uniform range needs 0 < min <= max"
            + (" (a fixed 0 is allowed)." if allow_zero else ".")
        )
    return lo, hi


class InitialConditionsGenerator:
    """Samples initial conditions log-uniformly (paper, appendix A).

    Args:
        lr: initial learning rate; a ``[min, max]`` pair samples log-uniformly, a number is
            fixed (evaluation). 0 is allowed as a fixed value (the warm-up study).
        weight_decay: the same for the weight decay.
        lr_focus, focus_fraction: a share ``focus_fraction`` of the episodes draws its initial
            LR log-uniformly from the ``[min, max]`` pair ``lr_focus`` instead (for instance the
            LRs users start with, [3e-4, 3e-3]); the rest from ``lr``. Default: none.

    Training default: lr in [1e-5, 1e-2], weight decay in [1e-5, 1e-1].
    """

    def __init__(self, lr: Range = (1e-5, 1e-2), weight_decay: Range = (1e-5, 1e-1), lr_focus: Range = (),
                 focus_fraction: float = 0.0):
        self.lr_range = _parse("lr", lr, allow_zero=True)
        self.wd_range = _parse("weight_decay", weight_decay, allow_zero=True)
        fraction = _number("focus_fraction", focus_fraction, focus_fraction)
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"focus_fraction must be in [0, 1] (the share of episodes drawn from lr_focus), got {focus_fraction!r}.")
        if fraction > 0 and (isinstance(lr_focus, (int, float)) or len(list(lr_focus)) != 2):
            raise ValueError(f"focus_fraction={fraction} needs lr_focus, a [min, max] pair such as [3e-4, 3e-3]; got {lr_focus!r}.")
        self.focus_fraction = fraction
        self.focus_range = _parse("lr_focus", lr_focus, allow_zero=False) if fraction > 0 else None

    @staticmethod
    def _sample(key: chex.PRNGKey, lo: float, hi: float) -> chex.Array:
        if lo == hi:
            return jnp.asarray(lo, jnp.float32)
        u = jax.random.uniform(key, (), minval=jnp.log(lo), maxval=jnp.log(hi))
        return jnp.exp(u).astype(jnp.float32)

    def __call__(self, key: chex.PRNGKey) -> InitialConditions:
        k_lr, k_wd = jax.random.split(key)
        lr = self._sample(k_lr, *self.lr_range)
        if self.focus_range is not None:  # keys of their own: without a focus, draws are unchanged
            k_pick, k_focus = jax.random.split(jax.random.fold_in(k_lr, 1))
            focus = jax.random.uniform(k_pick) < self.focus_fraction
            lr = jnp.where(focus, self._sample(k_focus, *self.focus_range), lr)
        return InitialConditions(lr, self._sample(k_wd, *self.wd_range))

    def __repr__(self) -> str:
        focus = f", lr_focus={self.focus_range}, focus_fraction={self.focus_fraction}" if self.focus_range else ""
        return f"InitialConditionsGenerator(lr={self.lr_range}, weight_decay={self.wd_range}{focus})"
