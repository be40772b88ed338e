"""Fail-fast checks of the training config, and Mava's derived values.

Every error names the config key (``system.rollout_length`` ...) and what would be valid, and
is raised before any data is loaded or anything is compiled.
"""

from __future__ import annotations

import difflib
import functools
import glob
import math
import os
from typing import Any, Dict, FrozenSet, List, Tuple

import jax
from omegaconf import DictConfig, OmegaConf


class ConfigError(ValueError):
    """An invalid training config; the message names the key."""


def _get(config: DictConfig, key: str) -> Any:
    value = OmegaConf.select(config, key, throw_on_missing=False, default="__missing__")
    if isinstance(value, str) and value == "__missing__":
        raise ConfigError(f"{key} is missing from the config.")
    return value


def _int(config: DictConfig, key: str, minimum: int = 1, allow_none: bool = False) -> Any:
    value = _get(config, key)
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key} must be an integer >= {minimum}, got {value!r}.")
    return value


def _float(config: DictConfig, key: str, lo: float, hi: float = math.inf, lo_open: bool = False) -> float:
    value = _get(config, key)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and (value > lo if lo_open else value >= lo) and value <= hi
    if not ok:
        bound = f"{'>' if lo_open else '>='} {lo}" + (f" and <= {hi}" if hi != math.inf else "")
        raise ConfigError(f"{key} must be a number {bound}, got {value!r}.")
    return float(value)


def _sizes(config: DictConfig, key: str) -> None:
    value = _get(config, key)
    if not OmegaConf.is_list(value) and not isinstance(value, (list, tuple)):
        raise ConfigError(f"{key} must be a list of layer sizes, got {value!r}.")
    for s in value:
        if isinstance(s, bool) or not isinstance(s, int) or s <= 0:
            raise ConfigError(f"{key} must be a list of positive integers, got {list(value)}.")


# ============================================================================ known keys
# Sub-trees whose keys are not fixed by the config files: the environment's constructor
# arguments (checked against its signature when it is built), the task sampler's arguments, a
# pool's groups and validation suite.
OPEN_KEYS = ("env.kwargs", "env.scenario.env_kwargs", "env.scenario.task_config", "env.scenario.groups", "env.scenario.validation")
# Filled in by the trainer itself (check_config, rec_ippo).
DERIVED_KEYS = frozenset({"system.num_agents", "system.num_updates_per_eval", "logger.system_name"})
# config file (glob, relative to the installed configs) -> where its keys sit in the tree
_CONFIG_FILES = (
    ("default/*.yaml", ""), ("arch/*.yaml", "arch"), ("system/ppo/*.yaml", "system"), ("network/*.yaml", "network"),
    ("env/ganno.yaml", "env"), ("env/scenario/*.yaml", "env.scenario"), ("logger/*.yaml", "logger"),
)  # fmt: skip


def _leaf_paths(tree: Any, prefix: str) -> List[str]:
    """Dotted paths of the leaves of a nested dict (an open sub-tree counts as one leaf)."""
    if not isinstance(tree, dict) or not tree or prefix in OPEN_KEYS:
        return [prefix]
    out: List[str] = []
    for k, v in tree.items():
        if prefix == "" and k in ("defaults", "hydra"):
            continue
        out += _leaf_paths(v, f"{prefix}.{k}" if prefix else str(k))
    return out


@functools.lru_cache(maxsize=1)
def known_keys() -> FrozenSet[str]:
    """Every key the training config may hold: the leaves of the installed config files (all
    scenarios), the open sub-trees (``OPEN_KEYS``) and the derived values (``DERIVED_KEYS``)."""
    from importlib import resources

    root = str(resources.files("mava_ganno.configs"))
    keys = set(DERIVED_KEYS) | set(OPEN_KEYS)
    for pattern, prefix in _CONFIG_FILES:
        for path in sorted(glob.glob(os.path.join(root, pattern))):
            keys.update(_leaf_paths(OmegaConf.to_container(OmegaConf.load(path), resolve=False), prefix))
    return frozenset(keys)


def check_known_keys(config: DictConfig) -> None:
    """A ``ConfigError`` for the first key of ``config`` that no config file defines (a typo, or
    a ``+key=value`` override that nothing would read), naming the nearest known key."""
    known = known_keys()
    for path in _leaf_paths(OmegaConf.to_container(config, resolve=False), ""):
        if path in known or any(path.startswith(k + ".") for k in OPEN_KEYS) or path == "":
            continue
        parents = [k for k in known if k.startswith(path + ".")]  # a sub-tree replaced by a value
        if parents:
            raise ConfigError(f"{path} holds settings ({', '.join(sorted(parents)[:3])}, ...); set one of them, not {path} itself.")
        near = difflib.get_close_matches(path, sorted(known), n=1, cutoff=0.8)
        hint = f"did you mean {near[0]}?" if near else "see configs/ for the keys."
        raise ConfigError(f"{path} is not a config key; {hint} (Nothing would read its value.)")


