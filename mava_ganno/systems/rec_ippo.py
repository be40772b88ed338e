"""Recurrent IPPO on GANNO (Anakin architecture), after Mava's ``systems/ppo/anakin/rec_ippo.py``.

Every trainable layer of the controlled network is an agent; all agents share one recurrent
policy (``mava_ganno.policy.RecurrentActor``: [128, 128] -> GRU 64 -> [64] -> logits) and
one recurrent critic ([64] -> GRU 64 -> [64] -> value), with no agent ids, so the trained
policy runs on networks of any depth. The whole update (rollout, GAE, PPO epochs over
recurrent minibatches) is one jitted function: environments are vmapped, steps and updates
scanned, ``system.update_batch_size`` copies vmapped, devices pmapped (gradients averaged with
``pmean`` over both axes, as Mava).

Paper details (appendix A) on top of Mava's rec_ippo: per-minibatch advantage normalisation,
value targets standardised by running statistics (``system.normalise_value_targets``), value
clipping, running observation normalisation of the continuous feature columns (saved with the
policy), recurrent training on chunks of ``system.recurrent_chunk_size`` = 8 steps. Unlike
Mava, chunks are contiguous in time and start from the hidden state recorded at their first
step.

Entry point: ``run_experiment(config)`` (``mava_ganno.train`` wraps it with Hydra).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

import chex
import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import tree
from omegaconf import DictConfig, OmegaConf

from mava_ganno.env.types import Observation
from mava_ganno.evaluation.rollouts import episode_summary, make_episode_runner
from mava_ganno.policy import (
    GannoPolicy,
    NetworkConfig,
    ObsNormStats,
    ScannedRNN,
    continuous_feature_mask,
    make_actor,
    make_critic,
    save_policy,
    welford,
)
from mava_ganno.utils import checkpointing
from mava_ganno.utils import make_env as environments
from mava_ganno.utils.config import ConfigError, check_config
from mava_ganno.utils.logger import GannoLogger, LogEvent, ProgressBar


# ----------------------------------------------------------------------------- types
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


# ----------------------------------------------------------------------------- helpers
def _categorical(logits: chex.Array) -> Tuple[chex.Array, chex.Array]:
    """(log_probs, probs) of masked logits."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    return logp, jnp.exp(logp)


def _entropy(logits: chex.Array) -> chex.Array:
    logp, p = _categorical(logits)
    return -jnp.sum(jnp.where(p > 0, p * logp, 0.0), axis=-1)


def _pmean(x: Any, batched: bool) -> Any:
    """Mean over the update-batch axis (when vmapped) and the device axis."""
    if batched:
        x = jax.lax.pmean(x, axis_name="batch")
    return jax.lax.pmean(x, axis_name="device")


def _pmean_moments(x: chex.Array, axis: Tuple[int, ...], batched: bool) -> Tuple[chex.Array, chex.Array]:
    """Mean and variance of x over ``axis`` and over the batch and device axes."""
    mean, sq = _pmean((x.mean(axis), jnp.square(x).mean(axis)), batched)
    return mean, jnp.maximum(sq - jnp.square(mean), 0.0)


def network_configs(config: DictConfig) -> Tuple[NetworkConfig, NetworkConfig]:
    """(actor, critic) NetworkConfig from Mava's ``network`` config group."""
    net = config.network

    def one(part: DictConfig) -> NetworkConfig:
        pre, post = part.pre_torso, part.post_torso
        return NetworkConfig(
            pre_torso=tuple(pre.layer_sizes),
            post_torso=tuple(post.layer_sizes),
            hidden_state_dim=int(net.hidden_state_dim),
            activation=str(pre.get("activation", "relu")),
            use_layer_norm=bool(pre.get("use_layer_norm", False)),
        )

    return one(net.actor_network), one(net.critic_network)


def make_learning_rate(init_lr: float, config: DictConfig) -> Any:
    """Mava's ``make_learning_rate``: constant, or linear decay to 0 over training."""
    if not config.system.decay_learning_rates:
        return init_lr
    steps = config.system.num_updates * config.system.ppo_epochs * config.system.num_minibatches
    return optax.linear_schedule(init_lr, 0.0, steps)


