"""The action table: what each of a layer agent's discrete actions does to its learning rate.

Each action is an operation on the current learning rate, written as a string
``"<op><value>"`` with op one of ``+ - * /`` (paper, appendix A)::

    +0, *1.01, *1.1, /1.01, /1.1, +0.0005, -0.0005, +0.001, -0.001

(the ``paper`` preset; ``rich`` adds ``*2, /2, +0.005, -0.005``: ``ACTION_TABLES``).

Every action is stored as an affine map ``lr -> lr * multiplier + offset`` and the result is
clipped to ``[0, lr_max]``. Additive actions make the learning rate 0 both reachable and
escapable. The no-op (``+0``, ``*1``, ...) is the counterfactual action of the difference reward.
A factor or addend that is not finite in float32 (``*1e400``, ``+1e39``) or a factor that
rounds to 0 is refused when the table is parsed.

A decaying base (``lr_decay="cosine"``, ``LR_DECAYS``): before the action applies, every LR is
multiplied by the ratio of a cosine decay between this decision and the previous one
(``decay_ratio``), so the no-op follows a cosine decay to 0 over the episode from wherever the
LR is, and the actions steer around it: annealing is the default, not something the policy
must spell out one action at a time. ``"cosine_step"``: the same, and within each decision the LR
follows the decay at every SGD step (``within_decision_scale``), so the no-op is exactly a
per-step cosine schedule instead of a staircase. ``"wsd"`` and ``"wsd_step"``: the same with the
stable and decay phases of WSD instead of the cosine (``wsd_factor``: the LR is held for the first
four fifths of the episode, then decays linearly to 0), so the no-op holds its LR and anneals at
the end, as the benchmark's WSD does after its warm-up. ``"none"`` (default): the LR stays where
the action puts it.

Out-of-range actions (an index outside ``0..A-1``, e.g. ``A``, ``100`` or ``-1``): ``apply`` on
a concrete action array (outside ``jit``) raises a ``ValueError`` naming the index; on a
traced one (inside ``jit``, where nothing can raise) the action keeps the learning rate,
exactly as the no-op ``+0`` does, and ``valid`` tells which actions were in range. An
out-of-range index is never mapped to another action of the table.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np

DEFAULT_ACTION_TABLE: Tuple[str, ...] = (
    "+0",
    "*1.01",
    "*1.1",
    "/1.01",
    "/1.1",
    "+0.0005",
    "-0.0005",
    "+0.001",
    "-0.001",
)

# A richer table: the paper's nine actions (same indices) plus doubling, halving and
# larger steps of 0.005, so that a warm-up from LR 0 to 1e-2 takes 2 decisions instead of 10.
RICH_ACTION_TABLE: Tuple[str, ...] = DEFAULT_ACTION_TABLE + ("*2", "/2", "+0.005", "-0.005")

ACTION_TABLES = {"paper": DEFAULT_ACTION_TABLE, "rich": RICH_ACTION_TABLE}


def resolve_action_table(spec: Any) -> Tuple[str, ...]:
    """The entries of an action table given as a preset name (``ACTION_TABLES``: ``paper``,
    ``rich``) or as a list of action strings."""
    if isinstance(spec, str):
        if spec not in ACTION_TABLES:
            raise ValueError(
                f"unknown action table {spec!r}: give a preset ({', '.join(repr(k) for k in ACTION_TABLES)}) or a "
                "list of actions, e.g. ['+0', '*1.1', '/1.1']."
            )
        return ACTION_TABLES[spec]
    return tuple(spec)


_ACTION_RE = re.compile(r"^\s*([+\-*/x])\s*([0-9]*\.?[0-9]+(?:[eE][+\-]?[0-9]+)?)\s*$")


def parse_action(entry: str, index: int = 0) -> Tuple[float, float]:
    """Parses ``"*1.1"`` into ``(multiplier, offset) = (1.1, 0.0)``."""
    if not isinstance(entry, str):
        raise ValueError(
            f"action table entry {index} ({entry!r}) must be a string like '*1.1' or '+0.0005'."
        )
    m = _ACTION_RE.match(entry)
    if m is None:
        raise ValueError(
            f"action table entry {index} ({entry!r}) is malformed: expected an operator among "
            "'+', '-', '*', '/' followed by a non-negative number, e.g. '*1.1' or '-0.001'."
        )
    op, value = m.group(1), float(m.group(2))
    if op in "*x/" and value == 0.0:
        raise ValueError(
            f"action table entry {index} ({entry!r}) would {'divide' if op == '/' else 'multiply'} "
            "the learning rate by 0; use '-<value>' to lower it or '+0' for a no-op."
        )
    if op in "+-":
        mult, off = 1.0, (value if op == "+" else -value)
    else:
        mult, off = (value if op in "*x" else 1.0 / value), 0.0
    with np.errstate(over="ignore", under="ignore"):
        m32, o32 = np.float32(mult), np.float32(off)
    if not (np.isfinite(m32) and np.isfinite(o32)):
        raise ValueError(
            f"action table entry {index} ({entry!r}) is not a finite float32 number (|value| must be "
            f"below {float(np.finfo(np.float32).max):.3g}); use a factor like '*1.1' or an addend like '+0.0005'."
        )
    if op in "*x/" and m32 == 0.0:
        raise ValueError(
            f"action table entry {index} ({entry!r}) makes a factor that rounds to 0 in float32; "
            "use '-<value>' to lower the learning rate or '+0' for a no-op."
        )
    return mult, off


@dataclasses.dataclass(frozen=True)
class ActionTable:
    """A parsed action table. ``apply`` is jittable and works on any batch shape."""

    entries: Tuple[str, ...]
    multipliers: np.ndarray
    offsets: np.ndarray

    @classmethod
    def from_strings(cls, entries: Sequence[str] = DEFAULT_ACTION_TABLE) -> "ActionTable":
        """From action strings, or a preset name (``ACTION_TABLES``)."""
        if isinstance(entries, str):
            entries = resolve_action_table(entries)
        if len(entries) == 0:
            raise ValueError(
                f"the action table must be a non-empty list of strings, got {entries!r}."
            )
        parsed = [parse_action(e, i) for i, e in enumerate(entries)]
        mult = np.asarray([p[0] for p in parsed], np.float32)
        off = np.asarray([p[1] for p in parsed], np.float32)
        return cls(tuple(entries), mult, off)

    @property
    def num_actions(self) -> int:
        return len(self.entries)

    @property
    def noop_index(self) -> int:
        """Index of the first action that leaves the learning rate unchanged."""
        idx = np.flatnonzero((self.multipliers == 1.0) & (self.offsets == 0.0))
        if idx.size == 0:
            raise ValueError(
                f"the action table {list(self.entries)} has no no-op ('+0'); the difference "
                "reward needs one as its counterfactual action."
            )
        return int(idx[0])

    @property
    def initial_previous_action(self) -> int:
        """The "previous action" observed at reset: the no-op, or action 0 if there is none."""
        idx = np.flatnonzero((self.multipliers == 1.0) & (self.offsets == 0.0))
        return int(idx[0]) if idx.size else 0

    def valid(self, action: jnp.ndarray) -> jnp.ndarray:
        """Which actions index the table (``0 <= a < num_actions``); jittable."""
        action = jnp.asarray(action)
        return (action >= 0) & (action < self.num_actions)

    def check_actions(self, action: Any) -> None:
        """A ``ValueError`` naming the first out-of-range action, if ``action`` is concrete
        (outside ``jit``); traced actions are not checked (see ``apply``)."""
        if isinstance(action, jax.core.Tracer):
            return
        a = np.asarray(action)
        bad = np.flatnonzero((a < 0) | (a >= self.num_actions))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"action {int(a.reshape(-1)[i])} (at position {i} of {a.reshape(-1).tolist()}) is out of range: "
                f"the action table has {self.num_actions} actions, indices 0..{self.num_actions - 1} "
                f"({list(self.entries)})."
            )

    def apply(self, lr: jnp.ndarray, action: jnp.ndarray, lr_max: float) -> jnp.ndarray:
        """New learning rates ``clip(lr * m[a] + o[a], 0, lr_max)``.

        An out-of-range action raises (concrete ``action``) or keeps the LR like the no-op
        ``+0`` (traced ``action``, inside ``jit``); see the module docstring."""
        self.check_actions(action)
        valid = self.valid(action)
        mult = jnp.where(valid, jnp.asarray(self.multipliers)[action], jnp.float32(1.0))
        off = jnp.where(valid, jnp.asarray(self.offsets)[action], jnp.float32(0.0))
        return jnp.clip(lr * mult + off, 0.0, lr_max)


# What happens to every LR between two decisions before the action applies: nothing, or a step
# of a decay to 0 over the episode (``decay_ratio``): a cosine, or WSD's stable and decay phases;
# the ``_step`` forms also follow that decay within each decision, at every SGD step
# (``within_decision_scale``).
LR_DECAYS = ("none", "cosine", "cosine_step", "wsd", "wsd_step")

# WSD's decay phase: the last fifth of the run, as the benchmark's ``wsd`` schedule
# (``mava_ganno.backend.schedules``).
WSD_DECAY_FRACTION = 0.2


def check_lr_decay(lr_decay: Any) -> str:
    """``lr_decay`` if it is one of ``LR_DECAYS``, else a ValueError naming it."""
    if lr_decay not in LR_DECAYS:
        raise ValueError(f"lr_decay={lr_decay!r} is not known; use one of {', '.join(repr(d) for d in LR_DECAYS)}.")
    return str(lr_decay)


def cosine_factor(t: Any, time_limit: Any) -> jnp.ndarray:
    """``(1 + cos(pi t / T)) / 2`` for ``t`` clipped to ``[0, T]``: optax's cosine decay of 1."""
    t = jnp.clip(jnp.asarray(t, jnp.float32), 0.0, time_limit)
    return 0.5 * (1.0 + jnp.cos(jnp.pi * t / time_limit))


