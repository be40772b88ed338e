"""The training system's evaluator (after Mava's ``evaluator_setup``): the learner's current
actor, as a ``GannoPolicy``, runs whole episodes of the evaluation environment (no difference
reward) through the one episode runner (``mava_ganno.evaluation.rollouts``).

Also turns a learner state into the policy that ``run_experiment`` saves."""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

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

    ``eval_envs``: one evaluation env per task group; each runs ``arch.num_eval_episodes``
    episodes and the metrics are over all of them. ``cache_key`` names what the compiled
    evaluators depend on; the same key reuses them."""

    def __init__(self, eval_envs: Sequence[Any], actor_config: NetworkConfig, arch: Any, eval_metric: str, cache_key: str):
        self.envs, self.actor_config, self.metric = list(eval_envs), actor_config, eval_metric
        self.num_episodes = int(arch.num_eval_episodes)
        self.greedy = bool(arch.evaluation_greedy)
        self.absolute = bool(arch.absolute_metric)
        self.num_absolute_episodes = int(arch.num_absolute_metric_eval_episodes)
        self.history: List[Dict[str, Any]] = []
        self.last: Dict[str, Any] = {}
        self._best: Tuple[float, Any] = (-np.inf, None)
        self._fns: List[Callable] = []
        if self.num_episodes:
            for g, env in enumerate(self.envs):
                key = cache_key + f"|eval:{g}:{self.num_episodes}:{self.greedy}"
                if key not in _EVALUATOR_CACHE:
                    if len(_EVALUATOR_CACHE) >= _CACHE_SIZE:
                        _EVALUATOR_CACHE.pop(next(iter(_EVALUATOR_CACHE)))
                    _EVALUATOR_CACHE[key] = make_evaluator(env, actor_config, self.num_episodes, self.greedy)
                self._fns.append(_EVALUATOR_CACHE[key])

    @property
    def enabled(self) -> bool:
        return bool(self._fns)

    @staticmethod
    def _run(fns: Sequence[Callable], actor: Tuple[Any, Any], key: Any) -> Dict[str, Any]:
        """Every group's episodes (one group: the evaluator's key itself), concatenated."""
        keys = [key] if len(fns) == 1 else list(jax.random.split(key, len(fns)))
        outs = [jax.device_get(fn(*actor, k)) for fn, k in zip(fns, keys)]
        return {name: np.concatenate([np.asarray(o[name]) for o in outs]) for name in outs[0]}

    def __call__(self, state: Any, key: Any, timestep: int) -> Dict[str, Any]:
        """Metrics (per episode) of the state's actor; also recorded in ``history``."""
        actor = actor_of(state)
        self.last = self._run(self._fns, actor, key)
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
        if not self.absolute or self._best[1] is None or not self.envs:
            return None
        fns = [make_evaluator(e, self.actor_config, self.num_absolute_episodes, self.greedy) for e in self.envs]
        return self._run(fns, self._best[1], key)


def policy_metadata(config: DictConfig, envs: Sequence[Any], uid: str, total_timesteps: int) -> Dict[str, Any]:
    """What a saved policy records about its training (per task group when there are several)."""
    one = lambda f: f(envs[0]) if len(envs) == 1 else [f(e) for e in envs]  # noqa: E731
    return {
        "system": config.logger.system_name,
        "scenario": str(config.env.scenario.task_name),
        "network": one(lambda e: e.network_name),
        "dataset": one(lambda e: e.dataset_name),
        "tau": envs[0].tau,  # ganno_adamw's default decision interval
        "single_agent": envs[0].single_agent,
        "lr_decay": envs[0].lr_decay,  # ganno_adamw's default; evaluation builds its env with it
        "reward": repr(envs[0].reward_fn),
        "num_layers_trained_on": one(lambda e: e.num_layers),
        "seed": int(config.system.seed),
        "run": uid,
        "total_timesteps": total_timesteps,
        "init_policy": config.system.get("init_policy"),
    }
