"""The training system's state: learner state, transitions, normalisation statistics
(after Mava's ``systems/ppo/types.py``). Leading axes: E environments, N agents (layers),
H hidden units, F features, A actions."""

from __future__ import annotations

from typing import Any, Dict, NamedTuple, Optional

import chex

from mava_ganno.env.types import Observation
from mava_ganno.policy import ObsNormStats


class Params(NamedTuple):
    actor_params: Any
    critic_params: Any


class OptStates(NamedTuple):
    actor_opt_state: Any
    critic_opt_state: Any


class HiddenStates(NamedTuple):
    policy_hidden_state: chex.Array  # (E, N, H)
    critic_hidden_state: chex.Array  # (E, N, H)


class ValueNorm(NamedTuple):
    """Running mean/variance of the value targets (scalars)."""

    mean: chex.Array
    var: chex.Array
    count: chex.Array


class NormStates(NamedTuple):
    obs: Optional[ObsNormStats]  # None: observations used as the env scales them
    value: ValueNorm


class EpisodeStats(NamedTuple):
    episode_return: chex.Array  # (E,) running return of the current episode (shared reward)
    episode_length: chex.Array  # (E,) int32


class RNNLearnerState(NamedTuple):
    params: Params
    opt_states: OptStates
    key: chex.PRNGKey
    env_state: Any  # mava_ganno.env.types.State, batched (E, ...)
    obs: Observation  # current observation (E, N, ...)
    dones: chex.Array  # (E, N) True where the current observation starts an episode
    hstates: HiddenStates
    norms: NormStates
    episode: EpisodeStats


class RNNPPOTransition(NamedTuple):
    done: chex.Array  # (E, N) this step starts an episode (reset the hidden state first)
    action: chex.Array  # (E, N)
    value: chex.Array  # (E, N) unnormalised value estimate
    reward: chex.Array  # (E, N)
    log_prob: chex.Array  # (E, N)
    obs: chex.Array  # (E, N, F) normalised agents_view
    action_mask: chex.Array  # (E, N, A)
    hstates: HiddenStates  # hidden states before this step
    info: Dict[str, chex.Array]
