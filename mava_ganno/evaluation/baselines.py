"""Handcrafted learning-rate schedules and the optimisers a practitioner would pick instead.

Every schedule is built by optax; nothing here does schedule maths by hand. Each is a pure
``count -> value`` function of the SGD step count, built for a run of ``total_steps`` steps:

====================  ==========================================================================
name                  optax construction (``T = total_steps``, ``lr`` = the grid LR)
====================  ==========================================================================
``constant``          ``constant_schedule(lr)``
``linear``            ``linear_schedule(lr, 0, T)``
``quadratic``         ``polynomial_schedule(lr, 0, power=2, transition_steps=T)``
``cosine``            ``cosine_decay_schedule(lr, T)``
``exponential``       ``exponential_decay(lr, transition_steps=T, decay_rate=0.01)`` (to lr/100)
``piecewise``         ``piecewise_constant_schedule(lr, {T/2: 0.1, 3T/4: 0.1})``
``sgdr``              ``sgdr_schedule`` with three cosine cycles of T/7, 2T/7, 4T/7 (T_mult = 2)
``warmup_cosine``     ``warmup_cosine_decay_schedule(0, lr, warmup_steps=T/10, decay_steps=T)``
``onecycle``          ``cosine_onecycle_schedule(T, lr)`` (pct_start 0.3, div 25, final div 1e4)
``wsd``               warm-up-stable-decay: ``join_schedules`` of a linear warm-up from 0 over
                      T/20 steps, ``lr`` held, and a linear decay to 0 over the last T/5 steps
====================  ==========================================================================

For the last three the grid LR is the *peak*. Every one of these schedules is linear in its
peak value, so the grid LR can be a traced (vmapped) value: optax builds the schedule at peak
1 and the result is multiplied by ``lr`` (optax 0.2.3, Mava's pinned version, refuses traced
peak values in ``sgdr``/``warmup_cosine``/``onecycle``). ``tests/test_schedules.py`` checks
this equals optax's schedule built with ``lr`` directly, at sample steps.

Optimisers (``make_optimizer``), all with the same decoupled weight decay ``wd`` (but DoG):

- every schedule above drives ``optax.adamw`` (b1 0.9, b2 0.999, eps 1e-8: the same AdamW
  the GANNO environment trains with, so "constant" is exactly GANNO's no-op agent);
- ``lamb_cosine``: ``optax.lamb`` with the cosine decay schedule (takes the grid LR);
- ``lion``: ``optax.lion`` at a constant grid LR;
- ``schedule_free_adamw``: ``optax.contrib.schedule_free_adamw`` at the grid LR with a linear
  warm-up over the first 5% of steps (evaluated at its averaged parameters,
  ``schedule_free_eval_params``);
- ``prodigy``: ``optax.contrib.prodigy`` (learning-rate free: ``learning_rate=1`` is its
  multiplier of the estimated step size; it does **not** take the grid LR);
- ``dog``: ``optax.contrib.dog`` (DoG, "distance over gradients": learning-rate free SGD,
  ``learning_rate=1``; does not take the grid LR) *without* weight decay, its default: optax's
  DoG adds weight decay to the gradient (a coupled L2 term), and with the evaluation's decoupled
  value (0.1) it does not learn (chance accuracy on every benchmark image task);
- ``mechanic``: ``optax.contrib.mechanize`` around AdamW with a cosine decay of peak 1
  (Mechanic learns the scale of the base updates, the LR: learning-rate free, its own
  defaults; does not take the grid LR);
- ``velo``: listed, not runnable here: VeLO's learned weights are downloaded at run time
  (``learned_optimization``), and this machine is offline.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Sequence, Tuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax

from mava_ganno.backend.schedules import SCHEDULE_NAMES, UNIT_SCHEDULES, Schedule, make_schedule, optax_name
from mava_ganno.backend.trainer import SLTrainer, TrainState, reset_keys
from mava_ganno.evaluation.records import MethodInfo

# Names used from optax; all exist in optax 0.2.3 (Mava's pin) and 0.2.8 (checked here at
# import of an optimiser, so an older optax fails with a message, not an AttributeError).
REQUIRED_OPTAX = (
    "adamw",
    "lamb",
    "lion",
    "constant_schedule",
    "linear_schedule",
    "polynomial_schedule",
    "cosine_decay_schedule",
    "exponential_decay",
    "piecewise_constant_schedule",
    "sgdr_schedule",
    "warmup_cosine_decay_schedule",
    "cosine_onecycle_schedule",
    "contrib.prodigy",
    "contrib.dog",
    "contrib.mechanize",
    "join_schedules",
    "contrib.schedule_free_adamw",
    "contrib.schedule_free_eval_params",
)


def check_optax() -> None:
    """Raises a clear error if the installed optax lacks a name the baselines use."""
    for name in REQUIRED_OPTAX:
        optax_name(name)


# ----------------------------------------------------------------------------- optimisers
@dataclasses.dataclass(frozen=True)
class Optimizer:
    """An optax optimiser plus how to read the parameters to evaluate.

    ``eval_params(opt_state, params)`` is the identity except for schedule-free AdamW, whose
    evaluation point is its averaged iterate. ``lr_at(count)`` is the scalar LR at a step
    (for figures; NaN where the method has no single LR, e.g. Prodigy).
    """

    tx: optax.GradientTransformation
    eval_params: Callable[[Any, Any], Any]
    lr_at: Schedule


OPTIMIZER_NAMES: Tuple[str, ...] = ("lamb_cosine", "lion", "schedule_free_adamw", "prodigy", "dog", "mechanic")
LR_FREE: Tuple[str, ...] = ("prodigy", "dog", "mechanic")
UNAVAILABLE: Dict[str, str] = {
    "velo": "VeLO's learned weights are downloaded at run time (learned_optimization); "
    "this machine is offline, so VeLO is not run."
}


def _no_single_lr(count: chex.Numeric) -> chex.Array:
    del count
    return jnp.full((), jnp.nan, jnp.float32)


def _identity_eval(opt_state: Any, params: Any) -> Any:
    del opt_state
    return params


def make_optimizer(
    name: str, lr: chex.Numeric, weight_decay: chex.Numeric, total_steps: int
) -> Optimizer:
    """The baseline optimiser ``name`` (a schedule name or one of ``OPTIMIZER_NAMES``).

    ``lr`` and ``weight_decay`` may be traced. ``lr`` is ignored by the LR-free ``prodigy``.
    """
    if name in UNAVAILABLE:
        raise ValueError(f"{name!r} cannot be run: {UNAVAILABLE[name]}")
    if name in UNIT_SCHEDULES:
        sched = make_schedule(name, lr, total_steps)
        return Optimizer(
            optax_name("adamw")(sched, b1=0.9, b2=0.999, eps=1e-8, weight_decay=weight_decay),
            _identity_eval,
            sched,
        )
    if name == "lamb_cosine":
        sched = make_schedule("cosine", lr, total_steps)
        return Optimizer(
            optax_name("lamb")(sched, weight_decay=weight_decay), _identity_eval, sched
        )
    if name == "lion":
        sched = make_schedule("constant", lr, total_steps)
        return Optimizer(
            optax_name("lion")(sched, weight_decay=weight_decay), _identity_eval, sched
        )
    if name == "schedule_free_adamw":
        # A callable LR (not a float) keeps optax 0.2.3's `learning_rate == 0` check away from
        # traced values; the 5% linear warm-up is optax's, scaled by the grid LR.
        warm = optax_name("linear_schedule")(0.0, 1.0, max(1, total_steps // 20))
        sched = lambda count: lr * warm(count)  # noqa: E731
        tx = optax_name("contrib.schedule_free_adamw")(sched, weight_decay=weight_decay)
        return Optimizer(tx, optax_name("contrib.schedule_free_eval_params"), sched)
    if name == "prodigy":
        tx = optax_name("contrib.prodigy")(learning_rate=1.0, weight_decay=weight_decay)
        return Optimizer(tx, _identity_eval, _no_single_lr)
    if name == "dog":
        del weight_decay  # see the module docstring: its coupled L2 at 0.1 stops it learning
        tx = optax_name("contrib.dog")(learning_rate=1.0)
        return Optimizer(tx, _identity_eval, _no_single_lr)
    if name == "mechanic":
        base = optax_name("adamw")(make_schedule("cosine", 1.0, total_steps), b1=0.9, b2=0.999, eps=1e-8, weight_decay=weight_decay)
        return Optimizer(optax_name("contrib.mechanize")(base), _identity_eval, _no_single_lr)
    raise ValueError(
        f"unknown baseline {name!r}; choose a schedule {list(SCHEDULE_NAMES)} or an optimiser "
        f"{list(OPTIMIZER_NAMES)}."
    )


def make_adamw_schedule_bank(
    names: Tuple[str, ...],
    index: chex.Numeric,
    lr: chex.Numeric,
    weight_decay: chex.Numeric,
    total_steps: int,
) -> Optimizer:
    """AdamW driven by ``names[index]``, with ``index`` possibly traced.

    Lets every AdamW schedule share one compiled, vmapped training function (the runs only
    differ in a scalar LR per step): the schedule value is ``stack([s(count) for s in
    schedules])[index]``, i.e. exactly ``make_optimizer(names[index], ...)``.
    """
    bad = [n for n in names if n not in UNIT_SCHEDULES]
    if bad or not names:
        raise ValueError(f"schedule bank needs names from {list(SCHEDULE_NAMES)}, got {list(names)}.")
    schedules = [make_schedule(n, lr, total_steps) for n in names]

    def sched(count: chex.Numeric) -> chex.Numeric:
        return jnp.stack([jnp.asarray(s(count), jnp.float32) for s in schedules])[index]

    tx = optax_name("adamw")(sched, b1=0.9, b2=0.999, eps=1e-8, weight_decay=weight_decay)
    return Optimizer(tx, _identity_eval, sched)


def takes_lr(name: str) -> bool:
    """Whether baseline ``name`` is run at every grid LR (False: once per weight decay)."""
    return name not in LR_FREE and name not in UNAVAILABLE


__all__ = [
    "SCHEDULE_NAMES",
    "OPTIMIZER_NAMES",
    "LR_FREE",
    "UNAVAILABLE",
    "Optimizer",
    "check_optax",
    "make_schedule",
    "make_optimizer",
    "make_adamw_schedule_bank",
    "make_baselines_runner",
    "takes_lr",
]


BASELINES: Dict[str, MethodInfo] = {
    "constant": MethodInfo("Constant", "handcrafted"),
    "linear": MethodInfo("Linear decay", "handcrafted"),
    "quadratic": MethodInfo("Quadratic decay", "handcrafted"),
    "cosine": MethodInfo("Cosine decay", "handcrafted"),
    "exponential": MethodInfo("Exponential decay", "handcrafted"),
    "piecewise": MethodInfo("Piecewise constant", "handcrafted"),
    "sgdr": MethodInfo("SGDR", "handcrafted"),
    "warmup_cosine": MethodInfo("Linear warm-up, cosine decay", "warmup", note="grid LR = peak"),
    "onecycle": MethodInfo("Cosine one-cycle", "warmup", note="grid LR = peak"),
    "wsd": MethodInfo("Warm-up-stable-decay (WSD)", "warmup", note="grid LR = peak"),
    "lamb_cosine": MethodInfo("LAMB w/ cosine decay", "optimizer"),
    "lion": MethodInfo("Lion", "optimizer"),
    "schedule_free_adamw": MethodInfo("Schedule-free AdamW", "optimizer"),
    "prodigy": MethodInfo("Prodigy", "optimizer", takes_lr=False, note="learning-rate free"),
    "dog": MethodInfo("DoG", "optimizer", takes_lr=False, note="learning-rate free"),
    "mechanic": MethodInfo("Mechanic (AdamW, cosine)", "optimizer", takes_lr=False, note="learning-rate free"),
    "velo": MethodInfo("VeLO", "optimizer", takes_lr=False, note=UNAVAILABLE["velo"]),
}


# ``ganno evaluate``'s "all": the paper's methods and the optimisers it has always compared with;
# the newer baselines (WSD, DoG, Mechanic) are named explicitly (``ganno bench`` runs them).
NEWER_METHODS: Tuple[str, ...] = ("wsd", "dog", "mechanic")
DEFAULT_METHODS: Tuple[str, ...] = tuple(m for m in BASELINES if m not in NEWER_METHODS)


assert set(SCHEDULE_NAMES) | set(OPTIMIZER_NAMES) | set(UNAVAILABLE) == set(BASELINES)


assert all(not BASELINES[n].takes_lr for n in LR_FREE)


def _select(pred: chex.Array, on_true: Any, on_false: Any) -> Any:
    return jax.tree_util.tree_map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


def make_baseline_run(trainer: SLTrainer, family: Any, num_chunks: int, chance: float) -> Callable:
    """``run(seed_key, lr, wd, index) -> dict`` training the network with an optax baseline.

    ``family`` is a baseline name, or a tuple of AdamW schedule names (then ``index`` picks
    one, so they all share one compiled function). Same keys as ``Ganno.reset``/``step``: the
    same init and the same ``SLTrainer.minibatch_plan``, so identical minibatches to a GANNO run
    with the same seed key.
    """
    tau = trainer.tau
    total = tau * num_chunks
    dead_loss = float(-np.log(chance))  # a diverged run's hold-out loss: a uniform prediction

    def run(seed_key, lr, wd, index):
        if isinstance(family, tuple):
            opt = make_adamw_schedule_bank(family, index, lr, wd, total)
        else:
            opt = make_optimizer(family, lr, wd, total)
        key, _, k_init, k_measure = reset_keys(seed_key)
        plan = trainer.minibatch_plan(key, num_chunks)
        ts0 = trainer.init(k_init)
        _, loss0, _ = trainer.measure(ts0, wd, k_measure)
        params, bs = ts0.params, ts0.batch_stats
        opt_state = opt.tx.init(params)

        def evaluate(params, bs, opt_state):
            ts = TrainState(opt.eval_params(opt_state, params), bs, None)
            return trainer.evaluate(ts, "val"), trainer.evaluate(ts, "test")

        (vloss0, vacc0), (tloss0, tacc0) = evaluate(params, bs, opt_state)

        def chunk(carry, xs):
            c, indices = xs
            params, bs, opt_state, dead = carry
            trained, losses, _ = trainer.train_with(opt.tx, TrainState(params, bs, opt_state), indices)
            p2, bs2, o2 = trained
            loss = jnp.mean(losses)
            (vloss, vacc), (tloss, tacc) = evaluate(p2, bs2, o2)
            now_dead = dead | ~(jnp.isfinite(loss) & jnp.isfinite(vloss))
            p2, bs2, o2 = _select(now_dead, (params, bs, opt_state), (p2, bs2, o2))
            rec = dict(
                train_loss=jnp.where(now_dead, jnp.inf, loss),
                val_accuracy=jnp.where(now_dead, chance, vacc),
                test_accuracy=jnp.where(now_dead, chance, tacc),
                val_loss=jnp.where(now_dead, dead_loss, vloss),
                test_loss=jnp.where(now_dead, dead_loss, jnp.nan_to_num(tloss, nan=dead_loss, posinf=dead_loss)),
                lrs=jnp.where(dead, jnp.nan, opt.lr_at(c * tau)).reshape(1).astype(jnp.float32),
            )
            return (p2, bs2, o2, now_dead), rec

        init = (params, bs, opt_state, jnp.asarray(False))
        (_, _, _, dead), rec = jax.lax.scan(chunk, init, (jnp.arange(num_chunks), plan.train))
        first = lambda v, k: jnp.concatenate([jnp.reshape(v, (1,)), rec[k]])  # noqa: E731
        return dict(
            train_loss=first(jnp.nan_to_num(loss0, nan=jnp.inf), "train_loss"),
            val_accuracy=first(vacc0, "val_accuracy"),
            test_accuracy=first(tacc0, "test_accuracy"),
            val_loss=first(vloss0, "val_loss"),
            test_loss=first(tloss0, "test_loss"),
            lrs=rec["lrs"],
            diverged=dead,
        )

    return run


def make_baselines_runner(trainer: SLTrainer, families: Sequence[Any], num_chunks: int, chance: float) -> Callable:
    """``baseline_runner(family, seed_key, lr, wd, index) -> dict``: every baseline family of an
    evaluation in one function, so it compiles once.

    ``families`` are ``make_baseline_run`` families (the AdamW schedule bank, a tuple, and
    optimiser names); ``family`` (an int32 scalar) picks one with ``lax.switch`` over whole
    runs (every branch is a complete scanned run with the same outputs). Pass ``family``
    unbatched (``vmap(in_axes=None)``): then the switch stays a real conditional under
    ``vmap`` and a call only runs its own family's branch; ``index`` (batched) still picks the
    schedule inside the bank.
    """
    branches = [make_baseline_run(trainer, f, num_chunks, chance) for f in families]
    if not branches:
        raise ValueError("make_baselines_runner needs at least one family.")

    def baseline_runner(family, seed_key, lr, wd, index):
        return jax.lax.switch(family, branches, seed_key, lr, wd, index)

    return baseline_runner
