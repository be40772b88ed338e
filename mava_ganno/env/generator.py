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


def _fractions(focus_fraction: Any) -> Tuple[float, ...]:
    """``focus_fraction`` as a tuple of shares, each in [0, 1], summing to at most 1."""
    many = not isinstance(focus_fraction, (str, bytes)) and isinstance(focus_fraction, Iterable)
    values = list(focus_fraction) if many else [focus_fraction]
    if many and not values:
        raise ValueError("focus_fraction = [] gives no share; give one share per lr_focus range, e.g. [0.4, 0.3].")
    shares = tuple(_number("focus_fraction", v, focus_fraction) for v in values)
    if any(not 0.0 <= f <= 1.0 for f in shares):
        raise ValueError(f"focus_fraction must be in [0, 1] (the share of episodes drawn from lr_focus), got {focus_fraction!r}.")
    if sum(shares) > 1.0 + 1e-9:
        raise ValueError(f"focus_fraction {list(shares)} sums to {sum(shares):g} > 1; the shares of the lr_focus ranges "
                         "must leave a non-negative share to lr.")
    return shares


def _focus_ranges(lr_focus: Any, fractions: Tuple[float, ...]) -> Tuple[Tuple[float, float], ...]:
    """``lr_focus`` as one ``(min, max)`` per share in ``fractions`` (none needed when every share is 0)."""
    if not any(fractions):
        return tuple((0.0, 0.0) for _ in fractions)
    is_seq = lambda v: not isinstance(v, (str, bytes)) and isinstance(v, Iterable)  # noqa: E731
    items = list(lr_focus) if is_seq(lr_focus) else []
    ranges = items if items and all(is_seq(v) for v in items) else [lr_focus]  # one [min, max] pair or a list of them
    if len(ranges) != len(fractions) or any(not is_seq(r) or len(list(r)) != 2 for r in ranges):
        example = "[3e-4, 3e-3]" if len(fractions) == 1 else "[[3e-4, 3e-3], [3e-3, 3e-2]]"
        raise ValueError(f"focus_fraction={list(fractions) if len(fractions) > 1 else fractions[0]} needs lr_focus with one "
                         f"[min, max] pair per share, such as {example}; got {lr_focus!r}.")
    return tuple(_parse("lr_focus", r, allow_zero=False) for r in ranges)


class InitialConditionsGenerator:
    """Samples initial conditions log-uniformly (paper, appendix A).

    Args:
        lr: initial learning rate; a ``[min, max]`` pair samples log-uniformly, a number is
            fixed (evaluation). 0 is allowed as a fixed value (the warm-up study).
        weight_decay: the same for the weight decay.
        lr_focus, focus_fraction: a share ``focus_fraction`` of the episodes draws its initial
            LR log-uniformly from the ``[min, max]`` pair ``lr_focus`` instead (for instance the
            LRs users start with, [3e-4, 3e-3]); the rest from ``lr``. Several ranges take a
            list of pairs and a list of shares, one per range, summing to at most 1 (for
            instance ``[[3e-4, 3e-3], [3e-3, 3e-2]]`` with ``[0.4, 0.3]``). Default: none.

    Training default: lr in [1e-5, 1e-2], weight decay in [1e-5, 1e-1].
    """

    def __init__(self, lr: Range = (1e-5, 1e-2), weight_decay: Range = (1e-5, 1e-1),
                 lr_focus: Union[Range, Sequence[Range]] = (), focus_fraction: Union[float, Sequence[float]] = 0.0):
        self.lr_range = _parse("lr", lr, allow_zero=True)
        self.wd_range = _parse("weight_decay", weight_decay, allow_zero=True)
        fractions = _fractions(focus_fraction)
        ranges = _focus_ranges(lr_focus, fractions)
        self.focus = tuple((r, f) for r, f in zip(ranges, fractions) if f > 0)  # ((min, max), share) per range

    @property
    def focus_fraction(self) -> float:
        """The share of episodes drawn from any focus range."""
        return float(sum(f for _, f in self.focus))

    @staticmethod
    def _sample(key: chex.PRNGKey, lo: float, hi: float) -> chex.Array:
        if lo == hi:
            return jnp.asarray(lo, jnp.float32)
        u = jax.random.uniform(key, (), minval=jnp.log(lo), maxval=jnp.log(hi))
        return jnp.exp(u).astype(jnp.float32)

    def __call__(self, key: chex.PRNGKey) -> InitialConditions:
        k_lr, k_wd = jax.random.split(key)
        lr = self._sample(k_lr, *self.lr_range)
        if self.focus:  # keys of their own: without a focus, draws are unchanged
            k_pick, k_focus = jax.random.split(jax.random.fold_in(k_lr, 1))
            u, start = jax.random.uniform(k_pick), 0.0
            for i, ((lo, hi), share) in enumerate(self.focus):  # range i takes u in [start, start + share)
                key = k_focus if i == 0 else jax.random.fold_in(k_focus, i)
                lr = jnp.where((u >= start) & (u < start + share), self._sample(key, lo, hi), lr)
                start += share
        return InitialConditions(lr, self._sample(k_wd, *self.wd_range))

    def __repr__(self) -> str:
        focus = ""
        if len(self.focus) == 1:
            focus = f", lr_focus={self.focus[0][0]}, focus_fraction={self.focus[0][1]}"
        elif self.focus:
            focus = f", lr_focus={[r for r, _ in self.focus]}, focus_fraction={[f for _, f in self.focus]}"
        return f"InitialConditionsGenerator(lr={self.lr_range}, weight_decay={self.wd_range}{focus})"
