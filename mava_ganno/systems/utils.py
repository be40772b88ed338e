"""Pieces of the recurrent IPPO system around its learner: masked categorical helpers, means
over the update-batch and device axes, the network and optimiser configs read from Mava's
config groups, the compiled-function cache, the learner's building blocks (GAE, recurrent
minibatches, per-update metrics) and the per-update metrics row."""

from __future__ import annotations

import functools
import json
from typing import Any, Callable, Dict, List, Sequence, Tuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import tree
from omegaconf import DictConfig, OmegaConf

from mava_ganno.policy import NetworkConfig
from mava_ganno.utils.config import ConfigError


def categorical(logits: chex.Array) -> Tuple[chex.Array, chex.Array]:
    """(log_probs, probs) of masked logits."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    return logp, jnp.exp(logp)


def categorical_entropy(logits: chex.Array) -> chex.Array:
    logp, p = categorical(logits)
    return -jnp.sum(jnp.where(p > 0, p * logp, 0.0), axis=-1)


def pmean(x: Any, batched: bool) -> Any:
    """Mean over the update-batch axis (when vmapped) and the device axis."""
    if batched:
        x = jax.lax.pmean(x, axis_name="batch")
    return jax.lax.pmean(x, axis_name="device")


def network_configs(config: DictConfig) -> Tuple[NetworkConfig, NetworkConfig]:
    """(actor, critic) NetworkConfig from Mava's ``network`` config group."""
    net = config.network

    def one(part: DictConfig) -> NetworkConfig:  # check_config made sure the two torsos agree
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


CACHE_SIZE = 8


def make_optimiser(init_lr: float, config: DictConfig) -> optax.GradientTransformation:
    """Adam (eps 1e-5) after clipping the global gradient norm to ``system.max_grad_norm``, with
    the learning rate of ``make_learning_rate``."""
    return optax.chain(
        optax.clip_by_global_norm(config.system.max_grad_norm),
        optax.adam(make_learning_rate(init_lr, config), eps=1e-5),
    )


def cache_put(cache: Dict[str, Callable], key: str, fn: Callable) -> None:
    if len(cache) >= CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[key] = fn


def compile_key(config: DictConfig, n_devices: int) -> str:
    """What the compiled learner depends on: system (but the seed and the budget), the
    number of envs, the network and the env config."""
    c = OmegaConf.to_container(config, resolve=True)
    # not the learner's code: the seed, the budget, what only sets the initial parameters, and
    # the KL coefficient's value (data: Anchor.kl_coef; only whether there is one matters)
    skip = ("seed", "total_timesteps", "num_updates", "init_policy", "critic_prefit_demos", "critic_prefit_epochs",
            "init_policy_kl_coef")
    sys_c = {k: v for k, v in c["system"].items() if k not in skip}
    sys_c["kl_penalty"] = bool(c["system"].get("init_policy_kl_coef"))
    kl_over_the_run = c["system"].get("init_policy_kl_coef") and not c["system"].get("init_policy_kl_updates")
    if c["system"].get("decay_learning_rates") or kl_over_the_run:  # schedules over num_updates
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


def combine_update_metrics(m: Dict[str, np.ndarray], i: int, action_table: Tuple[str, ...]) -> Dict[str, Any]:
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
    for k in ("anchor_kl", "anchor_kl_coef"):  # with system.init_policy_kl_coef > 0
        if k in m:
            row[k] = float(take(k).mean())
    row["diverged"] = int(take("diverged").sum())
    probs = np.asarray(m["action_probs"])[:, i].reshape(-1, len(action_table)).mean(0)
    row["action_probs"] = [float(p) for p in probs]
    return row


# ----------------------------------------------------------------------------- task groups
def weighted(parts: Sequence[chex.Array], weights: Sequence[float]) -> chex.Array:
    """sum_g weights[g] * parts[g]; with one group exactly parts[0] (its weight is 1.0)."""
    return functools.reduce(lambda x, y: x + y, [w * p for w, p in zip(weights, parts)])


def shares_of(sizes: Sequence[int]) -> Tuple[float, ...]:
    """Each group's share of all elements (python floats, so one group gets exactly 1.0)."""
    total = float(sum(sizes))
    return tuple(n / total for n in sizes)


def split_per_group(key: chex.PRNGKey, num_groups: int) -> List[chex.PRNGKey]:
    """One key per group; one group uses the key itself (the single-task key chain)."""
    return [key] if num_groups == 1 else list(jax.random.split(key, num_groups))


def check_groups(envs: Sequence[Any]) -> None:
    """Task groups share one policy: same features, action table, LR cap, LR decay and agent mode."""
    def sig(e: Any) -> Tuple:
        return (tuple(e.features), tuple(e.action_table.entries), float(e.lr_max), bool(e.single_agent), e.obs_dim,
                e.lr_decay)

    bad = [f"group {g}: {sig(e)}" for g, e in enumerate(envs) if sig(e) != sig(envs[0])]
    if bad:
        raise ConfigError(
            "every task group must share features, action_table, lr_max, single_agent and lr_decay (one shared policy); "
            f"group 0 has {sig(envs[0])}, but " + "; ".join(bad)
        )


