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
import os
import sys
import time
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import chex
import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import tree
from omegaconf import DictConfig, OmegaConf

from mava_ganno.env.types import Observation
from mava_ganno.policy import (
    ObsNormStats,
    ScannedRNN,
    continuous_feature_mask,
    make_actor,
    make_critic,
    save_policy,
    welford,
)
from mava_ganno.systems import resume
from mava_ganno.systems.evaluator import Evaluator, make_policy, policy_metadata, unreplicate
from mava_ganno.systems.resume import interrupted_training, make_checkpointer
from mava_ganno.systems.types import (
    Anchor,
    Budget,
    EpisodeStats,
    HiddenStates,
    Learner,
    NormStates,
    OptStates,
    Params,
    RNNLearnerState,
    RNNPPOTransition,
    TrainResult,
    ValueNorm,
)
from mava_ganno.systems.utils import (
    adam_count,
    cache_put,
    categorical,
    categorical_entropy,
    check_groups,
    combine_update_metrics,
    compile_key,
    gae,
    make_optimiser,
    network_configs,
    pmean,
    recurrent_minibatches,
    reset_groups,
    rollout_metrics,
    shard_like_learner,
    shares_of,
    split_per_group,
    weighted,
)
from mava_ganno.systems.validation import ModelSelection, ValidationSuite
from mava_ganno.systems.warm_start import prefit_critic_on_demos, start_from_policy
from mava_ganno.utils import checkpointing
from mava_ganno.utils import make_env as environments
from mava_ganno.utils.config import ConfigError, check_config
from mava_ganno.utils.files import FolderLock, FolderLockedError, Terminated, exit_interrupted
from mava_ganno.utils.logger import GannoLogger, LogEvent, ProgressBar


