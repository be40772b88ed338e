"""State and Observation of the GANNO environment (shapes in comments; N = num_agents)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Optional

import chex

from mava_ganno.backend.layer_stats import LayerStats
from mava_ganno.backend.trainer import MinibatchPlan, TrainState
from mava_ganno.env.stats import GlobalStats

if TYPE_CHECKING:  # pragma: no cover
    from dataclasses import dataclass
else:
    from chex import dataclass


class Reference(NamedTuple):
    """What a counterfactual carries across steps (``counterfactuals.ReferenceEpisode``: the
    reference episode, stepped beside the actual one from the same initialisation, on the same
    minibatches, with a reference schedule).

    train_state: the reference network's params, BatchNorm statistics and optimiser state.
    val_accuracy: () its hold-out accuracy after the last tau steps (0 once it has diverged).
    val_loss: () its hold-out loss (stats.LOSS_CAP once it has diverged).
    diverged: () bool, its loss became NaN/inf at some step (it keeps its last finite params).
    """

    train_state: TrainState
    val_accuracy: chex.Array
    val_loss: chex.Array
    diverged: chex.Array


@dataclass
class State:
    """Everything needed to step the environment (a pytree; the dataset is not in it).

    key: (2,) PRNG key.
    train_state: params, BatchNorm statistics and optimiser state of the controlled network.
    lrs: (N,) current learning rate of each agent.
    prev_actions: (N,) int32 previous action of each agent (the no-op at reset).
    step_count: () int32 env steps since reset.
    global_stats: GlobalStats after the last tau steps; its prev_train_loss () is the train
        loss of the previous env step (= train_loss at reset), for the loss-trend feature.
    layer_stats: LayerStats (each (L,), L = number of layers) after the last tau steps.
    plan: the episode's minibatches and key chain (``MinibatchPlan``: (time_limit + 1) chunks),
        drawn at reset; step t trains on ``plan.train[t]`` and carries ``plan.keys[t]`` on.
    reference: the reference episode (``Reference``) when the reward function's counterfactual
        is ``"episode"``, else None.
    """

    key: chex.PRNGKey
    train_state: TrainState
    lrs: chex.Array
    prev_actions: chex.Array
    step_count: chex.Array
    global_stats: GlobalStats
    layer_stats: LayerStats
    plan: MinibatchPlan
    reference: Optional[Reference] = None


class Observation(NamedTuple):
    """What every layer agent sees.

    agents_view: (N, F) float32 global + layer features (mava_ganno.env.observations).
    action_mask: (N, A) bool, all actions always legal.
    step_count: (N,) int32 env steps since reset.
    """

    agents_view: chex.Array
    action_mask: chex.Array
    step_count: chex.Array