def reset_groups(envs: Sequence[Any], key: chex.PRNGKey, shape: Tuple[int, int, int], cache: Dict[str, Callable],
                 cache_key: str) -> Tuple[chex.PRNGKey, List[Any], List[Any]]:
    """(key, env states, observations) of every group's first reset, laid out ``shape`` =
    (devices, update batch, envs); each group's vmapped reset compiled once (``cache``)."""
    per_group = int(np.prod(shape))
    key, *env_keys = jax.random.split(key, per_group * len(envs) + 1)
    reshape = lambda x: x.reshape(tuple(shape) + x.shape[1:])  # noqa: E731
    env_states, obs = [], []
    for g, e in enumerate(envs):
        reset_key = cache_key + f"|reset:{g}"
        if reset_key not in cache:
            cache_put(cache, reset_key, jax.jit(jax.vmap(e.reset)))
        states, timesteps = cache[reset_key](jnp.stack(env_keys[g * per_group:(g + 1) * per_group]))
        env_states.append(tree.map(reshape, states))
        obs.append(tree.map(reshape, timesteps.observation))
    return key, env_states, obs


# ----------------------------------------------------------------------------- learner pieces
def adam_count(opt_state: Any) -> chex.Array:
    """The step count of the (first) Adam state in an optax state: the actor's SGD steps."""
    is_adam = lambda x: isinstance(x, optax.ScaleByAdamState)  # noqa: E731
    for s in jax.tree_util.tree_leaves(opt_state, is_leaf=is_adam):
        if is_adam(s):
            return s.count
    raise ValueError("the actor optimiser has no Adam state to count its steps")


def gae(traj: Any, last_value: chex.Array, last_done: chex.Array, gamma: float, lam: float) -> chex.Array:
    """Generalised advantage estimates (T, E, N) of a time-major trajectory (``reward``,
    ``value``, ``done``: whether the step's observation started an episode), bootstrapped with
    the value of the observation after it."""

    def _gae_step(carry, t):
        advantage, next_value, next_done = carry
        delta = t.reward + gamma * next_value * (1 - next_done) - t.value
        advantage = delta + gamma * lam * (1 - next_done) * advantage
        return (advantage, t.value, t.done.astype(jnp.float32)), advantage

    init = (jnp.zeros_like(last_value), last_value, last_done.astype(jnp.float32))
    return jax.lax.scan(_gae_step, init, traj, reverse=True, unroll=8)[1]


def recurrent_minibatches(key: chex.PRNGKey, groups: Sequence[Any], chunk: int, num_minibatches: int) -> Tuple[Any, ...]:
    """Per group, its time-major (T, E, ...) batch cut into sequences of ``chunk`` contiguous
    steps, shuffled and split: (num_minibatches, chunk, E * T / chunk / num_minibatches, ...)."""

    def to_sequences(x: chex.Array) -> chex.Array:
        n_chunks = x.shape[0] // chunk
        x = x.reshape((n_chunks, chunk) + x.shape[1:])
        x = jnp.swapaxes(x, 0, 1)
        return x.reshape((chunk, n_chunks * x.shape[2]) + x.shape[3:])

    minibatches = []
    for group, k in zip(groups, split_per_group(key, len(groups))):
        batch = tree.map(to_sequences, group)
        perm = jax.random.permutation(k, tree.leaves(batch)[0].shape[1])
        batch = tree.map(lambda x: jnp.take(x, perm, axis=1), batch)
        minibatches.append(tree.map(lambda x: jnp.swapaxes(x.reshape((x.shape[0], num_minibatches, -1) + x.shape[2:]), 0, 1), batch))
    return tuple(minibatches)


def rollout_metrics(traj: Sequence[Any], loss_info: Dict[str, chex.Array], shares: Sequence[float],
                    env_shares: Sequence[float]) -> Dict[str, chex.Array]:
    """One update's metrics over the groups' rollouts (sums and counts, so devices and update
    batches combine exactly: ``combine_update_metrics``)."""

    def total(f: Callable) -> chex.Array:
        return functools.reduce(lambda x, y: x + y, [f(t.info) for t in traj])

    def term(info: Dict[str, chex.Array]) -> chex.Array:
        return info["is_terminal_step"].astype(jnp.float32)  # (T, E)

    return {
        "episodes": total(lambda i: term(i).sum()),
        "episode_return_sum": total(lambda i: (i["episode_return"] * term(i)).sum()),
        "episode_length_sum": total(lambda i: (i["episode_length"] * term(i)).sum()),
        "final_val_accuracy_sum": total(lambda i: (i["val_accuracy"] * term(i)).sum()),
        "diverged": total(lambda i: i["diverged"].astype(jnp.float32).sum()),
        "val_accuracy": weighted([t.info["val_accuracy"].mean() for t in traj], env_shares),
        "reward": weighted([t.reward.mean() for t in traj], shares),
        "log10_lr": weighted([t.info["log10_lr"].mean() for t in traj], env_shares),
        "action_probs": weighted([t.info["action_probs"].mean(0) for t in traj], env_shares),
        **tree.map(jnp.mean, loss_info),
    }