# ----------------------------------------------------------------------------- learner
def get_learner_fn(envs: Sequence[Any], apply_fns: Tuple[Callable, Callable], update_fns: Tuple[Callable, Callable],
                   config: DictConfig) -> Callable:
    """The learner: ``num_updates_per_eval`` updates of one (device, update-batch) copy.

    ``envs`` are the task groups (one env per network architecture / task; one for a single
    scenario): every group steps ``arch.num_envs`` environments, its layer agents' sequences
    all enter every PPO minibatch, and every mean (losses, advantage and value-target
    statistics, metrics) is over all agent-steps of all groups."""
    actor_apply, critic_apply = apply_fns
    actor_update, critic_update = update_fns
    sys_cfg = config.system
    num_envs, num_groups = int(config.arch.num_envs), len(envs)
    num_agents = [int(e.num_agents) for e in envs]
    rollout, chunk = int(sys_cfg.rollout_length), int(sys_cfg.recurrent_chunk_size)
    num_minibatches = int(sys_cfg.num_minibatches)
    gamma, lam, clip_eps = float(sys_cfg.gamma), float(sys_cfg.gae_lambda), float(sys_cfg.clip_eps)
    ent_coef, vf_coef = float(sys_cfg.ent_coef), float(sys_cfg.vf_coef)
    norm_adv, norm_targets = bool(sys_cfg.normalise_advantages), bool(sys_cfg.normalise_value_targets)
    clip_value = bool(sys_cfg.clip_value)
    norm_obs = bool(sys_cfg.normalise_observations)
    # KL penalty to the anchor (the system.init_policy actor, frozen): coefficient
    # init_policy_kl_coef, decaying linearly to 0 over init_policy_kl_updates updates (default:
    # the whole run), counted in actor SGD steps (epochs x minibatches per update).
    # The coefficient itself is data (Anchor.kl_coef): the compiled learner depends only on
    # whether there is a penalty and on its decay length.
    use_anchor = float(sys_cfg.get("init_policy_kl_coef") or 0.0) > 0
    kl_steps = int(sys_cfg.get("init_policy_kl_updates") or sys_cfg.num_updates) * int(sys_cfg.ppo_epochs) * num_minibatches
    kl_decay = optax.linear_schedule(1.0, 0.0, kl_steps)  # count -> share of the initial coefficient
    # Every agent-step weighs the same, whatever its group: a group's share of a rollout (or a
    # minibatch: every group gives each minibatch the same fraction of its sequences).
    shares = shares_of([num_envs * n for n in num_agents])
    env_shares = shares_of([num_envs] * num_groups)
    # With one update-batch copy the batch axis is added by hand instead of vmapped, so the
    # auto-reset stays a real `cond` (a vmapped cond computes both branches every step).
    batched = int(sys_cfg.update_batch_size) > 1

    def _normalise_obs(norms: NormStates, agents_view: chex.Array) -> chex.Array:
        return norms.obs.normalise(agents_view) if norms.obs is not None else agents_view

    def _value_scale(vn: ValueNorm) -> Tuple[chex.Array, chex.Array]:
        if not norm_targets:
            return jnp.asarray(0.0), jnp.asarray(1.0)
        return vn.mean, jnp.sqrt(vn.var + 1e-8)

    def _moments(xs: Sequence[chex.Array]) -> Tuple[chex.Array, chex.Array]:
        """Mean and variance over every element of every group, the update batch and devices."""
        parts = [(x.mean((0, 1, 2)), jnp.square(x).mean((0, 1, 2))) for x in xs]
        mean, sq = pmean((weighted([p[0] for p in parts], shares), weighted([p[1] for p in parts], shares)), batched)
        return mean, jnp.maximum(sq - jnp.square(mean), 0.0)

    def _group_step(env: Any, n: int, params: Params, norms: NormStates, obs: Observation, last_done: chex.Array,
                    last_h: HiddenStates, ep: EpisodeStats, env_state: Any, policy_key: chex.PRNGKey, reset_key: chex.PRNGKey,
                    anchor: Any = None):
        """One step of one group's environments: act, step, auto-reset, record."""
        x = _normalise_obs(norms, obs.agents_view)
        policy_h, logits = actor_apply(
            params.actor_params, last_h.policy_hidden_state, (x[None], obs.action_mask[None], last_done[None])
        )
        anchor_h, anchor_info = None, {}
        if use_anchor:  # the anchor acts on the same observations with its own memory
            anchor_h, anchor_logits = actor_apply(
                anchor.actor_params, last_h.anchor_hidden_state, (x[None], obs.action_mask[None], last_done[None])
            )
            anchor_info = {"anchor_logp": categorical(anchor_logits[0])[0]}
        critic_h, value_n = critic_apply(params.critic_params, last_h.critic_hidden_state, (x[None], last_done[None]))
        logits, value_n = logits[0], value_n[0]
        v_mean, v_std = _value_scale(norms.value)
        value = value_n * v_std + v_mean

        action = jax.random.categorical(policy_key, logits, axis=-1).astype(jnp.int32)
        logp, probs = categorical(logits)
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
            **anchor_info,
        }
        ep = EpisodeStats(jnp.where(done_env, 0.0, episode_return), jnp.where(done_env, 0, episode_length))

        # Auto-reset the environments whose episode ended (all of them end together unless
        # one diverged, so the reset is computed only on steps where some episode ended).
        def _reset(_: Any) -> Tuple[Any, Observation]:
            new_state, new_ts = jax.vmap(env.reset)(jax.random.split(reset_key, num_envs))
            pick = lambda r, s: jnp.where(done_env.reshape((-1,) + (1,) * (s.ndim - 1)), r, s)  # noqa: E731
            return tree.map(pick, new_state, env_state), tree.map(pick, new_ts.observation, timestep.observation)

        env_state, next_obs = jax.lax.cond(jnp.any(done_env), _reset, lambda _: (env_state, timestep.observation), None)
        done = jnp.repeat(done_env[:, None], n, axis=1)
        transition = RNNPPOTransition(last_done, action, value, timestep.reward, log_prob, x, obs.action_mask, last_h, info)
        return (env_state, next_obs, done, HiddenStates(policy_h, critic_h, anchor_h), ep), transition

    def _update_step(learner_state: RNNLearnerState, _: Any) -> Tuple[RNNLearnerState, Dict[str, chex.Array]]:
        def _env_step(ls: RNNLearnerState, _: Any) -> Tuple[RNNLearnerState, Tuple[RNNPPOTransition, ...]]:
            params, opt_states, key, env_state, obs, last_done, last_h, norms, ep, anchor = ls
            key, policy_key, reset_key = jax.random.split(key, 3)
            out = [
                _group_step(envs[g], num_agents[g], params, norms, obs[g], last_done[g], last_h[g], ep[g], env_state[g], pk, rk,
                            anchor)
                for g, (pk, rk) in enumerate(zip(split_per_group(policy_key, num_groups), split_per_group(reset_key, num_groups)))
            ]
            carry, transitions = zip(*out)
            env_state, next_obs, done, hstates, ep = (tuple(c) for c in zip(*carry))
            return (RNNLearnerState(params, opt_states, key, env_state, next_obs, done, hstates, norms, ep, anchor),
                    tuple(transitions))

        # STEP ENVIRONMENT FOR ROLLOUT LENGTH
        learner_state, traj = jax.lax.scan(_env_step, learner_state, None, rollout)
        params, opt_states, key, env_state, obs, last_done, hstates, norms, ep, anchor = learner_state

        # BOOTSTRAP VALUE AND GAE (per group)
        v_mean, v_std = _value_scale(norms.value)

        advantages, targets = [], []
        for g in range(num_groups):
            x_last = _normalise_obs(norms, obs[g].agents_view)
            _, last_val_n = critic_apply(
                params.critic_params, hstates[g].critic_hidden_state, (x_last[None], last_done[g][None])
            )
            adv = gae(traj[g], last_val_n[0] * v_std + v_mean, last_done[g], gamma, lam)
            advantages.append(adv)
            targets.append(adv + traj[g].value)

        # Value-target statistics: update first, then train the critic on standardised targets.
        if norm_targets:
            t_mean, t_var = _moments(targets)
            size = sum(t.size for t in targets)
            vn = ValueNorm(*welford(norms.value.mean, norms.value.var, norms.value.count, t_mean, t_var, size))
            norms = norms._replace(value=vn)
        v_mean, v_std = _value_scale(norms.value)

        def _normalised_advantages(gaes: Sequence[chex.Array]) -> List[chex.Array]:
            if not norm_adv:
                return list(gaes)
            if num_groups == 1:
                return [(gaes[0] - gaes[0].mean()) / (gaes[0].std() + 1e-8)]
            mean = weighted([a.mean() for a in gaes], shares)
            std = jnp.sqrt(weighted([jnp.square(a - mean).mean() for a in gaes], shares))
            return [(a - mean) / (std + 1e-8) for a in gaes]

        def _update_minibatch(train_state: Tuple, batch: Tuple) -> Tuple[Tuple, Dict[str, chex.Array]]:
            params, opt_states = train_state  # batch: per group (t, gae, tgt), time-major (chunk, S, N, ...)
            anchor_coef = anchor.kl_coef * kl_decay(adam_count(opt_states.actor_opt_state)) if use_anchor else 0.0

            def _actor_loss_fn(actor_params):
                advs = _normalised_advantages([b[1] for b in batch])
                parts = []
                for (t, _, _), adv in zip(batch, advs):
                    _, logits = actor_apply(actor_params, t.hstates.policy_hidden_state[0], (t.obs, t.action_mask, t.done))
                    logp, _ = categorical(logits)
                    log_prob = jnp.take_along_axis(logp, t.action[..., None], axis=-1)[..., 0]
                    log_ratio = log_prob - t.log_prob
                    ratio = jnp.exp(log_ratio)
                    anchor_kl = jnp.asarray(0.0)
                    if use_anchor:  # KL(anchor || policy) per agent-step (actions the anchor never takes: 0)
                        a_logp = t.info["anchor_logp"]
                        a_p = jnp.exp(a_logp)
                        anchor_kl = jnp.sum(jnp.where(a_p > 0, a_p * (a_logp - logp), 0.0), axis=-1).mean()
                    parts.append((
                        -jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - clip_eps, 1 + clip_eps) * adv).mean(),
                        categorical_entropy(logits).mean(),
                        ((ratio - 1) - log_ratio).mean(),
                        (jnp.abs(ratio - 1) > clip_eps).mean(),
                        anchor_kl,
                    ))
                loss_actor, entropy, approx_kl, clip_frac, anchor_kl = (weighted(p, shares) for p in zip(*parts))
                total = loss_actor - ent_coef * entropy + anchor_coef * anchor_kl
                return total, (loss_actor, entropy, approx_kl, clip_frac, anchor_kl)

            def _critic_loss_fn(critic_params):
                parts = []
                for t, _, tgt in batch:
                    _, value_n = critic_apply(critic_params, t.hstates.critic_hidden_state[0], (t.obs, t.done))
                    target_n = (tgt - v_mean) / v_std
                    old_n = (t.value - v_mean) / v_std
                    losses = jnp.square(value_n - target_n)
                    if clip_value:
                        clipped = old_n + jnp.clip(value_n - old_n, -clip_eps, clip_eps)
                        losses = jnp.maximum(losses, jnp.square(clipped - target_n))
                    parts.append(0.5 * losses.mean())
                value_loss = weighted(parts, shares)
                return vf_coef * value_loss, value_loss

            (actor_total, actor_aux), actor_grads = jax.value_and_grad(_actor_loss_fn, has_aux=True)(params.actor_params)
            (critic_total, value_loss), critic_grads = jax.value_and_grad(_critic_loss_fn, has_aux=True)(params.critic_params)
            # Average over the update batch and the devices (Mava's Anakin pmeans).
            actor_grads, critic_grads = pmean((actor_grads, critic_grads), batched)

            a_updates, a_opt = actor_update(actor_grads, opt_states.actor_opt_state)
            c_updates, c_opt = critic_update(critic_grads, opt_states.critic_opt_state)
            params = Params(optax.apply_updates(params.actor_params, a_updates), optax.apply_updates(params.critic_params, c_updates))
            loss_actor, entropy, approx_kl, clip_frac, anchor_kl = actor_aux
            loss_info = {
                "total_loss": actor_total + critic_total,
                "value_loss": value_loss,
                "actor_loss": loss_actor,
                "entropy": entropy,
                "approx_kl": approx_kl,
                "clip_fraction": clip_frac,
            }
            if use_anchor:
                loss_info.update(anchor_kl=anchor_kl, anchor_kl_coef=jnp.asarray(anchor_coef, jnp.float32))
            return (params, OptStates(a_opt, c_opt)), loss_info

        def _update_epoch(update_state: Tuple, _: Any) -> Tuple[Tuple, Dict[str, chex.Array]]:
            params, opt_states, key = update_state
            key, shuffle_key = jax.random.split(key)
            minibatches = recurrent_minibatches(shuffle_key, tuple(zip(traj_train, advantages, targets)), chunk, num_minibatches)
            (params, opt_states), loss_info = jax.lax.scan(_update_minibatch, (params, opt_states), minibatches)
            return (params, opt_states, key), loss_info

        traj_train = tuple(t._replace(info={k: v for k, v in t.info.items() if k == "anchor_logp"}) for t in traj)
        key, epoch_key = jax.random.split(key)
        (params, opt_states, _), loss_info = jax.lax.scan(
            _update_epoch, (params, opt_states, epoch_key), None, int(sys_cfg.ppo_epochs)
        )

        # Observation statistics: fold in this rollout (used from the next rollout on).
        if norm_obs:
            raws = [t.info["raw_obs"] for t in traj]
            o_mean, o_var = _moments(raws)
            count = sum(r.shape[0] * r.shape[1] * r.shape[2] for r in raws)
            norms = norms._replace(obs=norms.obs.update_moments(o_mean, o_var, count))

        learner_state = RNNLearnerState(params, opt_states, key, env_state, obs, last_done, hstates, norms, ep, anchor)

        metrics = rollout_metrics(traj, loss_info, shares, env_shares)
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


