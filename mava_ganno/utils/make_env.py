"""Build GANNO environments from a Mava-style ``env`` config.

Mirrors Mava's ``make_jumanji_env``::

    generator = InitialConditionsGenerator(**config.env.scenario.task_config)
    env = jumanji.make(config.env.scenario.name, generator=generator,
                       **config.env.kwargs, **config.env.scenario.env_kwargs)

The training env uses the config as given (difference reward by default); the evaluation env
is the same task without the difference reward (plain hold-out accuracy; no counterfactual
branch, so it costs half as much per step).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import jumanji
from omegaconf import DictConfig, OmegaConf

import mava_ganno  # noqa: F401  (registers GANNO-v0)
from mava_ganno.backend.task_pool import check_training_pool
from mava_ganno.env.env import Ganno
from mava_ganno.env.generator import InitialConditionsGenerator
from mava_ganno.utils.config import ConfigError, shared_and_task_kwargs, task_groups


def _plain(x: Any) -> Any:
    return OmegaConf.to_container(x, resolve=True) if OmegaConf.is_config(x) else x


def env_kwargs(config: DictConfig, overrides: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The keyword arguments of ``make_ganno`` (the ``GANNO-v0`` entry point): ``env.kwargs`` (shared by every scenario) together with the
    scenario's ``env.scenario.env_kwargs`` (its task), then ``overrides`` (a pool group's).

    The two config sources must not set the same argument (as in Mava's ``make_env``, which
    passes both to the constructor): a ``ConfigError`` names the key and where to set it."""
    shared, task = shared_and_task_kwargs(config)
    return {**shared, **task, **(overrides or {})}


def make_generator(config: DictConfig, **overrides: Any) -> InitialConditionsGenerator:
    task_config = {**(_plain(config.env.scenario.get("task_config")) or {}), **overrides}
    try:
        return InitialConditionsGenerator(**task_config)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"env.scenario.task_config ({config.env.scenario.task_name}): {e}") from e


def make_single(config: DictConfig, generator: Optional[InitialConditionsGenerator] = None, **overrides: Any) -> Ganno:
    """One Ganno env from the config (``overrides`` replace constructor kwargs)."""
    name = config.env.scenario.name
    generator = generator if generator is not None else make_generator(config)
    kwargs = env_kwargs(config, overrides)
    try:
        return jumanji.make(name, generator=generator, **kwargs)
    except TypeError as e:
        raise ConfigError(
            f"env.kwargs / env.scenario.env_kwargs ({config.env.scenario.task_name}) are not valid "
            f"arguments of the {name} environment: {e}"
        ) from e
    except ValueError as e:
        raise ConfigError(f"env.kwargs / env.scenario.env_kwargs ({config.env.scenario.task_name}): {e}") from e


def make_task(config: DictConfig, name: str, task: Dict[str, Any], where: str = "groups", **overrides: Any) -> Ganno:
    """One env of a named task (``{"env_kwargs": ..., "task_config": ...}`` over the scenario's)."""
    task_config = {**(_plain(config.env.scenario.get("task_config")) or {}), **(task.get("task_config") or {})}
    try:
        generator = InitialConditionsGenerator(**task_config)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"env.scenario.{where}.{name}.task_config: {e}") from e
    try:
        return make_single(config, generator, **{**(task.get("env_kwargs") or {}), **overrides})
    except ConfigError as e:
        raise ConfigError(f"env.scenario.{where}.{name}: {e}") from e


def check_training_data(envs: Sequence[Ganno], config: DictConfig) -> None:
    """``ConfigError`` when a training env's dataset is evaluation or benchmark data
    (``task_pool.check_training_pool``): a policy never trains on what it is judged on."""
    try:
        check_training_pool(sorted({env.dataset.name for env in envs}))
    except ValueError as e:
        raise ConfigError(f"env.scenario ({config.env.scenario.task_name}) trains on held-out data: {e}") from None


def make_groups(config: DictConfig, **overrides: Any) -> List[Ganno]:
    """One env per task group (``env.scenario.groups``), or ``[make_single(config)]``; training
    data only (``check_training_data``)."""
    groups = task_groups(config)
    if not groups:
        envs = [make_single(config, **overrides)]
    else:
        envs = [make_task(config, name, group, "groups", **overrides) for name, group in groups.items()]
    check_training_data(envs, config)
    return envs


def make(config: DictConfig) -> Tuple[Ganno, Ganno]:
    """(train_env, eval_env) for the configured scenario (Mava's ``make_env.make``); training
    data only (``check_training_data``)."""
    train_env = make_single(config)
    check_training_data([train_env], config)
    eval_env = make_single(config, difference_reward=False)
    return train_env, eval_env