# ----------------------------------------------------------------------------- learner
def get_learner_fn(env: Any, apply_fns: Tuple[Callable, Callable], update_fns: Tuple[Callable, Callable], config: DictConfig) -> Callable:
    """The learner: ``num_updates_per_eval`` updates of one (device, update-batch) copy."""
    actor_apply, critic_apply = apply_fns
    actor_update, critic_update = update_fns
    sys_cfg = config.system
    num_envs, num_agents = int(config.arch.num_envs), int(env.num_agents)
    rollout, chunk = int(sys_cfg.rollout_length), int(sys_cfg.recurrent_chunk_size)
    num_minibatches = int(sys_cfg.num_minibatches)
    gamma, lam, clip_eps = float(sys_cfg.gamma), float(sys_cfg.gae_lambda), float(sys_cfg.clip_eps)
    ent_coef, vf_coef = float(sys_cfg.ent_coef), float(sys_cfg.vf_coef)
    norm_adv, norm_targets = bool(sys_cfg.normalise_advantages), bool(sys_cfg.normalise_value_targets)
    clip_value = bool(sys_cfg.clip_value)
    norm_obs = bool(sys_cfg.normalise_observations)
    # With one update-batch copy the batch axis is added by hand instead of vmapped, so the
    # auto-reset stays a real `cond` (a vmapped cond computes both branches every step).
    batched = int(sys_cfg.update_batch_size) > 1

    def _normalise_obs(norms: NormStates, agents_view: chex.Array) -> chex.Array:
        return norms.obs.normalise(agents_view) if norms.obs is not None else agents_view

    def _value_scale(vn: ValueNorm) -> Tuple[chex.Array, chex.Array]:
        if not norm_targets:
            return jnp.asarray(0.0), jnp.asarray(1.0)
        return vn.mean, jnp.sqrt(vn.var + 1e-8)

    def _update_step(learner_state: RNNLearnerState, _: Any) -> Tuple[RNNLearnerState, Dict[str, chex.Array]]:
        def _env_step(ls: RNNLearnerState, _: Any) -> Tuple[RNNLearnerState, RNNPPOTransition]:
            params, opt_states, key, env_state, obs, last_done, last_h, norms, ep = ls
            key, policy_key, reset_key = jax.random.split(key, 3)

            x = _normalise_obs(norms, obs.agents_view)
            policy_h, logits = actor_apply(
                params.actor_params, last_h.policy_hidden_state, (x[None], obs.action_mask[None], last_done[None])
            )
            critic_h, value_n = critic_apply(params.critic_params, last_h.critic_hidden_state, (x[None], last_done[None]))
            logits, value_n = logits[0], value_n[0]
            v_mean, v_std = _value_scale(norms.value)
            value = value_n * v_std + v_mean

            action = jax.random.categorical(policy_key, logits, axis=-1).astype(jnp.int32)
            logp, probs = _categorical(logits)
            log_prob = jnp.take_along_axis(logp, action[..., None], axis=-1)[..., 0]

            env_state, timestep = jax.vmap(env.step)(env_state, action)
            done_env = timestep.last()  # (E,)

            episode_return = ep.episode_return + timestep.reward[:, 0]  # shared reward
            episode_length = ep.episode_length + 1
            info = {
                "episode_return": episode_return,
                "episode_length": episode_length,
                "is_terminal_step": done_env,
                "val_accuracy": timestep.extras["val_accuracy"],
                "diverged": timestep.extras["diverged"],
                "action_probs": probs.mean(axis=(0, 1)),
                "log10_lr": jnp.log10(jnp.maximum(env_state.lrs, 1e-10)).mean(),
                "raw_obs": obs.agents_view,
            }
            ep = EpisodeStats(jnp.where(done_env, 0.0, episode_return), jnp.where(done_env, 0, episode_length))

            # Auto-reset the environments whose episode ended (all of them end together unless
            # one diverged, so the reset is computed only on steps where some episode ended).
            def _reset(_: Any) -> Tuple[Any, Observation]:
                new_state, new_ts = jax.vmap(env.reset)(jax.random.split(reset_key, num_envs))
                pick = lambda r, s: jnp.where(done_env.reshape((-1,) + (1,) * (s.ndim - 1)), r, s)  # noqa: E731
                return tree.map(pick, new_state, env_state), tree.map(pick, new_ts.observation, timestep.observation)

            env_state, next_obs = jax.lax.cond(
                jnp.any(done_env), _reset, lambda _: (env_state, timestep.observation), None
            )
            done = jnp.repeat(done_env[:, None], num_agents, axis=1)
            transition = RNNPPOTransition(
                last_done, action, value, timestep.reward, log_prob, x, obs.action_mask, last_h, info
            )
            ls = RNNLearnerState(
                params, opt_states, key, env_state, next_obs, done, HiddenStates(policy_h, critic_h), norms, ep
            )
            return ls, transition

        # STEP ENVIRONMENT FOR ROLLOUT LENGTH
        learner_state, traj = jax.lax.scan(_env_step, learner_state, None, rollout)
        params, opt_states, key, env_state, obs, last_done, hstates, norms, ep = learner_state

        # BOOTSTRAP VALUE AND GAE
        x_last = _normalise_obs(norms, obs.agents_view)
        _, last_val_n = critic_apply(params.critic_params, hstates.critic_hidden_state, (x_last[None], last_done[None]))
        v_mean, v_std = _value_scale(norms.value)
        last_val = last_val_n[0] * v_std + v_mean

        def _gae_step(carry, t: RNNPPOTransition):
            gae, next_value, next_done = carry
            delta = t.reward + gamma * next_value * (1 - next_done) - t.value
            gae = delta + gamma * lam * (1 - next_done) * gae
            return (gae, t.value, t.done.astype(jnp.float32)), gae

        _, advantages = jax.lax.scan(
            _gae_step, (jnp.zeros_like(last_val), last_val, last_done.astype(jnp.float32)), traj, reverse=True, unroll=8
        )
        targets = advantages + traj.value

        # Value-target statistics: update first, then train the critic on standardised targets.
        if norm_targets:
            t_mean, t_var = _pmean_moments(targets, (0, 1, 2), batched)
            vn = ValueNorm(*welford(norms.value.mean, norms.value.var, norms.value.count, t_mean, t_var, targets.size))
            norms = norms._replace(value=vn)
        v_mean, v_std = _value_scale(norms.value)

        def _update_epoch(update_state: Tuple, _: Any) -> Tuple[Tuple, Dict[str, chex.Array]]:
            def _update_minibatch(train_state: Tuple, batch: Tuple) -> Tuple[Tuple, Dict[str, chex.Array]]:
                params, opt_states = train_state
                t, gae, tgt = batch  # time-major (chunk, S, N, ...)

                def _actor_loss_fn(actor_params):
                    _, logits = actor_apply(
                        actor_params, t.hstates.policy_hidden_state[0], (t.obs, t.action_mask, t.done)
                    )
                    logp, _ = _categorical(logits)
                    log_prob = jnp.take_along_axis(logp, t.action[..., None], axis=-1)[..., 0]
                    log_ratio = log_prob - t.log_prob
                    ratio = jnp.exp(log_ratio)
                    adv = (gae - gae.mean()) / (gae.std() + 1e-8) if norm_adv else gae
                    loss_actor = -jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - clip_eps, 1 + clip_eps) * adv).mean()
                    entropy = _entropy(logits).mean()
                    approx_kl = ((ratio - 1) - log_ratio).mean()
                    clip_frac = (jnp.abs(ratio - 1) > clip_eps).mean()
                    return loss_actor - ent_coef * entropy, (loss_actor, entropy, approx_kl, clip_frac)

                def _critic_loss_fn(critic_params):
                    _, value_n = critic_apply(critic_params, t.hstates.critic_hidden_state[0], (t.obs, t.done))
                    target_n = (tgt - v_mean) / v_std
                    old_n = (t.value - v_mean) / v_std
                    losses = jnp.square(value_n - target_n)
                    if clip_value:
                        clipped = old_n + jnp.clip(value_n - old_n, -clip_eps, clip_eps)
                        losses = jnp.maximum(losses, jnp.square(clipped - target_n))
                    value_loss = 0.5 * losses.mean()
                    return vf_coef * value_loss, value_loss

                (actor_total, actor_aux), actor_grads = jax.value_and_grad(_actor_loss_fn, has_aux=True)(params.actor_params)
                (critic_total, value_loss), critic_grads = jax.value_and_grad(_critic_loss_fn, has_aux=True)(params.critic_params)
                # Average over the update batch and the devices (Mava's Anakin pmeans).
                actor_grads, critic_grads = _pmean((actor_grads, critic_grads), batched)

                a_updates, a_opt = actor_update(actor_grads, opt_states.actor_opt_state)
                c_updates, c_opt = critic_update(critic_grads, opt_states.critic_opt_state)
                params = Params(optax.apply_updates(params.actor_params, a_updates), optax.apply_updates(params.critic_params, c_updates))
                loss_actor, entropy, approx_kl, clip_frac = actor_aux
                loss_info = {
                    "total_loss": actor_total + critic_total,
                    "value_loss": value_loss,
                    "actor_loss": loss_actor,
                    "entropy": entropy,
                    "approx_kl": approx_kl,
                    "clip_fraction": clip_frac,
                }
                return (params, OptStates(a_opt, c_opt)), loss_info

            params, opt_states, key = update_state
            key, shuffle_key = jax.random.split(key)
            # (T, E, ...) -> (chunk, E * T / chunk, ...): contiguous sequences of `chunk` steps.
            n_chunks = rollout // chunk

            def to_sequences(x: chex.Array) -> chex.Array:
                x = x.reshape((n_chunks, chunk) + x.shape[1:])
                x = jnp.swapaxes(x, 0, 1)
                return x.reshape((chunk, n_chunks * num_envs) + x.shape[3:])

            batch = tree.map(to_sequences, (traj_train, advantages, targets))
            perm = jax.random.permutation(shuffle_key, n_chunks * num_envs)
            batch = tree.map(lambda x: jnp.take(x, perm, axis=1), batch)
            minibatches = tree.map(
                lambda x: jnp.swapaxes(x.reshape((x.shape[0], num_minibatches, -1) + x.shape[2:]), 0, 1), batch
            )
            (params, opt_states), loss_info = jax.lax.scan(_update_minibatch, (params, opt_states), minibatches)
            return (params, opt_states, key), loss_info

        traj_train = traj._replace(info={})
        key, epoch_key = jax.random.split(key)
        (params, opt_states, _), loss_info = jax.lax.scan(
            _update_epoch, (params, opt_states, epoch_key), None, int(sys_cfg.ppo_epochs)
        )

        # Observation statistics: fold in this rollout (used from the next rollout on).
        if norm_obs:
            raw = traj.info["raw_obs"]
            o_mean, o_var = _pmean_moments(raw, (0, 1, 2), batched)
            count = raw.shape[0] * raw.shape[1] * raw.shape[2]
            norms = norms._replace(obs=norms.obs.update_moments(o_mean, o_var, count))

        learner_state = RNNLearnerState(params, opt_states, key, env_state, obs, last_done, hstates, norms, ep)

        # Per-update metrics (sums and counts, so devices and update batches combine exactly).
        info = traj.info
        term = info["is_terminal_step"].astype(jnp.float32)  # (T, E)
        metrics = {
            "episodes": term.sum(),
            "episode_return_sum": (info["episode_return"] * term).sum(),
            "episode_length_sum": (info["episode_length"] * term).sum(),
            "final_val_accuracy_sum": (info["val_accuracy"] * term).sum(),
            "diverged": info["diverged"].astype(jnp.float32).sum(),
            "val_accuracy": info["val_accuracy"].mean(),
            "reward": traj.reward.mean(),
            "log10_lr": info["log10_lr"].mean(),
            "action_probs": info["action_probs"].mean(0),
            **tree.map(jnp.mean, loss_info),
        }
        return learner_state, metrics

    def learner_fn(learner_state: RNNLearnerState) -> Tuple[RNNLearnerState, Dict[str, chex.Array]]:
        if batched:
            batched_update_step = jax.vmap(_update_step, in_axes=(0, None), axis_name="batch")
        else:

            def batched_update_step(ls: RNNLearnerState, _: Any):
                ls, metrics = _update_step(tree.map(lambda x: x[0], ls), None)
                return tree.map(lambda x: x[None], (ls, metrics))

        return jax.lax.scan(batched_update_step, learner_state, None, int(sys_cfg.num_updates_per_eval))

    return learner_fn