# Compiled learners of this process, keyed by everything they depend on, so that
# repeated runs with the same config (tests, benchmarks, a resumed run) compile once.
_LEARNER_CACHE: Dict[str, Callable] = {}


def learner_setup(envs: Sequence[Any], keys: chex.Array, config: DictConfig) -> Learner:
    """Initialise learner_fn, networks, optimisers, environments and states (Mava's layout).

    ``envs``: one env per task group (``utils.make_env.make_groups``); a single Ganno env is
    accepted for a single scenario."""
    envs = list(envs) if isinstance(envs, (list, tuple)) else [envs]
    check_groups(envs)
    env = envs[0]
    n_devices = len(jax.devices())
    num_envs = int(config.arch.num_envs)
    config.system.num_agents = max(e.num_agents for e in envs)
    key, actor_key, critic_key = keys

    actor_cfg, critic_cfg = network_configs(config)
    actor, critic = make_actor(actor_cfg, env.action_dim), make_critic(critic_cfg)
    actor_optim, critic_optim = make_optimiser(config.system.actor_lr, config), make_optimiser(config.system.critic_lr, config)

    use_anchor = float(config.system.get("init_policy_kl_coef") or 0.0) > 0

    def init_hidden(n: int) -> HiddenStates:
        return HiddenStates(
            ScannedRNN.initialize_carry((num_envs, n), actor_cfg.hidden_state_dim),
            ScannedRNN.initialize_carry((num_envs, n), critic_cfg.hidden_state_dim),
            ScannedRNN.initialize_carry((num_envs, n), actor_cfg.hidden_state_dim) if use_anchor else None,
        )

    f, a, n0 = env.obs_dim, env.action_dim, env.num_agents
    init_x = jnp.zeros((1, num_envs, n0, f), jnp.float32)
    init_mask = jnp.ones((1, num_envs, n0, a), bool)
    init_done = jnp.zeros((1, num_envs, n0), bool)
    h0 = init_hidden(n0)
    actor_params = actor.init(actor_key, h0.policy_hidden_state, (init_x, init_mask, init_done))
    critic_params = critic.init(critic_key, h0.critic_hidden_state, (init_x, init_done))
    params = Params(actor_params, critic_params)
    opt_states = OptStates(actor_optim.init(actor_params), critic_optim.init(critic_params))
    hstates = tuple(init_hidden(e.num_agents) for e in envs)

    obs_norm = None
    if config.system.normalise_observations:
        mask = jnp.asarray(continuous_feature_mask(env.features, env.action_dim))
        obs_norm = ObsNormStats.create(mask, config.system.obs_norm_min_std, config.system.obs_norm_clip)
    if config.system.get("init_policy"):
        actor_params, obs_norm = start_from_policy(str(config.system.init_policy), env, actor_cfg, actor_params, obs_norm)
        params = Params(actor_params, critic_params)
        opt_states = OptStates(actor_optim.init(actor_params), opt_states.critic_opt_state)
    f32 = lambda v: jnp.asarray(v, jnp.float32)  # noqa: E731  (strong types: no recompilation)
    # check_config: a KL coefficient needs init_policy
    anchor = Anchor(actor_params, f32(config.system.init_policy_kl_coef)) if use_anchor else None
    target_stats, prefit_history = (0.0, 1.0, 1e-4), None  # value-target (mean, var, count)
    if config.system.get("critic_prefit_demos"):
        critic_params, fitted_stats, prefit_history = prefit_critic_on_demos(
            str(config.system.critic_prefit_demos), env, critic, critic_cfg, critic_params, obs_norm, config)
        target_stats = fitted_stats or target_stats
        params = Params(params.actor_params, critic_params)
        opt_states = OptStates(opt_states.actor_opt_state, critic_optim.init(critic_params))
    norms = NormStates(obs_norm, ValueNorm(*map(f32, target_stats)))

    key_str = compile_key(config, n_devices)
    learn = _LEARNER_CACHE.get(key_str)
    if learn is None:
        learn = get_learner_fn(envs, (actor.apply, critic.apply), (actor_optim.update, critic_optim.update), config)
        learn = jax.pmap(learn, axis_name="device")
        cache_put(_LEARNER_CACHE, key_str, learn)

    # Environments: per group (devices, update batch, envs, ...).
    ubs = int(config.system.update_batch_size)
    key, env_states, obs = reset_groups(envs, key, (n_devices, ubs, num_envs), _LEARNER_CACHE, key_str)
    dones = tuple(jnp.ones((num_envs, e.num_agents), bool) for e in envs)  # the first observation starts an episode
    episode = tuple(EpisodeStats(jnp.zeros((num_envs,), jnp.float32), jnp.zeros((num_envs,), jnp.int32)) for _ in envs)
    replicate = (params, opt_states, hstates, dones, norms, episode, anchor)
    replicate = tree.map(lambda x: jnp.broadcast_to(x, (ubs,) + jnp.shape(x)), replicate)
    replicate = flax.jax_utils.replicate(replicate, devices=jax.devices())
    params, opt_states, hstates, dones, norms, episode, anchor = replicate
    step_keys = jax.random.split(key, n_devices * ubs).reshape(n_devices, ubs, -1)
    init_state = RNNLearnerState(params, opt_states, step_keys, tuple(env_states), tuple(obs), dones, hstates, norms, episode,
                                 anchor)
    init_state = shard_like_learner(init_state)
    return Learner(learn, actor, critic, actor_cfg, critic_cfg, init_state, prefit_history)


