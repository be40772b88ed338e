"""Reward functions, injected into the environment (as Jumanji injects a ``RewardFn``).

The reward is shared: every agent receives the same value, shape (num_agents,).

- ``HoldOutAccuracy`` (evaluation): r = val_acc after the tau steps.
- ``DifferenceReward`` (training default, the paper's): a counterfactual copy of the network
  trains the same tau steps on the same minibatches with every learning rate left unchanged
  (the no-op joint action), and r = val_acc(actual) - val_acc(counterfactual). When the chosen
  actions leave every learning rate unchanged the counterfactual *is* the actual branch and r
  is exactly 0. A diverged counterfactual counts as accuracy 0. ``loss_weight`` > 0 adds a
  continuous term, ``loss_weight * (val_loss(counterfactual) - val_loss(actual))``, against
  the quantisation of accuracy on a small hold-out split.
- ``EpisodeDifferenceReward`` (an option): the counterfactual is a whole *reference episode*
  (``counterfactuals.ReferenceEpisode``) started from the same initialisation and trained on
  the same minibatches with a reference schedule whatever the agents do. The reward is the
  change of the gap
  ``gap_t = val_acc_t - reference_val_acc_t`` (plus ``loss_weight`` times the loss gap), so
  the undiscounted return of an episode is its final hold-out accuracy minus the reference's:
  what evaluation measures, not the next tau steps. The reference does not depend on the
  actions, so it is a baseline: it leaves the expected policy gradient unchanged and removes
  the noise the minibatches and the task add to the final accuracy.
- Divergence, for all: if the actual branch's loss became NaN/inf the episode terminates and
  r = ``divergence_reward`` (default -1, below any difference of accuracies); for the episode
  reward the step's reward also takes back the gap collected so far, so the episode's return
  is ``divergence_reward``.

What the counterfactual branch is, is not the reward's business: the environment is given a
``mava_ganno.env.counterfactuals.Counterfactual`` beside the reward function (a reward that
compares with one says so with ``needs_counterfactual``); ``make_reward`` builds the pair from
config values.
"""

from __future__ import annotations

import abc
import math
from typing import NamedTuple, Optional, Tuple

import chex
import jax.numpy as jnp

from mava_ganno.backend.schedules import REFERENCE_HOLDS
from mava_ganno.env.counterfactuals import REFERENCE_SCHEDULES, Counterfactual, NoopStep, ReferenceEpisode


class StepOutcome(NamedTuple):
    """What a reward function sees of one env step (all scalars)."""

    val_accuracy: chex.Array  # hold-out accuracy after the tau steps (actual branch)
    diverged: chex.Array  # bool: the actual branch's loss became NaN/inf
    counterfactual_val_accuracy: chex.Array  # the counterfactual's (= val_accuracy without one)
    counterfactual_diverged: chex.Array  # bool (episode: the reference has diverged so far)
    lrs_unchanged: chex.Array  # bool: the joint action left every learning rate as it was
    val_loss: chex.Array = 0.0  # hold-out loss after the tau steps (capped, stats.LOSS_CAP)
    counterfactual_val_loss: chex.Array = 0.0
    prev_val_accuracy: chex.Array = 0.0  # before the tau steps (episode reward)
    prev_counterfactual_val_accuracy: chex.Array = 0.0
    prev_val_loss: chex.Array = 0.0
    prev_counterfactual_val_loss: chex.Array = 0.0


def _check_number(name: str, value, minimum: Optional[float] = None) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if isinstance(value, bool) or not math.isfinite(v) or (minimum is not None and v < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}.")
    return v


class RewardFn(abc.ABC):
    """``reward_fn(outcome) -> ()`` float32 shared reward."""

    needs_counterfactual: bool = False  # compares with a counterfactual branch (the env must be given one)

    def __init__(self, divergence_reward: float = -1.0):
        self.divergence_reward = _check_number("divergence_reward", divergence_reward)

    @abc.abstractmethod
    def reward(self, outcome: StepOutcome) -> chex.Array:
        """The reward of a step that did not diverge."""

    def diverged_reward(self, outcome: StepOutcome) -> chex.Array:
        """The reward of the step in which the actual branch diverged."""
        del outcome
        return jnp.asarray(self.divergence_reward)

    def __call__(self, outcome: StepOutcome) -> chex.Array:
        r = jnp.where(outcome.diverged, self.diverged_reward(outcome), self.reward(outcome))
        return r.astype(jnp.float32)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(divergence_reward={self.divergence_reward})"


class HoldOutAccuracy(RewardFn):
    """r = hold-out accuracy after the tau steps."""

    def reward(self, outcome: StepOutcome) -> chex.Array:
        return outcome.val_accuracy


def _gap(acc, cf_acc, loss, cf_loss, loss_weight: float):
    """Accuracy gap to the counterfactual, plus loss_weight times its loss gap."""
    gap = acc - cf_acc
    if loss_weight:
        gap = gap + loss_weight * (cf_loss - loss)
    return gap