# Compiled learners/evaluators of this process, keyed by everything they depend on, so that
# repeated runs with the same config (tests, benchmarks, a resumed run) compile once.
_LEARNER_CACHE: Dict[str, Callable] = {}
_EVALUATOR_CACHE: Dict[str, Callable] = {}
_CACHE_SIZE = 8


def _cache_put(cache: Dict[str, Callable], key: str, fn: Callable) -> None:
    if len(cache) >= _CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[key] = fn


def compile_key(config: DictConfig, n_devices: int) -> str:
    """What the compiled learner depends on: system (but the seed and the budget), the
    number of envs, the network and the env config."""
    c = OmegaConf.to_container(config, resolve=True)
    sys_c = {k: v for k, v in c["system"].items() if k not in ("seed", "total_timesteps", "num_updates")}
    if c["system"].get("decay_learning_rates"):
        sys_c["num_updates"] = c["system"]["num_updates"]
    return json.dumps(
        {"system": sys_c, "num_envs": c["arch"]["num_envs"], "network": c["network"], "env": c["env"], "devices": n_devices},
        sort_keys=True, default=str,
    )


_identity_pmap = jax.pmap(lambda x: x, axis_name="device")


def shard_like_learner(state: Any) -> Any:
    """Lay out a (devices, ...) state exactly as the pmapped learner returns it, so the
    learner compiles once (a different input sharding would compile it a second time)."""
    return _identity_pmap(tree.map(jnp.asarray, state))