def wsd_factor(t: Any, time_limit: Any) -> jnp.ndarray:
    """1 until ``(1 - WSD_DECAY_FRACTION) T``, then linear to 0 at ``T`` (``t`` clipped to
    ``[0, T]``): the stable and decay phases of the benchmark's WSD schedule of peak 1."""
    t = jnp.clip(jnp.asarray(t, jnp.float32), 0.0, time_limit)
    return jnp.clip((time_limit - t) / (WSD_DECAY_FRACTION * time_limit), 0.0, 1.0)


_DECAY_FACTORS = {"cosine": cosine_factor, "wsd": wsd_factor}


def decay_factor(lr_decay: str, t: Any, time_limit: Any) -> jnp.ndarray:
    """The decay of ``lr_decay`` at (fractional) decision ``t``: the LR the no-op reaches from 1
    (``cosine_factor``, ``wsd_factor``; 1 for ``"none"``)."""
    if check_lr_decay(lr_decay) == "none":
        return jnp.ones_like(jnp.asarray(t, jnp.float32))
    return _DECAY_FACTORS[lr_decay.removesuffix("_step")](t, time_limit)


def decay_ratio(lr_decay: str, t: Any, time_limit: Any) -> jnp.ndarray:
    """The factor every LR is multiplied by at decision ``t`` before the action applies: 1 for
    ``"none"`` and at ``t = 0``; otherwise ``decay_factor(t) / decay_factor(t - 1)`` (0 past the
    end of the decay), so after ``t`` no-ops from ``lr0`` the LR is ``lr0 * decay_factor(t)``,
    the schedule's value (up to float rounding)."""
    if check_lr_decay(lr_decay) == "none":
        return jnp.float32(1.0)
    t = jnp.asarray(t, jnp.float32)
    now, before = decay_factor(lr_decay, t, time_limit), decay_factor(lr_decay, t - 1, time_limit)  # t = 0: 1 / 1
    return jnp.where(before > 0, now / jnp.where(before > 0, before, 1.0), 0.0)


