"""The supervised-learning backend: tau steps of layerwise-LR AdamW inside ``lax.scan``.

The optimiser is optax all the way down::

    optax.chain(optax.scale_by_adam(b1, b2, eps),      # u = m_hat / (sqrt(v_hat) + eps)
                optax.add_decayed_weights(wd),          # u += wd * theta   (decoupled, AdamW)
                scale_by_layerwise_lr(agent_index))     # update_l = -lr_l * u_l

so each layer agent's learning rate scales only its own parameters, and ``lr = 0`` freezes a
layer exactly. ``u`` is the Adam update term that the LAMB trust ratio ||theta_l|| / ||u_l||
uses.

The dataset is held by the trainer (closed over, never part of the environment state), so
``jax.vmap`` over environments does not copy it. Images are stored as uint8 and normalised per
minibatch.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional, Sequence, Tuple

import chex
import jax
import jax.numpy as jnp
import optax
from flax.core import unfreeze

from mava_ganno.backend.datasets import Dataset
from mava_ganno.backend.layer_stats import LayerStats, layer_statistics
from mava_ganno.backend.networks import LM, NetworkSpec
from mava_ganno.backend.task import check_tau
from mava_ganno.layers import LayerAgents, LayerType, find_layer_agents


class ScaleByLayerwiseLrState(NamedTuple):
    """No state: the learning rates arrive as the ``layer_lrs`` extra argument."""


def scale_by_layerwise_lr(agent_index: Any) -> optax.GradientTransformationExtraArgs:
    """Multiplies every leaf's update by ``-layer_lrs[agent_of_leaf]``.

    Args:
        agent_index: pytree with the params' structure whose leaves are agent indices.

    ``update(updates, state, params=None, *, layer_lrs)`` takes ``layer_lrs`` of shape
    (num_agents,) as an optax extra argument.
    """

    def init_fn(params: Any) -> ScaleByLayerwiseLrState:
        del params
        return ScaleByLayerwiseLrState()

    def update_fn(updates, state, params=None, *, layer_lrs=None, **extra_args):
        del params, extra_args
        if layer_lrs is None:
            raise ValueError("scale_by_layerwise_lr needs the extra argument layer_lrs=(N,) array.")
        updates = jax.tree_util.tree_map(
            lambda u, i: (-layer_lrs[i]).astype(u.dtype) * u, updates, agent_index
        )
        return updates, state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def adam_direction(
    weight_decay: chex.Numeric, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> optax.GradientTransformation:
    """The Adam update term with decoupled weight decay, before any learning rate."""
    return optax.chain(optax.scale_by_adam(b1=b1, b2=b2, eps=eps), optax.add_decayed_weights(weight_decay))


def layerwise_adamw(
    agent_index: Any,
    weight_decay: chex.Numeric,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
) -> optax.GradientTransformationExtraArgs:
    """AdamW with one learning rate per layer agent (passed as ``layer_lrs``)."""
    return optax.chain(adam_direction(weight_decay, b1, b2, eps), scale_by_layerwise_lr(agent_index))


def reset_keys(key: chex.PRNGKey) -> chex.Array:
    """The key chain of an episode's start: (carried key, initial-conditions key, network
    initialisation key, measurement key). ``Ganno.reset`` and every baseline use it, so a seed
    gives every method the same network initialisation and minibatches."""
    return jax.random.split(key, 4)


def step_keys(key: chex.PRNGKey) -> chex.Array:
    """The key chain of one tau-step chunk: (carried key, minibatch key, measurement key)."""
    return jax.random.split(key, 3)


class MinibatchPlan(NamedTuple):
    """Every minibatch of an episode, drawn at once at its start.

    Chunk ``c`` (env step ``c``) uses what drawing chunk by chunk from the key chain gives
    (``key, k_train, k_measure = step_keys(key)``; ``batch_indices(k_train, tau)``;
    ``batch_indices(k_measure, 1)[0]``): the same indices, in one batched draw instead of
    three draws per chunk (each a threefry loop, which on CPU costs more than the draw itself).

    keys: (C, ...) the key carried after each chunk.
    train: (C, tau, B) int32 the training minibatches of each chunk.
    measure: (C, B) int32 the minibatch the statistics are measured on after each chunk.
    """

    keys: chex.Array
    train: chex.Array
    measure: chex.Array


class TrainState(NamedTuple):
    params: Any
    batch_stats: Any  # {} for networks without BatchNorm
    opt_state: Any


class SLTrainer:
    """Trains one network on one dataset, tau steps at a time (everything jittable)."""

    def __init__(
        self,
        network: NetworkSpec,
        dataset: Dataset,
        batch_size: int,
        tau: int,
        b1: float = 0.9,
        b2: float = 0.999,
        eps: float = 1e-8,
        eval_batch_size: int = 1024,
        layer_types: Optional[Sequence[LayerType]] = None,
    ):
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}.")
        check_tau(tau)
        if (dataset.kind == "tokens") != isinstance(network.module, LM):
            want = "a language model, 'lm' / 'lm<n>'" if dataset.kind == "tokens" else "an image network (mlp, cnn, vit, resnet)"
            raise ValueError(
                f"network {network.name!r} does not fit dataset {dataset.name!r} "
                f"({dataset.kind}, inputs {tuple(dataset.x_train.shape[1:])}): use {want}."
            )
        self.network = network
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.tau = int(tau)
        self.adam_kwargs = dict(b1=b1, b2=b2, eps=eps)
        self.eval_batch_size = int(eval_batch_size)
        self._x = {
            "train": jnp.asarray(dataset.x_train),
            "val": jnp.asarray(dataset.x_val),
            "test": jnp.asarray(dataset.x_test),
        }
        self._y = {
            "train": jnp.asarray(dataset.y_train),
            "val": jnp.asarray(dataset.y_val),
            "test": jnp.asarray(dataset.y_test),
        }
        shapes = jax.eval_shape(self._init_variables, jax.random.PRNGKey(0))
        self.agents: LayerAgents = find_layer_agents(unfreeze(shapes["params"]), layer_types)
        self._leaf_agent = self.agents.leaf_agent_ids()

    # ------------------------------------------------------------------ init
    def _init_variables(self, key: chex.PRNGKey):
        dummy = jnp.zeros((1,) + self.dataset.input_shape, jnp.float32)
        return unfreeze(self.network.module.init(key, dummy, train=False))

    @property
    def num_agents(self) -> int:
        return self.agents.num_agents

    def optimizer(self, weight_decay: chex.Numeric) -> optax.GradientTransformationExtraArgs:
        return layerwise_adamw(self.agents.agent_index, weight_decay, **self.adam_kwargs)

    def init(self, key: chex.PRNGKey) -> TrainState:
        variables = self._init_variables(key)
        params = variables["params"]
        opt_state = self.optimizer(0.0).init(params)
        return TrainState(params, variables.get("batch_stats", {}), opt_state)

    # ------------------------------------------------------------------ core
    def _forward(self, params, batch_stats, x, train: bool):
        variables = {"params": params}
        if self.network.has_batch_stats:
            variables["batch_stats"] = batch_stats
            if train:
                logits, new = self.network.module.apply(
                    variables, x, train=True, mutable=["batch_stats"]
                )
                return logits, new["batch_stats"]
        return self.network.module.apply(variables, x, train=train), batch_stats

    def _loss(self, params, batch_stats, x, y):
        logits, new_bs = self._forward(params, batch_stats, x, train=True)
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
        acc = jnp.mean(jnp.argmax(logits, -1) == y)
        return loss, (acc, new_bs)

    def minibatch(self, idx: chex.Array) -> Tuple[chex.Array, chex.Array]:
        return self.dataset.normalise(self._x["train"][idx]), self._y["train"][idx]

    def batch_indices(self, key: chex.PRNGKey, num_steps: int) -> chex.Array:
        n = self.dataset.x_train.shape[0]
        return jax.random.randint(key, (num_steps, self.batch_size), 0, n)

    def minibatch_plan(self, key: chex.PRNGKey, num_chunks: int) -> MinibatchPlan:
        """The ``MinibatchPlan`` of ``num_chunks`` chunks of tau steps from the carried key ``key``."""

        def chain(k, _):
            k, k_train, k_measure = step_keys(k)
            return k, (k, k_train, k_measure)

        _, (keys, k_train, k_measure) = jax.lax.scan(chain, key, None, length=num_chunks)
        train = jax.vmap(lambda k: self.batch_indices(k, self.tau))(k_train)
        measure = jax.vmap(lambda k: self.batch_indices(k, 1)[0])(k_measure)
        return MinibatchPlan(keys, train, measure)

    def loss_and_grad(self, params: Any, batch_stats: Any, idx: chex.Array):
        """Training loss, accuracy, updated batch statistics and gradient on the minibatch
        ``idx`` (batch_size,): ``((loss, (accuracy, batch_stats)), grads)``."""
        return self._loss_and_grad_on(params, batch_stats, *self.minibatch(idx))

    def _loss_and_grad_on(self, params: Any, batch_stats: Any, x: chex.Array, y: chex.Array):
        return jax.value_and_grad(self._loss, has_aux=True)(params, batch_stats, x, y)

    def step_with(self, tx: optax.GradientTransformation, ts: TrainState, idx: chex.Array, **update_kwargs: Any):
        """One SGD step of any optax transformation on the minibatch ``idx``; ``update_kwargs``
        go to ``tx.update`` (e.g. ``layer_lrs``). Returns (state, loss, accuracy)."""
        return self._step_on(tx, ts, *self.minibatch(idx), **update_kwargs)

    def _step_on(self, tx: optax.GradientTransformation, ts: TrainState, x, y, **update_kwargs: Any):
        (loss, (acc, bs)), grads = self._loss_and_grad_on(ts.params, ts.batch_stats, x, y)
        updates, opt_state = tx.update(grads, ts.opt_state, ts.params, **update_kwargs)
        return TrainState(optax.apply_updates(ts.params, updates), bs, opt_state), loss, acc

    def train_with(
        self, tx: optax.GradientTransformation, ts: TrainState, indices: chex.Array, **update_kwargs: Any
    ) -> Tuple[TrainState, chex.Array, chex.Array]:
        """Any optax transformation ``tx`` (``ts.opt_state`` is its state) on the minibatches
        ``indices`` (k, batch_size), in ``lax.scan``: the one SGD loop (``train_branches_with``)
        with one branch. Returns (state, (k,) losses, (k,) accuracies). The environment, the
        baselines and the plain-optax benchmark all train through it."""
        ((ts, losses, accs),) = self.train_branches_with(tx, (ts,), indices, (update_kwargs,))
        return ts, losses, accs

    def train_branches_with(
        self,
        tx: optax.GradientTransformation,
        states: Sequence[TrainState],
        indices: chex.Array,
        branch_kwargs: Sequence[dict],
        branch_step_kwargs: Optional[Sequence[dict]] = None,
    ) -> Tuple[Tuple[TrainState, chex.Array, chex.Array], ...]:
        """``train_with`` for several branches at once: independent training states (e.g. the
        difference reward's actual and counterfactual) on the same minibatches ``indices``, each
        with its own ``tx.update`` arguments (``branch_kwargs[b]``), in one ``lax.scan``. Every
        SGD step gathers and normalises its minibatch once and steps every branch; the branches'
        operations are independent, so XLA may run them side by side. ``branch_step_kwargs[b]``
        (optional): ``tx.update`` arguments that change at every SGD step, arrays whose leading
        axis is the k steps (e.g. ``layer_lrs`` (k, L)); step i gets their row i. Returns one
        (state, (k,) losses, (k,) accuracies) per branch. ``train_with`` is its one-branch case."""
        if len(states) != len(branch_kwargs):
            raise ValueError(f"{len(states)} training states but {len(branch_kwargs)} branch_kwargs: give one dict per state.")
        step_kwargs = tuple({} for _ in states) if branch_step_kwargs is None else tuple(branch_step_kwargs)
        if len(step_kwargs) != len(states):
            raise ValueError(f"{len(states)} training states but {len(step_kwargs)} branch_step_kwargs: give one dict per state.")
        num_steps = indices.shape[0]
        for b, kw in enumerate(step_kwargs):
            for name, value in kw.items():
                if jnp.shape(value)[:1] != (num_steps,):
                    raise ValueError(f"branch_step_kwargs[{b}][{name!r}] has shape {jnp.shape(value)}; "
                                     f"its leading axis must be the {num_steps} SGD steps of indices.")

        def body(carry, xs):
            idx, per_step = xs
            x, y = self.minibatch(idx)
            outs = tuple(self._step_on(tx, ts, x, y, **kw, **sk) for ts, kw, sk in zip(carry, branch_kwargs, per_step))
            return tuple(o[0] for o in outs), tuple((o[1], o[2]) for o in outs)

        final, metrics = jax.lax.scan(body, tuple(states), (indices, step_kwargs))
        return tuple((ts, losses, accs) for ts, (losses, accs) in zip(final, metrics))

    def sgd_step(self, ts: TrainState, idx: chex.Array, lrs: chex.Array, weight_decay):
        """One AdamW step with layerwise learning rates; returns (state, loss, accuracy)."""
        return self.step_with(self.optimizer(weight_decay), ts, idx, layer_lrs=lrs)

    def train(
        self, ts: TrainState, lrs: chex.Array, weight_decay: chex.Numeric, key: chex.PRNGKey
    ) -> Tuple[TrainState, chex.Array, chex.Array]:
        """tau layerwise-AdamW steps; returns (state, mean train loss, mean train acc)."""
        return self.train_on(ts, lrs, weight_decay, self.batch_indices(key, self.tau))

    def train_on(
        self, ts: TrainState, lrs: chex.Array, weight_decay: chex.Numeric, indices: chex.Array
    ) -> Tuple[TrainState, chex.Array, chex.Array]:
        """``train`` on given minibatches (k, batch_size): branches that share their minibatches
        (the difference reward's actual and counterfactual) draw them once. ``lrs``: (L,) held
        for the k steps, or (k, L) one row per SGD step."""
        ((ts, loss, acc),) = self.train_branches_on((ts,), (lrs,), weight_decay, indices)
        return ts, loss, acc

    def train_branches_on(
        self, states: Sequence[TrainState], lrs: Sequence[chex.Array], weight_decay: chex.Numeric, indices: chex.Array
    ) -> Tuple[Tuple[TrainState, chex.Array, chex.Array], ...]:
        """``train_on`` for several branches (one state and one LR array each: (L,) held, or
        (k, L) per SGD step) on the same minibatches, in one scan (``train_branches_with``):
        (state, mean loss, mean acc) each."""
        held, per_step = [], []
        for branch_lrs in lrs:
            kw = dict(layer_lrs=branch_lrs)
            if jnp.ndim(branch_lrs) not in (1, 2):
                raise ValueError(f"layer LRs of shape {jnp.shape(branch_lrs)}: give (L,) held or (k, L) per SGD step.")
            held.append(kw if jnp.ndim(branch_lrs) == 1 else {})
            per_step.append(kw if jnp.ndim(branch_lrs) == 2 else {})
        outs = self.train_branches_with(self.optimizer(weight_decay), states, indices, tuple(held), tuple(per_step))
        return tuple((ts, jnp.mean(losses), jnp.mean(accs)) for ts, losses, accs in outs)

    def measure(
        self,
        ts: TrainState,
        weight_decay: chex.Numeric,
        key: chex.PRNGKey,
        idx: Optional[chex.Array] = None,
    ) -> Tuple[LayerStats, chex.Array, chex.Array]:
        """Per-layer statistics at the current parameters, on one fresh minibatch.

        g is the minibatch gradient; u is the Adam update term (with weight decay) that the
        optimiser would take next from its current moments; nothing is updated. Also returns
        the minibatch's loss and accuracy. ``idx`` (batch_size,) measures on these training
        examples instead of a minibatch drawn from ``key``.
        """
        if idx is None:
            idx = self.batch_indices(key, 1)[0]
        (loss, (acc, _)), grads = self.loss_and_grad(ts.params, ts.batch_stats, idx)
        direction, _ = adam_direction(weight_decay, **self.adam_kwargs).update(
            grads, ts.opt_state[0], ts.params
        )
        stats = layer_statistics(ts.params, grads, direction, self._leaf_agent, self.num_agents)
        return stats, loss, acc

    def evaluate(self, ts: TrainState, split: str) -> Tuple[chex.Array, chex.Array]:
        """Mean loss and accuracy on a whole split ("train", "val" or "test").

        For token datasets ((N, T) targets) these are the mean per-token cross-entropy (nats)
        and the per-token accuracy."""
        x_all, y_all = self._x[split], self._y[split]
        n = x_all.shape[0]
        bs = min(self.eval_batch_size, n)
        chunks = -(-n // bs)
        pad = chunks * bs - n
        idx = jnp.concatenate([jnp.arange(n), jnp.zeros(pad, jnp.int32)]).reshape(chunks, bs)
        mask = (jnp.arange(chunks * bs) < n).reshape(chunks, bs)

        def chunk(args):
            i, m = args
            x = self.dataset.normalise(x_all[i])
            logits, _ = self._forward(ts.params, ts.batch_stats, x, train=False)
            loss = optax.softmax_cross_entropy_with_integer_labels(logits, y_all[i])
            correct = jnp.argmax(logits, -1) == y_all[i]
            if loss.ndim > 1:  # token sequences: per-example mean over the token axes
                axes = tuple(range(1, loss.ndim))
                loss, correct = jnp.mean(loss, axes), jnp.mean(correct, axes)
            return jnp.sum(jnp.where(m, loss, 0.0)), jnp.sum(jnp.where(m, correct, False))

        losses, correct = jax.lax.map(chunk, (idx, mask))
        return jnp.sum(losses) / n, jnp.sum(correct).astype(jnp.float32) / n


def plain_adamw_loop(trainer: SLTrainer, lr: float, weight_decay: float, num_steps: int):
    """A plain jitted optax.adamw loop on the trainer's network, data and batch size.

    The physical limit that ``benchmarks/env_throughput.py`` compares ``env.step`` against.
    Returns a jitted ``fn(params, batch_stats, key) -> (params, mean loss)``.
    """
    tx = optax.adamw(lr, weight_decay=weight_decay)

    @jax.jit
    def run(params, batch_stats, key):
        indices = trainer.batch_indices(key, num_steps)
        ts, losses, _ = trainer.train_with(tx, TrainState(params, batch_stats, tx.init(params)), indices)
        return ts.params, jnp.mean(losses)

    return run


__all__ = [
    "SLTrainer",
    "TrainState",
    "MinibatchPlan",
    "LayerStats",
    "layerwise_adamw",
    "adam_direction",
    "scale_by_layerwise_lr",
    "plain_adamw_loop",
    "reset_keys",
    "step_keys",
]
