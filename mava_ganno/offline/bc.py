"""Behaviour cloning of the shared recurrent policy on demonstrations .

The GANNO actor (``mava_ganno.policy``: torso -> GRU -> torso -> logits) is trained to take
the demonstrated action at every valid step of every agent sequence (``offline.demos``), by
masked cross-entropy through the GRU. Recurrence is trained as recurrent IPPO trains it:
sequences start from a zero hidden state (reset at their first step) and gradients are
truncated every ``chunk`` steps (``system.recurrent_chunk_size`` = 8), the hidden state at a
chunk's start carried forward without gradient. The observation-normalisation statistics are
the data's (its valid steps, continuous columns only), so the cloned policy normalises as a
policy trained by recurrent IPPO would.

Optional outcome filtering: ``keep_top`` keeps, per task group (or per task group and initial
LR, ``keep_top_by="start"``), the episodes whose final hold-out accuracy is in the top fraction
(e.g. 0.3), so bad schedules (too high peaks) are not imitated.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from mava_ganno.policy import GannoPolicy, NetworkConfig, init_policy
from mava_ganno.policy.fitting import check_fit_arguments, chunked_apply, fit_sequences

KEEP_TOP_BY = ("group", "start")


def keep_top_episodes(data: Dict[str, Any], fraction: float, by: str = "group") -> np.ndarray:
    """(S, T) mask: the data's mask restricted to the top ``fraction`` of episodes by final
    hold-out accuracy (at least one per set), ranked within each task group (``by="group"``)
    or within each (task group, initial LR) pair (``by="start"``: every initial LR of the
    demonstrations keeps its own best episodes, what to do from there, and not only the runs
    that reached the group's best peaks)."""
    if not 0.0 < float(fraction) <= 1.0:
        raise ValueError(f"keep_top must be a fraction in (0, 1], got {fraction!r}; e.g. 0.3 keeps the best 30%.")
    if by not in KEEP_TOP_BY:
        raise ValueError(f"keep_top_by must be one of {', '.join(KEEP_TOP_BY)}, got {by!r}.")
    if by == "group":
        sets = np.asarray(data["group"])
    else:
        pairs = np.stack([np.asarray(data["group"], np.float64), np.asarray(data["initial_lr"], np.float64)], 1)
        sets = np.unique(pairs, axis=0, return_inverse=True)[1].reshape(-1)
    keep = np.zeros(len(data["episode"]), bool)
    for g in np.unique(sets):
        rows = sets == g
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

    def loss_fn(params, obs, actions, mask):
        B, T, _ = obs.shape
        x = policy.normalise(obs).transpose(1, 0, 2)  # time-major (T, B, F), the data's statistics
        action_mask = jnp.ones((T, B, policy.action_dim), bool)
        # truncated backpropagation through time, as PPO's chunks
        logits = chunked_apply(policy.actor.apply, params, policy.hidden_state_dim, (x, action_mask), chunk)
        logits = logits.transpose(1, 0, 2)  # (B, T, A)
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
    keep_top_by: Optional[str] = None,
    seed: int = 0,
    metadata: Optional[Dict[str, Any]] = None,
    log=print,
) -> Tuple[GannoPolicy, List[Dict[str, float]]]:
    """A policy cloned from demonstrations (``load_demonstrations``), and per-epoch history
    (``loss``, ``accuracy``: the share of valid steps whose most likely action is the
    demonstrated one). ``keep_top`` keeps that fraction of the episodes, ranked within each group
    (``keep_top_by="group"``, the default) or each (group, initial LR) (``"start"``);
    ``keep_top_by`` without ``keep_top`` is refused."""
    check_fit_arguments(epochs, batch_size, chunk, learning_rate)
    if keep_top is None and keep_top_by is not None:
        raise ValueError(
            f"keep_top_by={keep_top_by!r} ranks the episodes keep_top keeps; pass keep_top too (e.g. 0.3) or drop keep_top_by."
        )
    by = (keep_top_by or "group") if keep_top is not None else None  # what ranked the kept episodes
    meta = data["meta"]
    mask = keep_top_episodes(data, keep_top, by) if keep_top is not None else data["mask"]
    if not mask.any():
        raise ValueError("the demonstrations have no valid step to clone.")
    obs, actions = np.asarray(data["obs"], np.float32), np.asarray(data["actions"], np.int32)
    key = jax.random.PRNGKey(int(seed))
    key, k_init = jax.random.split(key)
    policy = init_policy(k_init, meta["features"], meta["action_table"], meta["lr_max"], network)
    policy = policy.replace(obs_norm=_obs_norm(policy, obs, mask))
    params, history = fit_sequences(
        make_bc_loss(policy, int(chunk)), policy.params, (obs, actions), mask, epochs=int(epochs),
        batch_size=int(batch_size), learning_rate=float(learning_rate), key=key, name="clone", metric="accuracy",
        log=log,
    )
    rows = np.flatnonzero(mask.any(axis=1))
    info = {
        "source": "behaviour_cloning",
        "demonstrations": {k: meta.get(k) for k in ("groups", "networks", "datasets", "schedules", "taus")},
        "tau": (meta.get("taus") or [None])[0],
        "lr_decay": meta.get("lr_decay", "none"),
        "epochs": int(epochs), "batch_size": int(batch_size), "learning_rate": float(learning_rate),
        "chunk": int(chunk), "keep_top": keep_top,
        "keep_top_by": by, "seed": int(seed),
        "sequences": int(len(rows)), "final_action_accuracy": history[-1]["accuracy"],
        **dict(metadata or {}),
    }
    return policy.replace(params=params, metadata_json=json.dumps(info, sort_keys=True, default=str)), history