@dataclass
class Learner:
    """Everything ``learner_setup`` builds."""

    learn: Callable  # pmapped learner: RNNLearnerState -> (RNNLearnerState, metrics)
    actor: Any
    critic: Any
    actor_config: NetworkConfig
    critic_config: NetworkConfig
    init_state: RNNLearnerState  # (devices, update_batch_size, ...)


def learner_setup(env: Any, keys: chex.Array, config: DictConfig) -> Learner:
    """Initialise learner_fn, networks, optimisers, environment and states (Mava's layout)."""
    n_devices = len(jax.devices())
    num_agents, num_envs = env.num_agents, int(config.arch.num_envs)
    config.system.num_agents = num_agents
    key, actor_key, critic_key = keys

    actor_cfg, critic_cfg = network_configs(config)
    actor, critic = make_actor(actor_cfg, env.action_dim), make_critic(critic_cfg)
    actor_optim = optax.chain(
        optax.clip_by_global_norm(config.system.max_grad_norm),
        optax.adam(make_learning_rate(config.system.actor_lr, config), eps=1e-5),
    )
    critic_optim = optax.chain(
        optax.clip_by_global_norm(config.system.max_grad_norm),
        optax.adam(make_learning_rate(config.system.critic_lr, config), eps=1e-5),
    )

    f, a = env.obs_dim, env.action_dim
    init_x = jnp.zeros((1, num_envs, num_agents, f), jnp.float32)
    init_mask = jnp.ones((1, num_envs, num_agents, a), bool)
    init_done = jnp.zeros((1, num_envs, num_agents), bool)
    init_h = ScannedRNN.initialize_carry((num_envs, num_agents), actor_cfg.hidden_state_dim)
    init_hc = ScannedRNN.initialize_carry((num_envs, num_agents), critic_cfg.hidden_state_dim)
    actor_params = actor.init(actor_key, init_h, (init_x, init_mask, init_done))
    critic_params = critic.init(critic_key, init_hc, (init_x, init_done))
    params = Params(actor_params, critic_params)
    opt_states = OptStates(actor_optim.init(actor_params), critic_optim.init(critic_params))
    hstates = HiddenStates(init_h, init_hc)

    obs_norm = None
    if config.system.normalise_observations:
        mask = jnp.asarray(continuous_feature_mask(env.features, env.action_dim))
        obs_norm = ObsNormStats.create(mask, config.system.obs_norm_min_std, config.system.obs_norm_clip)
    f32 = lambda v: jnp.asarray(v, jnp.float32)  # noqa: E731  (strong types: no recompilation)
    norms = NormStates(obs_norm, ValueNorm(f32(0.0), f32(1.0), f32(1e-4)))

    key_str = compile_key(config, n_devices)
    learn = _LEARNER_CACHE.get(key_str)
    if learn is None:
        learn = get_learner_fn(env, (actor.apply, critic.apply), (actor_optim.update, critic_optim.update), config)
        learn = jax.pmap(learn, axis_name="device")
        _cache_put(_LEARNER_CACHE, key_str, learn)

    # Environments: (devices, update batch, envs, ...).
    ubs = int(config.system.update_batch_size)
    key, *env_keys = jax.random.split(key, n_devices * ubs * num_envs + 1)
    reset_key = key_str + "|reset"
    if reset_key not in _LEARNER_CACHE:
        _cache_put(_LEARNER_CACHE, reset_key, jax.jit(jax.vmap(env.reset)))
    env_states, timesteps = _LEARNER_CACHE[reset_key](jnp.stack(env_keys))
    reshape = lambda x: x.reshape((n_devices, ubs, num_envs) + x.shape[1:])  # noqa: E731
    env_states = tree.map(reshape, env_states)
    obs = tree.map(reshape, timesteps.observation)

    dones = jnp.ones((num_envs, num_agents), bool)  # the first observation starts an episode
    episode = EpisodeStats(jnp.zeros((num_envs,), jnp.float32), jnp.zeros((num_envs,), jnp.int32))
    replicate = (params, opt_states, hstates, dones, norms, episode)
    replicate = tree.map(lambda x: jnp.broadcast_to(x, (ubs,) + jnp.shape(x)), replicate)
    replicate = flax.jax_utils.replicate(replicate, devices=jax.devices())
    params, opt_states, hstates, dones, norms, episode = replicate
    step_keys = jax.random.split(key, n_devices * ubs).reshape(n_devices, ubs, -1)
    init_state = RNNLearnerState(params, opt_states, step_keys, env_states, obs, dones, hstates, norms, episode)
    init_state = shard_like_learner(init_state)
    return Learner(learn, actor, critic, actor_cfg, critic_cfg, init_state)