def moves_within_decision(lr_decay: str) -> bool:
    """Whether ``lr_decay`` changes the LRs between the SGD steps of one decision."""
    return check_lr_decay(lr_decay).endswith("_step")


def within_decision_scale(lr_decay: str, t: Any, tau: int, time_limit: Any) -> Optional[jnp.ndarray]:
    """(tau,) the factors on decision ``t``'s LRs at its ``tau`` SGD steps, or None where the LR is
    held for the whole decision (``"none"``, ``"cosine"``, ``"wsd"``). For the ``_step`` forms
    ``decay_factor(t + s / tau) / decay_factor(t)`` at SGD step ``s``: the LR goes on along the
    decay between decisions, so after ``t`` no-ops from ``lr0`` the LR at SGD step ``t * tau + s``
    is ``lr0 * decay_factor(t + s / tau)`` (for ``cosine_step`` optax's per-step cosine decay over
    ``time_limit * tau`` steps), and the next decision's ``decay_ratio`` starts where it ends."""
    if not moves_within_decision(lr_decay):
        return None
    t = jnp.asarray(t, jnp.float32)
    now = decay_factor(lr_decay, t, time_limit)
    within = decay_factor(lr_decay, t + jnp.arange(tau, dtype=jnp.float32) / tau, time_limit)
    return jnp.where(now > 0, within / jnp.where(now > 0, now, 1.0), 0.0)
