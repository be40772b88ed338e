"""The training system's state: learner state, transitions, normalisation statistics
(after Mava's ``systems/ppo/types.py``). Leading axes: E environments, N agents (layers),
H hidden units, F features, A actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

import chex
from omegaconf import DictConfig

from mava_ganno.env.types import Observation
from mava_ganno.policy import GannoPolicy, NetworkConfig, ObsNormStats
from mava_ganno.utils.config import num_groups


class Params(NamedTuple):
    actor_params: Any
    critic_params: Any


class OptStates(NamedTuple):
    actor_opt_state: Any
    critic_opt_state: Any


class HiddenStates(NamedTuple):
    policy_hidden_state: chex.Array  # (E, N, H)
    critic_hidden_state: chex.Array  # (E, N, H)
    # (E, N, H) the anchor actor's (system.init_policy_kl_coef > 0), else None
    anchor_hidden_state: Optional[chex.Array] = None


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


class Anchor(NamedTuple):
    """The policy the actor started from (system.init_policy), frozen, and the initial weight of
    the KL penalty to it (system.init_policy_kl_coef; data, so changing it does not recompile)."""

    actor_params: Any
    kl_coef: chex.Array  # () float32


class RNNLearnerState(NamedTuple):
    """Shared by all task groups: params, optimiser states, key, normalisation statistics.
    Per group g (tuples of length G, one group for a single scenario; N_g agents each):
    env_state, obs, dones, hstates and episode."""

    params: Params
    opt_states: OptStates
    key: chex.PRNGKey
    env_state: Tuple[Any, ...]  # mava_ganno.env.types.State per group, batched (E, ...)
    obs: Tuple[Observation, ...]  # current observation per group (E, N_g, ...)
    dones: Tuple[chex.Array, ...]  # (E, N_g) True where the current observation starts an episode
    hstates: Tuple[HiddenStates, ...]
    norms: NormStates
    episode: Tuple[EpisodeStats, ...]
    # the frozen system.init_policy actor for the KL penalty that keeps the policy near it
    # (system.init_policy_kl_coef > 0); None without one
    anchor: Optional[Anchor] = None


class RNNPPOTransition(NamedTuple):
    """One step of one task group (a rollout holds a tuple of them, one per group)."""

    done: chex.Array  # (E, N) this step starts an episode (reset the hidden state first)
    action: chex.Array  # (E, N)
    value: chex.Array  # (E, N) unnormalised value estimate
    reward: chex.Array  # (E, N)
    log_prob: chex.Array  # (E, N)
    obs: chex.Array  # (E, N, F) normalised agents_view
    action_mask: chex.Array  # (E, N, A)
    hstates: HiddenStates  # hidden states before this step
    info: Dict[str, chex.Array]


# ----------------------------------------------------------------------------- experiment
@dataclass
class Learner:
    """Everything ``learner_setup`` builds."""

    learn: Callable  # pmapped learner: RNNLearnerState -> (RNNLearnerState, metrics)
    actor: Any
    critic: Any
    actor_config: NetworkConfig
    critic_config: NetworkConfig
    init_state: RNNLearnerState  # (devices, update_batch_size, ...)
    critic_prefit: Optional[List[Dict[str, float]]] = None  # per-epoch history of system.critic_prefit_demos


@dataclass
class TrainResult:
    eval_performance: float
    policy: GannoPolicy
    run_dir: str  # checkpoints and the final policy (run_dir/policy)
    uid: str
    num_updates: int
    total_timesteps: int
    train_seconds: float  # wall time of the training loop (incl. compilation)
    history: List[Dict[str, Any]] = field(default_factory=list)  # per-update metrics
    eval_history: List[Dict[str, Any]] = field(default_factory=list)
    final_state: Any = None  # the final learner state, (devices, update_batch_size, ...)
    initial_actor_params: Any = None  # the actor's parameters before training
    validation_history: List[Dict[str, Any]] = field(default_factory=list)  # systems.validation scores
    best_policy_dir: Optional[str] = None  # the policy with the best validation score (None: no suite)
    policy_dir: Optional[str] = None  # where the final policy was saved (run_dir/policy unless that failed)


class Budget(NamedTuple):
    """Timesteps per evaluation step (all devices, update batches and envs), and their number."""

    steps_per_eval: int
    num_evals: int
    updates_per_eval: int

    @classmethod
    def of(cls, config: DictConfig, n_devices: int) -> "Budget":
        s, upe = config.system, int(config.system.num_updates_per_eval)
        steps = n_devices * upe * int(s.rollout_length) * int(s.update_batch_size) * int(config.arch.num_envs)
        steps *= num_groups(config)
        return cls(steps, int(config.arch.num_evaluation), upe)

    @property
    def total(self) -> int:
        return self.steps_per_eval * self.num_evals