# ----------------------------------------------------------------------------- evaluation
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


def make_evaluator(eval_env: Any, actor_config: NetworkConfig, num_episodes: int, greedy: bool) -> Callable:
    """Jitted ``(actor_params, obs_norm, key) -> metrics``: ``num_episodes`` vmapped episodes
    of the evaluation env (no difference reward) through the one episode runner
    (``evaluation.rollouts``), each from initial conditions the generator samples."""
    run = make_episode_runner(eval_env)

    def evaluate(actor_params, obs_norm, key):
        policy = as_policy(eval_env, actor_config, actor_params, obs_norm)

        def one(k):
            return episode_summary(run(policy, k, greedy=greedy))

        return jax.vmap(one)(jax.random.split(key, num_episodes))

    return jax.jit(evaluate)


# ----------------------------------------------------------------------------- experiment
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


def _unreplicate(x: Any) -> Any:
    """First device, first update-batch copy."""
    return tree.map(lambda a: a[0, 0], x)


def make_policy(learner: Learner, state: RNNLearnerState, env: Any, metadata: Dict[str, Any]) -> GannoPolicy:
    """The GannoPolicy of a learner state (first device / update-batch copy)."""
    params = jax.device_get(_unreplicate(state.params.actor_params))
    obs_norm = jax.device_get(_unreplicate(state.norms.obs)) if state.norms.obs is not None else None
    return as_policy(env, learner.actor_config, params, obs_norm, metadata)