# ----------------------------------------------------------------------------- experiment


def _train(learner: Learner, state: RNNLearnerState, start: int, budget: Budget, key_e: chex.PRNGKey,
           evaluator: Evaluator, selection: Optional[ModelSelection], logger: GannoLogger, checkpointer: Any,
           action_table: Tuple[str, ...], bar: ProgressBar) -> Tuple[RNNLearnerState, chex.PRNGKey, List[Dict[str, Any]]]:
    """Mava's loop: learn for an evaluation step, log every update, evaluate (and validate:
    model selection), checkpoint."""
    history: List[Dict[str, Any]] = []
    t_prev = time.time()
    for eval_step in range(start, budget.num_evals):
        state, metrics = learner.learn(state)
        metrics = jax.device_get(metrics)  # also waits for the learner
        now = time.time()
        rate, t_prev = budget.steps_per_eval / max(now - t_prev, 1e-9), now
        for i in range(budget.updates_per_eval):
            update = eval_step * budget.updates_per_eval + i + 1
            t = update * budget.steps_per_eval // budget.updates_per_eval
            row = combine_update_metrics(metrics, i, action_table)
            history.append({"update": update, "timestep": t, **row})
            shown = {k: v for k, v in row.items() if k != "action_probs"}
            logger.log({"update": update, "timestep": t, **shown, "steps_per_second": rate}, t, eval_step, LogEvent.TRAIN, summarise=False)
        t = (eval_step + 1) * budget.steps_per_eval
        bar.update(t, rate)
        if evaluator.enabled:
            key_e, k = jax.random.split(key_e)
            logger.log({**evaluator(state, k, t), "steps_per_second": rate}, t, eval_step, LogEvent.EVAL)
        validated = selection(state, eval_step, budget.num_evals, t) if selection is not None else None
        if validated is not None:  # the logger takes numbers: the selected mode as a 0/1 flag
            numbers = {k: v for k, v in validated.items() if not isinstance(v, str)}
            logger.log({**numbers, "validation_greedy": float(validated["validation_mode"] == "greedy")}, t, eval_step, LogEvent.EVAL)
        if checkpointer is not None:
            extra = {"eval_key": np.asarray(key_e).tolist()}
            checkpointer.save(eval_step + 1, t, state, extra, force=eval_step + 1 == budget.num_evals)
    return state, key_e, history


