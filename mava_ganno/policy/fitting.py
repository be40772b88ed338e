"""Supervised fitting of the recurrent networks on recorded agent sequences .

One SGD loop (``fit_sequences``) serves behaviour cloning of the actor
(``mava_ganno.offline.bc``) and the critic's pre-fit on the demonstrations' returns
(``prefit_critic``, used by recurrent IPPO with ``system.critic_prefit_demos``). Sequences are
(S, T, ...) arrays with a (S, T) mask of valid steps; every epoch visits them in a new random
order in equal batches (one compilation), and the per-epoch history weighs each batch by its
valid steps. Recurrence is trained as recurrent IPPO trains it (``chunked_apply``): sequences
start from a zero hidden state and gradients are truncated every ``chunk`` steps.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mava_ganno.policy.networks import ScannedRNN


def check_fit_arguments(epochs: Any, batch_size: Any, chunk: Any, learning_rate: Any) -> None:
    """``ValueError`` naming the first bad argument of a fit."""
    for name, v in (("epochs", epochs), ("batch_size", batch_size), ("chunk", chunk)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}.")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float, np.number)) or not (
        np.isfinite(learning_rate) and learning_rate > 0
    ):
        raise ValueError(f"learning_rate must be a finite number > 0, got {learning_rate!r}.")


def chunked_apply(apply: Callable, params: Any, hidden_dim: int, inputs: Tuple[jnp.ndarray, ...], chunk: int) -> jnp.ndarray:
    """Run a recurrent network (``apply(params, hidden, (x, *rest, resets))``) over time-major
    inputs (T, B, ...) from a zero hidden state, with gradients truncated every ``chunk``
    steps. ``inputs`` = (x, *rest); a reset is added at step 0. Returns the outputs (T, B, ...)."""
    T, B = inputs[0].shape[:2]
    resets = jnp.zeros((T, B), bool).at[0].set(True)
    hidden = ScannedRNN.initialize_carry((B,), hidden_dim)
    outs = []
    for start in range(0, T, chunk):
        sl = slice(start, min(start + chunk, T))
        hidden, out = apply(params, jax.lax.stop_gradient(hidden), tuple(a[sl] for a in inputs) + (resets[sl],))
        outs.append(out)
    return jnp.concatenate(outs)


def fit_sequences(
    loss_fn: Callable,
    params: Any,
    arrays: Sequence[np.ndarray],
    mask: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    key: jax.Array,
    name: str = "fit",
    metric: str = "metric",
    log: Optional[Callable[[str], None]] = print,
) -> Tuple[Any, List[Dict[str, float]]]:
    """The one supervised SGD loop: ``loss_fn(params, *batch_arrays, batch_mask) -> (loss,
    metric)`` minimised by Adam (gradients clipped to norm 1) over the sequences that have a
    valid step. Returns (params, per-epoch ``[{"epoch", "loss", metric}]``)."""
    rows = np.flatnonzero(np.asarray(mask).any(axis=1))
    if rows.size == 0:
        raise ValueError(f"{name}: the data has no valid step to fit.")
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(learning_rate))

    @jax.jit
    def sgd_step(params, opt_state, batch, m):
        (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, *batch, m)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss, aux

    size = min(int(batch_size), len(rows))
    opt_state = tx.init(params)
    history: List[Dict[str, float]] = []
    for epoch in range(int(epochs)):
        key, k = jax.random.split(key)
        order = np.asarray(jax.random.permutation(k, rows))
        losses, auxs, weights = [], [], []
        for i in range(0, len(order) - size + 1, size):  # equal batches: one compilation
            b = order[i : i + size]
            params, opt_state, loss, aux = sgd_step(params, opt_state, tuple(a[b] for a in arrays), mask[b])
            losses.append(loss)  # device values: read once per epoch, not once per step
            auxs.append(aux)
            weights.append(float(mask[b].sum()))
        losses, auxs = jax.device_get((losses, auxs))
        row = {"epoch": epoch + 1, "loss": float(np.average(losses, weights=weights)),
               metric: float(np.average(auxs, weights=weights))}
        history.append(row)
        if log is not None and (epoch + 1) % max(1, int(epochs) // 10) == 0:
            log(f"[{name}] epoch {epoch + 1}: loss {row['loss']:.4f}, {metric.replace('_', ' ')} {row[metric]:.3f}")
    return params, history


def discounted_returns(rewards: np.ndarray, mask: np.ndarray, gamma: float) -> np.ndarray:
    """(S, T) return-to-go of every valid step: G_t = r_t + gamma G_{t+1} over the valid steps
    of each sequence (one agent's episode; 0 where the mask is False)."""
    rewards = np.where(mask, np.asarray(rewards, np.float64), 0.0)
    out = np.zeros_like(rewards)
    g = np.zeros(rewards.shape[0])
    for t in range(rewards.shape[1] - 1, -1, -1):
        g = np.where(mask[:, t], rewards[:, t] + gamma * g, 0.0)
        out[:, t] = g
    return out.astype(np.float32)


def prefit_critic(
    critic: Any,
    params: Any,
    hidden_dim: int,
    obs: np.ndarray,
    rewards: np.ndarray,
    mask: np.ndarray,
    normalise: Callable[[jnp.ndarray], jnp.ndarray],
    *,
    gamma: float,
    epochs: int = 20,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    chunk: int = 8,
    standardise: bool = True,
    seed: int = 0,
    log: Optional[Callable[[str], None]] = print,
) -> Tuple[Any, Tuple[float, float, float], List[Dict[str, float]]]:
    """The critic fitted to the discounted returns of recorded sequences (e.g. demonstrations).

    The critic (``critic.apply(params, hidden, (x, resets))``) sees the observations as
    ``normalise`` maps them (the run's observation statistics) and learns the returns,
    standardised by their mean and variance over valid steps (``standardise=False``: as they
    are). Returns (params, (mean, variance, count) of the returns: the value-target statistics
    it was fitted under), and the per-epoch history (``loss``: mean squared error in the fitted
    units; ``explained_variance``)."""
    check_fit_arguments(epochs, batch_size, chunk, learning_rate)
    if not (0.0 <= float(gamma) <= 1.0):
        raise ValueError(f"gamma must be in [0, 1], got {gamma!r}.")
    mask = np.asarray(mask, bool)
    returns = discounted_returns(rewards, mask, float(gamma))
    valid = returns[mask]
    if valid.size == 0:
        raise ValueError("prefit_critic: the data has no valid step to fit.")
    mean, var = float(valid.mean()), float(valid.var())
    std = float(np.sqrt(var + 1e-8))  # as recurrent IPPO standardises its value targets
    targets = ((returns - mean) / std if standardise else returns).astype(np.float32)

    def loss_fn(p, o, y, m):
        x = normalise(o).transpose(1, 0, 2)  # (T, B, F)
        v = chunked_apply(critic.apply, p, hidden_dim, (x,), int(chunk)).T  # (B, T)
        w = m.astype(jnp.float32)
        denom = jnp.maximum(w.sum(), 1.0)
        mse = (jnp.square(v - y) * w).sum() / denom
        y_mean = (y * w).sum() / denom
        y_var = (jnp.square(y - y_mean) * w).sum() / denom
        return mse, 1.0 - mse / jnp.maximum(y_var, 1e-8)

    params, history = fit_sequences(
        loss_fn, params, (np.asarray(obs, np.float32), targets), mask, epochs=int(epochs), batch_size=int(batch_size),
        learning_rate=float(learning_rate), key=jax.random.PRNGKey(int(seed)), name="critic pre-fit",
        metric="explained_variance", log=log,
    )
    return params, (mean, var, float(valid.size)), history


__all__ = ["check_fit_arguments", "chunked_apply", "fit_sequences", "discounted_returns", "prefit_critic"]
