"""Handcrafted learning-rate schedules as pure ``count -> value`` functions, built by optax.

The table of schedules and their optax constructions is in ``mava_ganno.evaluation.baselines``,
which runs them as benchmark baselines; the environment's reference episodes and the evaluation's
schedules held per decision (``held_schedule_lr``) use the same functions, so there is one
definition of each schedule.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

import chex
import jax
import jax.numpy as jnp
import optax

Schedule = Callable[[chex.Numeric], chex.Numeric]


def optax_name(name: str) -> Any:
    """``optax.<name>`` (``contrib.x`` for ``optax.contrib.x``), or a clear error."""
    obj: Any = optax
    try:
        if name.startswith("contrib."):
            import optax.contrib as contrib

            obj, name_ = contrib, name[len("contrib.") :]
        else:
            name_ = name
        return getattr(obj, name_)
    except (ImportError, AttributeError):
        raise RuntimeError(
            f"optax {optax.__version__} has no optax.{name}, which mava_ganno's schedules and "
            "baselines need; install optax>=0.2.3 (Mava's pinned version has it): pip install -U 'optax>=0.2.3'."
        ) from None


def _sgdr_unit(total_steps: int) -> Schedule:
    # T_0 = T/7 with T_mult = 2: three restarts that exactly fill the budget.
    first = max(1, total_steps // 7)
    lengths = [first, 2 * first, max(1, total_steps - 3 * first)]
    return optax_name("sgdr_schedule")(
        [
            dict(init_value=1.0, peak_value=1.0, warmup_steps=0, decay_steps=n, end_value=0.0)
            for n in lengths
        ]
    )


def _wsd_unit(total_steps: int) -> Schedule:
    # warm-up over T/20 steps, stable, linear decay to 0 over the last T/5 steps
    warm = max(1, total_steps // 20)
    decay = max(1, total_steps // 5)
    stable = max(0, total_steps - warm - decay)
    return optax_name("join_schedules")(
        [
            optax_name("linear_schedule")(0.0, 1.0, warm),
            optax_name("constant_schedule")(1.0),
            optax_name("linear_schedule")(1.0, 0.0, decay),
        ],
        [warm, warm + stable],
    )


UNIT_SCHEDULES: Dict[str, Callable[[int], Schedule]] = {
    "constant": lambda T: optax_name("constant_schedule")(1.0),
    "linear": lambda T: optax_name("linear_schedule")(1.0, 0.0, T),
    "quadratic": lambda T: optax_name("polynomial_schedule")(1.0, 0.0, 2, T),
    "cosine": lambda T: optax_name("cosine_decay_schedule")(1.0, T),
    "exponential": lambda T: optax_name("exponential_decay")(1.0, T, 0.01),
    "piecewise": lambda T: optax_name("piecewise_constant_schedule")(
        1.0, {T // 2: 0.1, (3 * T) // 4: 0.1}
    ),
    "sgdr": _sgdr_unit,
    "warmup_cosine": lambda T: optax_name("warmup_cosine_decay_schedule")(
        0.0, 1.0, max(1, T // 10), T, 0.0
    ),
    "onecycle": lambda T: optax_name("cosine_onecycle_schedule")(T, 1.0),
    "wsd": lambda T: _wsd_unit(T),
}
SCHEDULE_NAMES: Tuple[str, ...] = tuple(UNIT_SCHEDULES)


def make_schedule(name: str, lr: chex.Numeric, total_steps: int) -> Schedule:
    """The schedule ``name`` for a run of ``total_steps`` SGD steps with grid LR ``lr``.

    ``lr`` may be traced (vmapped over); ``total_steps`` must be a Python int.
    """
    if name not in UNIT_SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {list(SCHEDULE_NAMES)}.")
    if not isinstance(total_steps, int) or total_steps <= 0:
        raise ValueError(f"total_steps must be a positive int, got {total_steps!r}.")
    unit = UNIT_SCHEDULES[name](total_steps)

    def schedule(count: chex.Numeric) -> chex.Numeric:
        count = jnp.asarray(count)
        if count.ndim:  # optax 0.2.3 (Mava's pin): piecewise/one-cycle take scalar counts only
            return lr * jax.vmap(unit)(count.reshape(-1)).reshape(count.shape)
        return lr * unit(count)

    return schedule


HOLDS = ("first", "mean")


def _check_steps_per_env_step(tau: object) -> None:
    if not isinstance(tau, int) or tau < 1:
        raise ValueError(f"tau={tau!r}: give the SGD steps per env step, an int >= 1.")


def held_schedule_lr(name: str, lr0: chex.Numeric, t: chex.Numeric, num_steps: int, hold: str = "first",
                     tau: int = 1) -> chex.Array:
    """The LR of schedule ``name`` (peak or initial LR ``lr0``) for env step ``t`` of ``num_steps``,
    held for the env step's ``tau`` SGD steps. ``hold="first"``: the schedule over ``num_steps``
    env steps at ``t``, its value at the env step's first SGD step (cosine:
    ``lr0 * (1 + cos(pi t / T)) / 2``); ``hold="mean"``: the mean over the env step's ``tau`` SGD
    steps of the schedule over ``num_steps * tau`` SGD steps (a warm-up shorter than one env step
    is then averaged in, not a whole env step at LR 0)."""
    if hold not in HOLDS:
        raise ValueError(f"hold={hold!r}: choose one of {list(HOLDS)}.")
    _check_steps_per_env_step(tau)
    if hold == "first":
        return make_schedule(name, lr0, num_steps)(t)
    return lr0 * jnp.mean(step_schedule_lrs(name, 1.0, t, num_steps, tau))


# How a reference run follows its schedule within an env step: held (``HOLDS``), or at every
# SGD step (``step``: ``step_schedule_lrs``, the benchmark's per-step schedule).
REFERENCE_HOLDS = HOLDS + ("step",)


def step_schedule_lrs(name: str, lr0: chex.Numeric, t: chex.Numeric, num_steps: int, tau: int) -> chex.Array:
    """(tau,) the LRs of schedule ``name`` (peak or initial LR ``lr0``) at the ``tau`` SGD steps of
    env step ``t`` of ``num_steps``: the schedule over ``num_steps * tau`` SGD steps at SGD steps
    ``t * tau ... t * tau + tau - 1``, exactly what an optax schedule gives a per-step run."""
    _check_steps_per_env_step(tau)
    steps = jnp.asarray(t) * tau + jnp.arange(tau)
    return lr0 * make_schedule(name, 1.0, num_steps * tau)(steps)


__all__ = [
    "HOLDS",
    "REFERENCE_HOLDS",
    "SCHEDULE_NAMES",
    "Schedule",
    "UNIT_SCHEDULES",
    "held_schedule_lr",
    "make_schedule",
    "optax_name",
    "step_schedule_lrs",
]
