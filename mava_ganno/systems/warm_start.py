"""Starting a training run from what exists: a saved policy's actor (``system.init_policy``,
e.g. ``ganno clone``'s) and a critic pre-fitted to demonstrations' returns
(``system.critic_prefit_demos``). Each checks that what it loads fits the run and raises a
``ConfigError`` naming what differs."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import jax
import jax.numpy as jnp
from omegaconf import DictConfig

from mava_ganno.policy import NetworkConfig, load_policy
from mava_ganno.policy.fitting import prefit_critic
from mava_ganno.utils.config import ConfigError
from mava_ganno.utils.demo_file import load_demonstrations


def start_from_policy(path: str, env: Any, actor_cfg: NetworkConfig, actor_params: Any, obs_norm: Any) -> Tuple[Any, Any]:
    """``system.init_policy``: the actor parameters and observation statistics of a saved policy
    (e.g. ``ganno clone``'s) instead of fresh ones. Its network, features and action table must
    be the run's; a ``ConfigError`` names what differs."""
    where = f"system.init_policy ({path})"
    try:
        policy = load_policy(path)
    except (OSError, ValueError) as e:
        raise ConfigError(f"{where}: {e}") from None
    diffs = [
        (what, mine, theirs)
        for what, mine, theirs in (
            ("network (network.actor_network, network.hidden_state_dim)", actor_cfg, policy.network),
            ("features (env.kwargs.features)", tuple(env.features), tuple(policy.feature_names)),
            ("action table (env.kwargs.action_table)", tuple(env.action_table.entries), tuple(policy.action_table)),
            ("lr_max (env.kwargs.lr_max)", float(env.lr_max), float(policy.lr_max)),
        )
        if mine != theirs
    ]
    if diffs:
        what, mine, theirs = diffs[0]
        raise ConfigError(f"{where}: the policy's {what} is {theirs}, this run's is {mine}; train with the policy's.")
    if (obs_norm is None) != (policy.obs_norm is None):
        raise ConfigError(
            f"{where}: the policy {'has no' if policy.obs_norm is None else 'has'} observation normalisation, this run "
            f"{'normalises' if obs_norm is not None else 'does not'}; set system.normalise_observations="
            f"{policy.obs_norm is not None}."
        )
    if jax.tree_util.tree_structure(policy.params) != jax.tree_util.tree_structure(actor_params):
        raise ConfigError(f"{where}: the policy's parameters do not fit the actor network.")
    if obs_norm is not None:
        s = policy.obs_norm
        obs_norm = obs_norm.replace(mean=s.mean, var=s.var, count=s.count, norm_mask=s.norm_mask)
    return jax.tree_util.tree_map(jnp.asarray, policy.params), obs_norm


def prefit_critic_on_demos(path: str, env: Any, critic: Any, critic_cfg: NetworkConfig, critic_params: Any, obs_norm: Any,
                           config: DictConfig) -> Tuple[Any, Optional[Tuple[float, float, float]], List[Dict[str, float]]]:
    """``system.critic_prefit_demos``: the critic fitted to the discounted returns (``system.gamma``)
    of a demonstrations file (``ganno demos`` on this scenario and reward), on observations
    normalised as the first rollout will normalise them, for ``system.critic_prefit_epochs``
    epochs; with standardised value targets the running target statistics start as the
    returns' (the (mean, var, count) returned; None with raw targets). So the first PPO updates
    of a cloned actor are not driven by a random critic's advantages. A ``ConfigError`` names a
    file that does not fit the run."""
    where = f"system.critic_prefit_demos ({path})"
    try:
        data = load_demonstrations(path)
    except (OSError, ValueError) as e:
        raise ConfigError(f"{where}: {e}") from None
    meta = data["meta"]
    for what, mine, theirs in (
        ("features (env.kwargs.features)", list(env.features), list(meta.get("features") or [])),
        ("action table (env.kwargs.action_table)", list(env.action_table.entries), list(meta.get("action_table") or [])),
    ):
        if mine != theirs:
            raise ConfigError(f"{where}: the demonstrations' {what} are {theirs}, this run's are {mine}; "
                              "generate them with `ganno demos` on this run's scenario and env config.")
    standardise = bool(config.system.normalise_value_targets)
    params, (mean, var, count), history = prefit_critic(
        critic, critic_params, critic_cfg.hidden_state_dim, data["obs"], data["rewards"], data["mask"],
        obs_norm.normalise if obs_norm is not None else (lambda x: x), gamma=float(config.system.gamma),
        epochs=int(config.system.critic_prefit_epochs), chunk=int(config.system.recurrent_chunk_size),
        standardise=standardise, seed=int(config.system.seed), log=None,
    )
    return params, ((mean, var, count) if standardise else None), history


__all__ = ["prefit_critic_on_demos", "start_from_policy"]