def _config_diff(a: Dict[str, Any], b: Dict[str, Any], prefix: str = "") -> List[str]:
    keys = []
    for k in sorted(set(a) | set(b)):
        ka = f"{prefix}{k}"
        va, vb = a.get(k, "<absent>"), b.get(k, "<absent>")
        if isinstance(va, dict) and isinstance(vb, dict):
            keys += _config_diff(va, vb, ka + ".")
        elif va != vb:
            keys.append(f"{ka}: checkpoint {va!r} != now {vb!r}")
    return keys


RESUME_SECTIONS = ("system", "arch", "network", "env")
RESUME_IGNORED = {
    "system.num_agents",
    "arch.num_eval_episodes",
    "arch.evaluation_greedy",
    "arch.absolute_metric",
    "arch.num_absolute_metric_eval_episodes",
}


def _metrics_row(m: Dict[str, np.ndarray], i: int, action_table: Tuple[str, ...]) -> Dict[str, Any]:
    """Combine update i's metrics over devices and update batches."""
    take = lambda k: np.asarray(m[k])[:, i]  # noqa: E731  (devices, ubs) after the update axis
    episodes = float(take("episodes").sum())
    row: Dict[str, Any] = {}
    if episodes > 0:
        row["episode_return"] = float(take("episode_return_sum").sum() / episodes)
        row["episode_length"] = float(take("episode_length_sum").sum() / episodes)
        row["final_val_accuracy"] = float(take("final_val_accuracy_sum").sum() / episodes)
    row["episodes"] = int(episodes)
    for k in ("val_accuracy", "reward", "log10_lr", "entropy", "total_loss", "actor_loss", "value_loss", "approx_kl", "clip_fraction"):
        row[k] = float(take(k).mean())
    row["diverged"] = int(take("diverged").sum())
    probs = np.asarray(m["action_probs"])[:, i].reshape(-1, len(action_table)).mean(0)
    row["action_probs"] = [float(p) for p in probs]
    return row


