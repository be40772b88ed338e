"""Behaviour cloning of the shared recurrent policy on demonstrations (issue 11, step 2).

The GANNO actor (``mava_ganno.policy``: torso -> GRU -> torso -> logits) is trained to take
the demonstrated action at every valid step of every agent sequence (``offline.demos``), by
masked cross-entropy through the GRU. Recurrence is trained as recurrent IPPO trains it:
sequences start from a zero hidden state (reset at their first step) and gradients are
truncated every ``chunk`` steps (``system.recurrent_chunk_size`` = 8), the hidden state at a
chunk's start carried forward without gradient. The observation-normalisation statistics are
the data's (its valid steps, continuous columns only), so the cloned policy normalises as a
policy trained by recurrent IPPO would.

Optional outcome filtering: ``keep_top`` keeps, per task group, the episodes whose final
hold-out accuracy is in the top fraction (e.g. 0.3), so bad schedules (too high peaks) are
not imitated.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mava_ganno.policy import GannoPolicy, NetworkConfig, init_policy
from mava_ganno.policy.networks import ScannedRNN


def keep_top_episodes(data: Dict[str, Any], fraction: float) -> np.ndarray:
    """(S, T) mask: the data's mask restricted to each group's top ``fraction`` of episodes
    by final hold-out accuracy (at least one episode per group)."""
    if not 0.0 < float(fraction) <= 1.0:
        raise ValueError(f"keep_top must be a fraction in (0, 1], got {fraction!r}; e.g. 0.3 keeps the best 30%.")
    keep = np.zeros(len(data["episode"]), bool)
    for g in np.unique(data["group"]):
        rows = data["group"] == g
        episodes, first = np.unique(data["episode"][rows], return_index=True)
        acc = data["final_val_accuracy"][rows][first]
        n = max(1, int(round(fraction * len(episodes))))
        best = episodes[np.argsort(-acc, kind="stable")[:n]]
        keep |= rows & np.isin(data["episode"], best)
    return data["mask"] & keep[:, None]


def _obs_norm(policy: GannoPolicy, obs: np.ndarray, mask: np.ndarray) -> Any:
    valid = obs[mask]
    return policy.obs_norm.update_moments(jnp.asarray(valid.mean(0)), jnp.asarray(valid.var(0)), valid.shape[0])


def make_bc_loss(policy: GannoPolicy, chunk: int):
    """``loss(params, obs (B,T,F), actions (B,T), mask (B,T)) -> (loss, accuracy)``."""
    actor = policy.actor

    def loss_fn(params, obs, actions, mask):
        B, T, _ = obs.shape
        x = policy.normalise(obs).transpose(1, 0, 2)  # time-major (T, B, F), the data's statistics
        resets = jnp.zeros((T, B), bool).at[0].set(True)
        action_mask = jnp.ones((T, B, policy.action_dim), bool)
        hidden = ScannedRNN.initialize_carry((B,), policy.hidden_state_dim)
        logits = []
        for start in range(0, T, chunk):  # truncated backpropagation through time, as PPO's chunks
            sl = slice(start, min(start + chunk, T))
            hidden, lg = actor.apply(params, jax.lax.stop_gradient(hidden), (x[sl], action_mask[sl], resets[sl]))
            logits.append(lg)
        logits = jnp.concatenate(logits).transpose(1, 0, 2)  # (B, T, A)
        logp = jax.nn.log_softmax(logits)
        nll = -jnp.take_along_axis(logp, actions[..., None], axis=-1)[..., 0]
        w = mask.astype(jnp.float32)
        denom = jnp.maximum(w.sum(), 1.0)
        acc = ((logits.argmax(-1) == actions) * w).sum() / denom
        return (nll * w).sum() / denom, acc

    return loss_fn


def behaviour_clone(
    data: Dict[str, Any],
    network: NetworkConfig = NetworkConfig(),
    *,
    epochs: int = 50,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    chunk: int = 8,
    keep_top: Optional[float] = None,
    seed: int = 0,
    metadata: Optional[Dict[str, Any]] = None,
    log=print,
) -> Tuple[GannoPolicy, List[Dict[str, float]]]:
    """A policy cloned from demonstrations (``load_demonstrations``), and per-epoch history
    (``loss``, ``accuracy``: the share of valid steps whose most likely action is the
    demonstrated one)."""
    for name, v, low in (("epochs", epochs, 1), ("batch_size", batch_size, 1), ("chunk", chunk, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {v!r}.")
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a finite number > 0, got {learning_rate!r}.")
    meta = data["meta"]
    mask = keep_top_episodes(data, keep_top) if keep_top is not None else data["mask"]
    if not mask.any():
        raise ValueError("the demonstrations have no valid step to clone.")
    obs, actions = np.asarray(data["obs"], np.float32), np.asarray(data["actions"], np.int32)
    key = jax.random.PRNGKey(int(seed))
    key, k_init = jax.random.split(key)
    policy = init_policy(k_init, meta["features"], meta["action_table"], meta["lr_max"], network)
    policy = policy.replace(obs_norm=_obs_norm(policy, obs, mask))
    loss_fn = make_bc_loss(policy, int(chunk))
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(learning_rate))

    @jax.jit
    def sgd_step(params, opt_state, o, a, m):
        (loss, acc), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, o, a, m)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss, acc

    rows = np.flatnonzero(mask.any(axis=1))
    size = min(int(batch_size), len(rows))
    params, opt_state = policy.params, tx.init(policy.params)
    history = []
    for epoch in range(int(epochs)):
        key, k = jax.random.split(key)
        order = np.asarray(jax.random.permutation(k, rows))
        losses, accs, weights = [], [], []
        for i in range(0, len(order) - size + 1, size):  # equal batches: one compilation
            b = order[i : i + size]
            params, opt_state, loss, acc = sgd_step(params, opt_state, obs[b], actions[b], mask[b])
            losses.append(loss)  # device values: read once per epoch, not once per step
            accs.append(acc)
            weights.append(float(mask[b].sum()))
        losses, accs = jax.device_get((losses, accs))
        row = {"epoch": epoch + 1, "loss": float(np.average(losses, weights=weights)),
               "accuracy": float(np.average(accs, weights=weights))}
        history.append(row)
        if log is not None and (epoch + 1) % max(1, int(epochs) // 10) == 0:
            log(f"[clone] epoch {epoch + 1}: loss {row['loss']:.4f}, action accuracy {row['accuracy']:.3f}")
    info = {
        "source": "behaviour_cloning",
        "demonstrations": {k: meta.get(k) for k in ("groups", "networks", "datasets", "schedules", "taus")},
        "tau": (meta.get("taus") or [None])[0],
        "epochs": int(epochs), "batch_size": int(batch_size), "learning_rate": float(learning_rate),
        "chunk": int(chunk), "keep_top": keep_top, "seed": int(seed),
        "sequences": int(len(rows)), "final_action_accuracy": history[-1]["accuracy"],
        **dict(metadata or {}),
    }
    return policy.replace(params=params, metadata_json=json.dumps(info, sort_keys=True, default=str)), history