def shared_and_task_kwargs(config: DictConfig) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(``env.kwargs``, ``env.scenario.env_kwargs``) as dicts; a ``ConfigError`` when both set
    one argument (Mava's ``make_env`` passes both to the constructor, so neither may win
    silently), naming the key and where to set it."""
    plain = lambda x: (OmegaConf.to_container(x, resolve=True) if OmegaConf.is_config(x) else x) or {}  # noqa: E731
    shared, task = plain(config.env.get("kwargs")), plain(config.env.scenario.get("env_kwargs"))
    both = sorted(set(shared) & set(task))
    if both:
        k = both[0]
        raise ConfigError(
            f"env.kwargs.{k}={shared[k]!r} and env.scenario.env_kwargs.{k}={task[k]!r} ({config.env.scenario.get('task_name')}) "
            f"both set {k}; the scenario's env_kwargs define the task: override env.scenario.env_kwargs.{k} instead."
        )
    return dict(shared), dict(task)


def task_groups(config: DictConfig) -> Dict[str, Dict[str, Any]]:
    """A task-distribution scenario's groups, ``{name: {"env_kwargs": ..., "task_config": ...}}``
    (empty for a single scenario). Each group is one vmapped set of ``arch.num_envs``
    environments; its ``env_kwargs``/``task_config`` override the scenario's."""
    groups = _plain_groups(config) or {}
    if not isinstance(groups, dict):
        raise ConfigError(f"env.scenario.groups must map group names to settings, got {type(groups).__name__}.")
    for name, group in groups.items():
        unknown = set(group or {}) - {"env_kwargs", "task_config"}
        if unknown:
            raise ConfigError(f"env.scenario.groups.{name}: unknown keys {sorted(unknown)}; use env_kwargs and task_config.")
    return {str(k): dict(v or {}) for k, v in groups.items()}


def num_groups(config: DictConfig) -> int:
    return max(1, len(task_groups(config)))


def _plain_groups(config: DictConfig) -> Any:
    groups = config.env.scenario.get("groups")
    return OmegaConf.to_container(groups, resolve=True) if OmegaConf.is_config(groups) else groups


def check_config(config: DictConfig, n_devices: int | None = None) -> DictConfig:
    """Validate ``config`` and fill Mava's derived values (in place; also returned):
    ``system.num_updates``/``total_timesteps`` (one from the other, as Mava's
    ``check_total_timesteps``), ``system.recurrent_chunk_size`` (rollout_length if ~),
    ``arch.num_evaluation`` (capped at num_updates) and ``system.num_updates_per_eval``; the
    number of updates is then rounded up to a multiple of ``num_updates_per_eval``.
    """
    n_devices = n_devices or len(jax.devices())
    OmegaConf.set_struct(config, False)
    check_known_keys(config)
    shared_and_task_kwargs(config)
    _check_env(config)
    task_groups(config)
    _check_system(config)
    _check_budget(config, n_devices)
    _check_network(config)
    _int(config, "logger.checkpointing.save_args.save_interval_steps")
    _int(config, "logger.checkpointing.save_args.max_to_keep", allow_none=True)
    _int(config, "logger.checkpointing.save_args.keep_period", allow_none=True)
    return config


def _check_env(config: DictConfig) -> None:
    name = _get(config, "env.scenario.name")
    if name != "GANNO-v0":
        raise ConfigError(f"env.scenario.name must be 'GANNO-v0' for this system, got {name!r}.")
    for key in ("env.scenario.task_name", "env.env_name"):
        _get(config, key)
    if _get(config, "system.add_agent_id") and not _get(config, "env.implicit_agent_id"):
        raise ConfigError(
            "system.add_agent_id=True with env.implicit_agent_id=False: GANNO's shared policy never "
            "sees agent ids (it must run on networks of any depth); set system.add_agent_id=False."
        )