def run_experiment(_config: DictConfig, *, verbose: bool = True) -> TrainResult:
    """Runs training (or resumes it, with ``logger.checkpointing.load_model``)."""
    config = copy.deepcopy(_config)
    OmegaConf.set_struct(config, False)
    config.logger.system_name = config.logger.get("system_name") or "rec_ippo"
    n_devices = len(jax.devices())
    config = check_config(config, n_devices)

    # --- resume: find the checkpoint and check the config before building anything
    ckpt_cfg = config.logger.checkpointing
    base, system = config.logger.base_exp_path, config.logger.system_name
    uid = ckpt_cfg.save_args.checkpoint_uid
    resume_path = None
    if ckpt_cfg.load_model:
        uid = ckpt_cfg.load_args.checkpoint_uid or checkpointing.latest_run(base, system)
        if not uid:
            raise ConfigError(
                f"logger.checkpointing.load_model=True (--resume) but no checkpoint exists under "
                f"{checkpointing.checkpoint_root(base, system)}."
            )
        ckpts = checkpointing.list_checkpoints(os.path.join(checkpointing.checkpoint_root(base, system), str(uid)))
        if not ckpts:
            raise ConfigError(f"logger.checkpointing.load_args.checkpoint_uid={uid!r}: no complete checkpoint in it.")
        resume_path = ckpts[-1][1]
        with open(os.path.join(resume_path, checkpointing.META_FILE)) as fh:
            saved_cfg = json.load(fh)["metadata"]["config"]
        now_cfg = OmegaConf.to_container(config, resolve=True)
        diff = [
            d for s in RESUME_SECTIONS
            for d in _config_diff(saved_cfg.get(s, {}), now_cfg.get(s, {}), s + ".")
            if d.split(":")[0] not in RESUME_IGNORED
        ]
        if diff:
            raise ConfigError("cannot resume: the config differs from the checkpoint's: " + "; ".join(diff))

    env = environments.make_single(config)
    eval_episodes = int(config.arch.num_eval_episodes)
    eval_env = environments.make_single(config, difference_reward=False) if eval_episodes or config.arch.absolute_metric else None

    key, key_e, actor_key, critic_key = jax.random.split(jax.random.PRNGKey(int(config.system.seed)), 4)
    learner = learner_setup(env, (key, actor_key, critic_key), config)
    learner_state = learner.init_state
    initial_actor_params = jax.device_get(_unreplicate(learner_state.params.actor_params))
    start_eval = 0
    if resume_path is not None:
        learner_state, meta = checkpointing.restore(resume_path, jax.device_get(learner_state))
        learner_state = shard_like_learner(learner_state)
        key_e = jnp.asarray(meta["eval_key"], jnp.uint32)
        start_eval = int(meta["step"])
    uid = str(uid or datetime.now().strftime("%Y%m%d%H%M%S"))
    run_dir = os.path.join(checkpointing.checkpoint_root(base, system), uid)

    steps_per_eval = (
        n_devices * int(config.system.num_updates_per_eval) * int(config.system.rollout_length)
        * int(config.system.update_batch_size) * int(config.arch.num_envs)
    )
    num_evals = int(config.arch.num_evaluation)
    total_steps = steps_per_eval * num_evals
    logger = GannoLogger(config, uid)
    cfg_dict = OmegaConf.to_container(config, resolve=True)
    if verbose:
        print(
            f"rec_ippo on {config.env.scenario.task_name}: {env}, {config.system.num_updates_per_eval * num_evals} "
            f"updates x {steps_per_eval // int(config.system.num_updates_per_eval)} timesteps, "
            f"{n_devices} device(s); run {uid}" + (f", resumed from {resume_path}" if resume_path else "")
        )
    checkpointer = None
    if ckpt_cfg.save_model:
        sa = ckpt_cfg.save_args
        stale = checkpointing.list_checkpoints(run_dir) if resume_path is None else []
        if stale:  # a fresh run reusing a uid: its old checkpoints must not be resumed later
            print(f"note: removing {len(stale)} checkpoint(s) of an earlier run in {run_dir}")
            for _, path in stale:
                shutil.rmtree(path, ignore_errors=True)
        checkpointer = checkpointing.Checkpointer(
            run_dir, {"config": cfg_dict}, sa.save_interval_steps, sa.max_to_keep, sa.keep_period
        )
    evaluator = None
    if eval_episodes:
        ekey = compile_key(config, n_devices) + f"|eval:{eval_episodes}:{bool(config.arch.evaluation_greedy)}"
        evaluator = _EVALUATOR_CACHE.get(ekey)
        if evaluator is None:
            evaluator = make_evaluator(eval_env, learner.actor_config, eval_episodes, bool(config.arch.evaluation_greedy))
            _cache_put(_EVALUATOR_CACHE, ekey, evaluator)
    metadata = {
        "system": system,
        "scenario": str(config.env.scenario.task_name),
        "network": env.network_name,
        "dataset": env.dataset_name,
        "tau": env.tau,
        "single_agent": env.single_agent,
        "num_layers_trained_on": env.num_layers,
        "seed": int(config.system.seed),
        "run": uid,
    }

    history: List[Dict[str, Any]] = []
    eval_history: List[Dict[str, Any]] = []
    best = (-np.inf, None)
    eval_metrics: Dict[str, Any] = {}
    bar = ProgressBar(total_steps, enabled=bool(config.logger.get("progress_bar", True)) and verbose, initial=start_eval * steps_per_eval)
    upe = int(config.system.num_updates_per_eval)
    t_start = time.time()
    t_prev = t_start
    try:
        for eval_step in range(start_eval, num_evals):
            learner_state, metrics = learner.learn(learner_state)
            metrics = jax.device_get(metrics)  # also waits for the learner
            now = time.time()
            rate = steps_per_eval / max(now - t_prev, 1e-9)
            t_prev = now
            for i in range(upe):
                update = eval_step * upe + i + 1
                t = update * steps_per_eval // upe
                row = _metrics_row(metrics, i, tuple(env.action_table.entries))
                history.append({"update": update, "timestep": t, **row})
                shown = {k: v for k, v in row.items() if k != "action_probs"}
                logged = {"update": update, "timestep": t, **shown, "steps_per_second": rate}
                logger.log(logged, t, eval_step, LogEvent.TRAIN, summarise=False)
            t = (eval_step + 1) * steps_per_eval
            bar.update(t, rate)

            if evaluator is not None:
                key_e, k = jax.random.split(key_e)
                params_now = _unreplicate(learner_state.params.actor_params)
                norm_now = _unreplicate(learner_state.norms.obs) if learner_state.norms.obs is not None else None
                eval_metrics = jax.device_get(evaluator(params_now, norm_now, k))
                logger.log({**eval_metrics, "steps_per_second": rate}, t, eval_step, LogEvent.EVAL)
                eval_history.append({"timestep": t, **{k2: float(np.mean(v)) for k2, v in eval_metrics.items()}})
                score = float(np.mean(eval_metrics[config.env.eval_metric]))
                if config.arch.absolute_metric and score >= best[0]:
                    best = (score, (params_now, norm_now))
            if checkpointer is not None:
                checkpointer.save(
                    eval_step + 1, t, learner_state,
                    {"eval_key": np.asarray(key_e).tolist()},
                    force=eval_step + 1 == num_evals,
                )
    finally:
        bar.stop()
    train_seconds = time.time() - t_start

    if config.arch.absolute_metric and best[1] is not None and eval_env is not None:
        n_abs = int(config.arch.num_absolute_metric_eval_episodes)
        abs_eval = make_evaluator(eval_env, learner.actor_config, n_abs, bool(config.arch.evaluation_greedy))
        abs_metrics = jax.device_get(abs_eval(best[1][0], best[1][1], key_e))
        logger.log(abs_metrics, total_steps, num_evals, LogEvent.ABSOLUTE)

    policy = make_policy(learner, learner_state, env, {**metadata, "total_timesteps": total_steps})
    save_policy(os.path.join(run_dir, "policy"), policy)
    logger.stop()
    eval_performance = float(np.mean(eval_metrics[config.env.eval_metric])) if eval_metrics else float("nan")
    if verbose:
        print(f"Recurrent IPPO on GANNO completed in {train_seconds:.1f} s; policy saved to {os.path.join(run_dir, 'policy')}")
    return TrainResult(
        eval_performance=eval_performance,
        policy=policy,
        run_dir=run_dir,
        uid=uid,
        num_updates=int(config.system.num_updates_per_eval) * num_evals,
        total_timesteps=total_steps,
        train_seconds=train_seconds,
        history=history,
        eval_history=eval_history,
        final_state=learner_state,
        initial_actor_params=initial_actor_params,
    )