def run_experiment(_config: DictConfig, *, verbose: bool = True) -> TrainResult:
    """Runs training (or resumes it, with ``logger.checkpointing.load_model``)."""
    config = copy.deepcopy(_config)
    OmegaConf.set_struct(config, False)
    config.logger.system_name = config.logger.get("system_name") or "rec_ippo"
    n_devices = len(jax.devices())
    config = check_config(config, n_devices)
    point = resume.find_resume_point(config)  # before building anything
    resume.check_output_dir(config, point)  # an unwritable output fails now, not after training
    uid = point.uid if point else str(config.logger.checkpointing.save_args.checkpoint_uid or datetime.now().strftime("%Y%m%d%H%M%S"))
    run_dir = os.path.join(checkpointing.checkpoint_root(config.logger.base_exp_path, config.logger.system_name), uid)
    try:
        with FolderLock(run_dir, warn=lambda m: print(m, file=sys.stderr), beside=True):  # one process per run
            return _run(config, n_devices, point, uid, run_dir, verbose)
    except FolderLockedError as e:
        raise ConfigError(str(e)) from None
    except (KeyboardInterrupt, Terminated) as e:  # the caller says what was kept (interrupted_training)
        e.training = dict(run_dir=run_dir, uid=uid, total=Budget.of(config, n_devices).total,
                          saving=bool(config.logger.checkpointing.save_model),
                          every=int(config.logger.checkpointing.save_args.save_interval_steps))  # fmt: skip
        raise