class DifferenceReward(RewardFn):
    """r = hold-out accuracy minus that of the no-op counterfactual (0 if nothing changed)."""

    needs_counterfactual = True

    def __init__(self, divergence_reward: float = -1.0, loss_weight: float = 0.0):
        super().__init__(divergence_reward)
        self.loss_weight = _check_number("loss_weight", loss_weight, minimum=0.0)

    def reward(self, outcome: StepOutcome) -> chex.Array:
        cf = jnp.where(outcome.counterfactual_diverged, 0.0, outcome.counterfactual_val_accuracy)
        gap = _gap(outcome.val_accuracy, cf, outcome.val_loss, outcome.counterfactual_val_loss, self.loss_weight)
        return jnp.where(outcome.lrs_unchanged, 0.0, gap)

    def __repr__(self) -> str:
        return f"DifferenceReward(divergence_reward={self.divergence_reward}, loss_weight={self.loss_weight})"




class EpisodeDifferenceReward(RewardFn):
    """r = change of the gap to a reference episode (``ReferenceEpisode``); the return is the
    final gap."""

    needs_counterfactual = True

    def __init__(self, divergence_reward: float = -1.0, loss_weight: float = 0.0):
        super().__init__(divergence_reward)
        self.loss_weight = _check_number("loss_weight", loss_weight, minimum=0.0)

    def _prev_gap(self, o: StepOutcome) -> chex.Array:
        return _gap(o.prev_val_accuracy, o.prev_counterfactual_val_accuracy, o.prev_val_loss,
                    o.prev_counterfactual_val_loss, self.loss_weight)

    def reward(self, outcome: StepOutcome) -> chex.Array:
        o = outcome
        gap = _gap(o.val_accuracy, o.counterfactual_val_accuracy, o.val_loss, o.counterfactual_val_loss, self.loss_weight)
        return gap - self._prev_gap(o)

    def diverged_reward(self, outcome: StepOutcome) -> chex.Array:
        return self.divergence_reward - self._prev_gap(outcome)

    def __repr__(self) -> str:
        return f"EpisodeDifferenceReward(divergence_reward={self.divergence_reward}, loss_weight={self.loss_weight})"


REWARD_COUNTERFACTUALS = ("noop_step", *(f"{s}_episode" for s in REFERENCE_SCHEDULES))


def make_reward(
    difference_reward: bool = True,
    divergence_reward: float = -1.0,
    reward_counterfactual: str = "noop_step",
    reward_loss_weight: float = 0.0,
    reward_reference_hold: str = "first",
) -> Tuple[RewardFn, Optional[Counterfactual]]:
    """(reward function, counterfactual) of the environment's config values.

    ``difference_reward`` False (evaluation): ``HoldOutAccuracy`` and no counterfactual, the
    other reward options are then not used. Otherwise ``reward_counterfactual`` picks the pair:
    ``noop_step`` (the paper's ``DifferenceReward`` against ``NoopStep``) or
    ``<schedule>_episode`` (``EpisodeDifferenceReward`` against a ``ReferenceEpisode`` with that
    schedule: ``constant_episode``, ``cosine_episode``, ``linear_episode``,
    ``warmup_cosine_episode``, ``onecycle_episode``, ``wsd_episode``), its LR held per env step at
    the schedule's value at the env step's first SGD step (``reward_reference_hold: first``) or at
    its mean over the env step (``mean``), or run per SGD step (``step``, as the benchmark runs
    schedules); ``reward_loss_weight`` adds the validation-loss term.
    """
    if reward_counterfactual not in REWARD_COUNTERFACTUALS:
        raise ValueError(
            f"reward_counterfactual {reward_counterfactual!r} is not known; use one of "
            f"{', '.join(REWARD_COUNTERFACTUALS)}."
        )
    if reward_reference_hold not in REFERENCE_HOLDS:
        raise ValueError(f"reward_reference_hold {reward_reference_hold!r} is not known; use one of {', '.join(REFERENCE_HOLDS)}.")
    if reward_reference_hold != "first" and not reward_counterfactual.endswith("_episode"):
        raise ValueError(f"reward_reference_hold={reward_reference_hold!r} applies to a reference episode only; "
                         f"reward_counterfactual is {reward_counterfactual!r} (use e.g. wsd_episode).")
    if not difference_reward:
        return HoldOutAccuracy(divergence_reward), None
    if reward_counterfactual == "noop_step":
        return DifferenceReward(divergence_reward, loss_weight=reward_loss_weight), NoopStep()
    reward = EpisodeDifferenceReward(divergence_reward, loss_weight=reward_loss_weight)
    return reward, ReferenceEpisode(reward_counterfactual[: -len("_episode")], reward_reference_hold)