def _check_system(config: DictConfig) -> None:
    """PPO's hyperparameters, and a rollout that splits into recurrent chunks and minibatches."""
    num_envs = _int(config, "arch.num_envs")
    rollout = _int(config, "system.rollout_length")
    _int(config, "system.update_batch_size")
    _int(config, "system.ppo_epochs")
    nmb = _int(config, "system.num_minibatches")
    _int(config, "system.seed", minimum=0)
    _float(config, "system.gamma", 0.0, 1.0)
    _float(config, "system.gae_lambda", 0.0, 1.0)
    for key in ("clip_eps", "actor_lr", "critic_lr", "max_grad_norm", "obs_norm_min_std", "obs_norm_clip"):
        _float(config, f"system.{key}", 0.0, lo_open=True)
    _float(config, "system.ent_coef", 0.0)
    _float(config, "system.vf_coef", 0.0)
    if OmegaConf.select(config, "system.init_policy_kl_coef", default=None) is not None:  # older configs lack it
        kl = _float(config, "system.init_policy_kl_coef", 0.0)
        if OmegaConf.select(config, "system.init_policy_kl_updates", default=None) is not None:
            _int(config, "system.init_policy_kl_updates")
        if kl > 0 and not OmegaConf.select(config, "system.init_policy", default=None):
            raise ConfigError(
                f"system.init_policy_kl_coef={kl} keeps the actor near system.init_policy, which is not set; give "
                "system.init_policy=<policy folder> (e.g. ganno clone's) or set system.init_policy_kl_coef=0."
            )
    demos = OmegaConf.select(config, "system.critic_prefit_demos", default=None)
    if demos is not None:
        if not isinstance(demos, str) or not os.path.isfile(demos):
            raise ConfigError(f"system.critic_prefit_demos={demos!r} is not a file; give a demonstrations file "
                              "written by `ganno demos` (e.g. demos/pool.npz) or ~ for a fresh critic.")
        _int(config, "system.critic_prefit_epochs")
    chunk = _int(config, "system.recurrent_chunk_size", allow_none=True)
    if chunk is None:
        chunk = rollout
    if rollout % chunk:
        raise ConfigError(
            f"system.rollout_length={rollout} must be divisible by system.recurrent_chunk_size={chunk}."
        )
    sequences = num_envs * (rollout // chunk)
    if sequences % nmb:
        raise ConfigError(
            f"the rollout cannot be split into system.num_minibatches={nmb}: it holds arch.num_envs "
            f"({num_envs}) x system.rollout_length / system.recurrent_chunk_size ({rollout // chunk}) "
            f"= {sequences} sequences; choose num_minibatches dividing {sequences}."
        )
    config.system.recurrent_chunk_size = chunk


def _check_budget(config: DictConfig, n_devices: int) -> None:
    """Mava's check_total_timesteps, then evaluation steps of equal length (one compiled
    learner) covering at least num_updates: unlike Mava (which drops the remainder) the budget
    is rounded up, by less than one evaluation step."""
    rollout, ubs, num_envs = config.system.rollout_length, config.system.update_batch_size, config.arch.num_envs
    groups = num_groups(config)
    steps_per_update = n_devices * rollout * ubs * num_envs * groups
    total = _get(config, "system.total_timesteps")
    if total is None:
        num_updates = _int(config, "system.num_updates")
        config.system.total_timesteps = num_updates * steps_per_update
    else:
        total = _int(config, "system.total_timesteps")
        num_updates = total // steps_per_update
        if num_updates < 1:
            raise ConfigError(
                f"system.total_timesteps={total} is less than one update: each update takes "
                f"devices ({n_devices}) x system.rollout_length ({rollout}) x system.update_batch_size "
                f"({ubs}) x arch.num_envs ({num_envs})" + (f" x task groups ({groups})" if groups > 1 else "")
                + f" = {steps_per_update} timesteps."
            )
        config.system.num_updates = num_updates
    num_eval = min(_int(config, "arch.num_evaluation"), config.system.num_updates)
    per_eval = -(-config.system.num_updates // num_eval)
    num_eval = -(-config.system.num_updates // per_eval)
    config.arch.num_evaluation = num_eval
    config.system.num_updates_per_eval = per_eval
    config.system.num_updates = per_eval * num_eval
    config.system.total_timesteps = config.system.num_updates * steps_per_update
    _int(config, "arch.num_eval_episodes", minimum=0)
    _int(config, "arch.num_absolute_metric_eval_episodes", minimum=0)


def _check_network(config: DictConfig) -> None:
    _int(config, "network.hidden_state_dim")
    for net in ("actor_network", "critic_network"):
        for part in ("pre_torso", "post_torso"):
            _sizes(config, f"network.{net}.{part}.layer_sizes")
            torso = _get(config, f"network.{net}.{part}")
            act = torso.get("activation", "relu")
            if act not in ("relu", "tanh"):
                raise ConfigError(f"network.{net}.{part}.activation must be relu or tanh, got {act!r}.")
            target = str(torso.get("_target_", "MLPTorso"))
            if target.rsplit(".", 1)[-1] != "MLPTorso":
                raise ConfigError(f"network.{net}.{part}._target_ is {target!r}; GANNO observations are feature vectors and "
                                  "this trainer builds mava_ganno.policy.MLPTorso torsos only.")  # fmt: skip
        pre, post = _get(config, f"network.{net}.pre_torso"), _get(config, f"network.{net}.post_torso")
        for key, default in (("activation", "relu"), ("use_layer_norm", False)):
            if pre.get(key, default) != post.get(key, default):
                raise ConfigError(
                    f"network.{net}.pre_torso.{key}={pre.get(key, default)!r} and post_torso.{key}={post.get(key, default)!r}: "
                    f"this trainer uses one {key} for both torsos of a network; set them equal."
                )