def _run(config: DictConfig, n_devices: int, point: Any, uid: str, run_dir: str, verbose: bool) -> TrainResult:
    envs = environments.make_groups(config)
    env, arch = envs[0], config.arch
    eval_envs = environments.make_groups(config, difference_reward=False) if arch.num_eval_episodes or arch.absolute_metric else []
    key, key_e, actor_key, critic_key = jax.random.split(jax.random.PRNGKey(int(config.system.seed)), 4)
    learner = learner_setup(envs, (key, actor_key, critic_key), config)
    state, start = learner.init_state, 0
    initial_actor_params = jax.device_get(unreplicate(state.params.actor_params))
    if point is not None:
        state, key_e, start = resume.restore(point, jax.device_get(state))
        state = shard_like_learner(state)
    budget = Budget.of(config, n_devices)
    logger = GannoLogger(config, uid)
    if verbose:
        print(
            f"rec_ippo on {config.env.scenario.task_name}: {', '.join(map(str, envs))}, {budget.updates_per_eval * budget.num_evals} "
            f"updates x {budget.steps_per_eval // budget.updates_per_eval} timesteps, "
            f"{n_devices} device(s); run {uid}" + (f", resumed from {point.path}" if point else "")
        )
    if verbose and learner.critic_prefit:
        first, last = learner.critic_prefit[0], learner.critic_prefit[-1]
        print(f"critic pre-fit on {config.system.critic_prefit_demos}: {len(learner.critic_prefit)} epochs, loss "
              f"{first['loss']:.4f} -> {last['loss']:.4f}, explained variance {last['explained_variance']:.3f}")
    checkpointer = make_checkpointer(config, run_dir, resuming=point is not None)
    suite = ValidationSuite.from_config(config)
    metadata = policy_metadata(config, envs, uid, budget.total)
    selection = None if suite is None else ModelSelection(
        suite, os.path.join(run_dir, "policy_best"), lambda st: make_policy(learner.actor_config, st, env, metadata),
        resuming=point is not None)
    evaluator = Evaluator(eval_envs, learner.actor_config, arch, config.env.eval_metric, compile_key(config, n_devices))
    show = bool(config.logger.get("progress_bar", True)) and verbose
    bar = ProgressBar(budget.total, enabled=show, initial=start * budget.steps_per_eval)
    t_start = time.time()
    try:
        state, key_e, history = _train(learner, state, start, budget, key_e, evaluator, selection, logger, checkpointer,
                                       tuple(env.action_table.entries), bar)
    finally:
        bar.stop()
    train_seconds = time.time() - t_start

    abs_metrics = evaluator.absolute_metric(key_e)
    if abs_metrics is not None:
        logger.log(abs_metrics, budget.total, budget.num_evals, LogEvent.ABSOLUTE)
    policy = make_policy(learner.actor_config, state, env, metadata)
    policy_dir = resume.save_final_policy(run_dir, policy, save_policy)
    logger.stop()
    if verbose:
        print(f"Recurrent IPPO on GANNO completed in {train_seconds:.1f} s; policy saved to {policy_dir}")
    return TrainResult(
        evaluator.performance, policy, run_dir, uid, budget.updates_per_eval * budget.num_evals, budget.total,
        train_seconds, history, evaluator.history, state, initial_actor_params,
        selection.history if selection is not None else [], selection.best_dir if selection is not None else None,
        policy_dir,
    )


def hydra_entry_point(cfg: DictConfig) -> float:
    """Mava's entry point: train with the composed config, return the evaluation performance.

    ``mava_ganno.train.main`` wraps it with ``hydra.main`` (the config directory is the
    installed ``mava_ganno.configs``). Config errors exit with status 2 and one line."""
    OmegaConf.set_struct(cfg, False)
    cfg.logger.system_name = "rec_ippo"
    try:
        return run_experiment(cfg).eval_performance
    except ConfigError as e:
        print(f"Config error: {e}", file=sys.stderr)
        sys.exit(2)
    except (KeyboardInterrupt, Terminated) as e:
        uid = getattr(e, "training", {}).get("uid", "")
        exit_interrupted(e, interrupted_training(e, f"`ganno train --resume logger.checkpointing.load_args.checkpoint_uid={uid}` "
                                                    "with the same overrides"))  # fmt: skip
