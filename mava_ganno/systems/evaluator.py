"""The training system's evaluator (after Mava's ``evaluator_setup``): the learner's current
actor, as a ``GannoPolicy``, runs whole episodes of the evaluation environment (no difference
reward) through the one episode runner (``mava_ganno.evaluation.rollouts``).

Also turns a learner state into the policy that ``run_experiment`` saves."""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional, Tuple

import jax
import numpy as np
from jax import tree
from omegaconf import DictConfig

from mava_ganno.evaluation.rollouts import episode_summary, make_episode_runner
from mava_ganno.policy import GannoPolicy, NetworkConfig

# Compiled evaluators of this process, keyed by everything they depend on (tests, resumed runs).
_EVALUATOR_CACHE: Dict[str, Callable] = {}
_CACHE_SIZE = 8


def unreplicate(x: Any) -> Any:
    """First device, first update-batch copy of a learner-state pytree."""
    return tree.map(lambda a: a[0, 0], x)


def as_policy(
    env: Any, actor_config: NetworkConfig, actor_params: Any, obs_norm: Any, metadata: Optional[Dict[str, Any]] = None
) -> GannoPolicy:
    """The actor's parameters (and observation normalisation) as a GannoPolicy for ``env``."""
    return GannoPolicy(
        params=actor_params,
        obs_norm=obs_norm,
        network=actor_config,
        feature_names=tuple(env.features),
        action_table=tuple(env.action_table.entries),
        lr_max=float(env.lr_max),
        metadata_json=json.dumps(metadata or {}, sort_keys=True, default=str),
    )


def actor_of(state: Any) -> Tuple[Any, Any]:
    """(actor params, observation statistics or None) of a (devices, update batch, ...) state."""
    obs_norm = unreplicate(state.norms.obs) if state.norms.obs is not None else None
    return unreplicate(state.params.actor_params), obs_norm


def make_policy(actor_config: NetworkConfig, state: Any, env: Any, metadata: Dict[str, Any]) -> GannoPolicy:
    """The GannoPolicy of a learner state (first device / update-batch copy), on the host."""
    params, obs_norm = jax.device_get(actor_of(state))
    return as_policy(env, actor_config, params, obs_norm, metadata)


def make_evaluator(eval_env: Any, actor_config: NetworkConfig, num_episodes: int, greedy: bool) -> Callable:
    """Jitted ``(actor_params, obs_norm, key) -> metrics``: ``num_episodes`` vmapped episodes
    of the evaluation env, each from initial conditions the generator samples."""
    run = make_episode_runner(eval_env)

    def evaluate(actor_params, obs_norm, key):
        policy = as_policy(eval_env, actor_config, actor_params, obs_norm)

        def one(k):
            return episode_summary(run(policy, k, greedy=greedy))

        return jax.vmap(one)(jax.random.split(key, num_episodes))

    return jax.jit(evaluate)


class Evaluator:
    """Evaluates the learner's actor after every evaluation step and remembers the best
    parameters for the absolute metric (``arch.absolute_metric``), as Mava does.

    ``cache_key`` names what the compiled evaluator depends on; the same key reuses it."""

    def __init__(self, eval_env: Any, actor_config: NetworkConfig, arch: Any, eval_metric: str, cache_key: str):
        self.env, self.actor_config, self.metric = eval_env, actor_config, eval_metric
        self.num_episodes = int(arch.num_eval_episodes)
        self.greedy = bool(arch.evaluation_greedy)
        self.absolute = bool(arch.absolute_metric)
        self.num_absolute_episodes = int(arch.num_absolute_metric_eval_episodes)
        self.history: List[Dict[str, Any]] = []
        self.last: Dict[str, Any] = {}
        self._best: Tuple[float, Any] = (-np.inf, None)
        self._fn = None
        if self.num_episodes:
            key = cache_key + f"|eval:{self.num_episodes}:{self.greedy}"
            if key not in _EVALUATOR_CACHE:
                if len(_EVALUATOR_CACHE) >= _CACHE_SIZE:
                    _EVALUATOR_CACHE.pop(next(iter(_EVALUATOR_CACHE)))
                _EVALUATOR_CACHE[key] = make_evaluator(eval_env, actor_config, self.num_episodes, self.greedy)
            self._fn = _EVALUATOR_CACHE[key]

    @property
    def enabled(self) -> bool:
        return self._fn is not None

    def __call__(self, state: Any, key: Any, timestep: int) -> Dict[str, Any]:
        """Metrics (per episode) of the state's actor; also recorded in ``history``."""
        actor = actor_of(state)
        self.last = jax.device_get(self._fn(*actor, key))
        self.history.append({"timestep": timestep, **{k: float(np.mean(v)) for k, v in self.last.items()}})
        score = float(np.mean(self.last[self.metric]))
        if self.absolute and score >= self._best[0]:
            self._best = (score, actor)
        return self.last

    @property
    def performance(self) -> float:
        """The last evaluation's mean ``eval_metric`` (NaN if none ran)."""
        return float(np.mean(self.last[self.metric])) if self.last else float("nan")

    def absolute_metric(self, key: Any) -> Optional[Dict[str, Any]]:
        """Mava's absolute metric: the best parameters seen, on more episodes (None if off)."""
        if not self.absolute or self._best[1] is None or self.env is None:
            return None
        fn = make_evaluator(self.env, self.actor_config, self.num_absolute_episodes, self.greedy)
        return jax.device_get(fn(*self._best[1], key))


def policy_metadata(config: DictConfig, env: Any, uid: str, total_timesteps: int) -> Dict[str, Any]:
    """What a saved policy records about its training."""
    return {
        "system": config.logger.system_name,
        "scenario": str(config.env.scenario.task_name),
        "network": env.network_name,
        "dataset": env.dataset_name,
        "tau": env.tau,
        "single_agent": env.single_agent,
        "num_layers_trained_on": env.num_layers,
        "seed": int(config.system.seed),
        "run": uid,
        "total_timesteps": total_timesteps,
    }
