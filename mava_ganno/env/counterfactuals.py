"""Counterfactuals, injected into the environment beside the reward function.

A difference reward compares what the agents did with what would have happened otherwise: a
*counterfactual branch* trained on the same minibatches beside the actual one. The environment
trains that branch when it is given a ``Counterfactual`` and never asks which one it holds:

- ``start(ctx)`` -> (the branch's start, its (L,) layer LRs for the next tau steps); a start of
  None means "from the actual branch's current parameters" (shared, not copied);
- ``init(train_state, val_accuracy, val_loss)`` -> what the counterfactual carries across steps
  in ``State.reference`` (None when nothing: a one-step counterfactual);
- ``finish(reference, branch_states, val_accuracy, val_loss, diverged)`` -> the carried value
  for the next step and the branch's (hold-out accuracy, hold-out loss, diverged) as the reward
  sees them.

Two ship with mava_ganno: ``NoopStep`` (the paper's: every LR left unchanged for the next tau
steps, from the current parameters) and ``ReferenceEpisode`` (a whole reference run from the
same initialisation with a fixed handcrafted schedule, ``constant``, ``cosine``, ``linear``,
``warmup_cosine``, ``onecycle`` or ``wsd``, its LR held for each env step's tau SGD steps). The reward function
(``mava_ganno.env.rewards``) maps the outcome, both branches included, to a reward.
"""

from __future__ import annotations

import abc
from typing import Any, NamedTuple, Optional, Tuple

import chex
import jax
import jax.numpy as jnp

from mava_ganno.backend.schedules import REFERENCE_HOLDS, held_schedule_lr, step_schedule_lrs
from mava_ganno.env.stats import LOSS_CAP
from mava_ganno.env.types import Reference, State

REFERENCE_SCHEDULES = ("constant", "cosine", "linear", "warmup_cosine", "onecycle", "wsd")


class BranchContext(NamedTuple):
    """What a counterfactual may use to choose its branch for the next tau steps."""

    state: State  # the environment state before the step
    # (L,) the layer LRs the agents' actions give the actual branch; (tau, L), one row per SGD
    # step, with lr_decay="cosine_step"
    actual_lrs: chex.Array
    unchanged_lrs: chex.Array  # the layer LRs before the actions (the no-op's), same shape
    num_layers: int
    time_limit: int  # env steps per episode
    tau: int = 1  # SGD steps per env step


class Counterfactual(abc.ABC):
    """The counterfactual branch of a difference reward (see the module docstring)."""

    def init(self, train_state: Any, val_accuracy: chex.Array, val_loss: chex.Array) -> Optional[Reference]:
        """What is carried across steps (``State.reference``), at reset."""
        del train_state, val_accuracy, val_loss
        return None

    @abc.abstractmethod
    def start(self, ctx: BranchContext) -> Tuple[Optional[Any], chex.Array]:
        """(train state to start from, or None for the actual's; (L,) layer LRs)."""

    def finish(self, reference: Optional[Reference], branch_states: Any, val_accuracy: chex.Array, val_loss: chex.Array,
               diverged: chex.Array) -> Tuple[Optional[Reference], chex.Array, chex.Array, chex.Array]:  # fmt: skip
        """After the tau steps: (carried value, hold-out accuracy, hold-out loss, diverged) of the
        branch; ``branch_states`` are the two branches' train states stacked (actual,
        counterfactual)."""
        del branch_states
        return reference, val_accuracy, val_loss, diverged

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class NoopStep(Counterfactual):
    """The paper's: from the current parameters, every learning rate left unchanged."""

    def start(self, ctx: BranchContext) -> Tuple[None, chex.Array]:
        return None, ctx.unchanged_lrs


class ReferenceEpisode(Counterfactual):
    """A reference run stepped beside the episode from the same initialisation, on the same
    minibatches, with every layer at a fixed schedule's LR: ``constant`` (the initial LR), or a
    handcrafted schedule of ``backend.schedules`` from it over the episode (``cosine``: a cosine
    decay to 0; for the warm-up schedules the initial LR is the peak), held for each env step's
    tau SGD steps at its value at the env step's first SGD step (``hold="first"``) or at its mean
    over them (``hold="mean"``; ``backend.schedules.held_schedule_lr``), or at every SGD step
    (``hold="step"``: the benchmark's per-step schedule, ``step_schedule_lrs``). Once it diverges it
    keeps its last finite parameters and counts as accuracy 0, loss ``LOSS_CAP``."""

    def __init__(self, schedule: str = "constant", hold: str = "first"):
        if schedule not in REFERENCE_SCHEDULES:
            raise ValueError(f"reference schedule {schedule!r} is not known; use one of {', '.join(REFERENCE_SCHEDULES)}.")
        if hold not in REFERENCE_HOLDS:
            raise ValueError(f"reference hold {hold!r} is not known; use one of {', '.join(REFERENCE_HOLDS)}.")
        self.schedule, self.hold = schedule, hold

    def lr(self, initial_lr: chex.Array, step_count: chex.Array, time_limit: int, tau: int = 1) -> chex.Array:
        """The reference run's LR for the tau steps after env step ``step_count``: () held, or
        (tau,) one per SGD step with ``hold="step"``."""
        lr0 = jnp.asarray(initial_lr, jnp.float32)
        if self.hold == "step":
            return jnp.asarray(step_schedule_lrs(self.schedule, lr0, step_count, time_limit, tau), jnp.float32)
        return jnp.asarray(held_schedule_lr(self.schedule, lr0, step_count, time_limit, self.hold, tau), jnp.float32)

    def init(self, train_state: Any, val_accuracy: chex.Array, val_loss: chex.Array) -> Reference:
        return Reference(train_state, val_accuracy, val_loss, jnp.asarray(False))

    def start(self, ctx: BranchContext) -> Tuple[Any, chex.Array]:
        s = ctx.state
        lr = self.lr(s.global_stats.initial_lr, s.step_count, ctx.time_limit, ctx.tau)
        return s.reference.train_state, jnp.broadcast_to(lr[..., None], lr.shape + (ctx.num_layers,)).astype(jnp.float32)

    def finish(self, reference, branch_states, val_accuracy, val_loss, diverged):
        ref_ts = jax.tree_util.tree_map(lambda new, old: jnp.where(diverged, old, new[1]), branch_states, reference.train_state)
        diverged = reference.diverged | diverged
        val_accuracy = jnp.where(diverged, 0.0, val_accuracy)
        val_loss = jnp.where(diverged, LOSS_CAP, val_loss)
        return Reference(ref_ts, val_accuracy, val_loss, diverged), val_accuracy, val_loss, diverged

    def __repr__(self) -> str:
        return f"ReferenceEpisode({self.schedule!r}, hold={self.hold!r})"


__all__ = ["BranchContext", "Counterfactual", "NoopStep", "ReferenceEpisode", "REFERENCE_SCHEDULES"]
