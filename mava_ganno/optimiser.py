"""A trained GANNO policy as a drop-in optax optimiser (the way VeLO ships as one).

``ganno_adamw(policy, total_steps, ...)`` is AdamW with one learning rate per layer, where the
learning rates are set by a trained GANNO policy (by default the one shipped with the package,
``load_policy("default")``; see ``mava_ganno/policies/default/MODEL_CARD.md``): every ``tau`` steps it computes the same
global and layer observations the environment computes (``mava_ganno.backend.layer_stats`` and
``mava_ganno.env.observations``, not a copy), runs the shared recurrent policy on every layer
agent (its hidden state lives in the optimiser state) and applies the chosen actions
(``mava_ganno.env.actions.ActionTable``) to the per-layer learning rates. The update itself is the
environment's ``backend.trainer.layerwise_adamw``::

    import optax
    from mava_ganno.optimiser import ganno_adamw

    tx = ganno_adamw(total_steps=2000, num_classes=10, weight_decay=0.1, initial_lr=1e-3)
    # or your own policy: ganno_adamw("runs/policy", total_steps=2000, tau=100, ...)
    opt_state = tx.init(params)
    (loss, acc), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, batch)
    updates, opt_state = tx.update(grads, opt_state, params, loss=loss, accuracy=acc)
    params = optax.apply_updates(params, updates)

Layer agents are found in any flax params pytree with ``mava_ganno.layers.find_layer_agents``
(layer types registered under the ``mava_ganno.layer_types`` entry points), so user models need
no list of layers; a parameter that no registered type claims raises ``UnknownLayerError``.

Extra arguments of ``update`` (``GradientTransformationExtraArgs``):

- ``loss`` (required; ``value`` is accepted as an alias, optax's convention): the training
  loss on the minibatch whose gradient is being passed, at the params passed. The policy sees
  the mean over the last ``tau`` steps (at step 0: that step's loss), like the environment.
- ``accuracy`` (optional): that minibatch's accuracy. Without it, ``exp(-loss)`` stands in
  (for cross-entropy, the geometric mean of the probability given to the true class), so the
  accuracy features stay in a plausible range; pass the real accuracy when you have one.
- ``val_loss``, ``val_accuracy`` (optional): metrics on a hold-out split at the params passed,
  the environment's "test" observations. They are read only at decision steps
  (``is_decision_step(opt_state)``; values passed at other steps are ignored, so compute them
  under ``jax.lax.cond``). Without them the training values stand in (so the train/hold-out
  loss ratio is 1).

With only ``loss`` given the policy thus sees train = hold-out and accuracy ``exp(-loss)``:
it runs, but on observations that only approximate what it was trained on.

A policy trained on the ``robust`` feature set (losses and accuracies relative to chance level,
the train-loss trend; ``mava_ganno.env.observations``) also needs the task's number of classes:
``ganno_adamw(policy, ..., num_classes=10)`` (a clear error says so when it is missing). The
previous decision's train loss is kept in the state (``GannoState.prev_train_loss``).

Differences from the environment (``mava_ganno.env.Ganno``), by design:

- the layer statistics at a decision step use the gradient passed to that ``update`` (and the
  Adam direction it is about to produce), whereas the environment by default measures on a
  fresh minibatch (``measure_batch="fresh"``); ``Ganno(measure_batch="next")`` measures on the
  first minibatch of the next tau steps, which is exactly what this optimiser sees, and then
  the two reproduce each other to float tolerance (tests/test_optax.py);
- a non-finite loss sets the ``nonfinite`` observation but nothing is rolled back (the
  environment ends a diverged episode); wrap with ``optax.apply_if_finite`` if you want that;
- training may go on past ``total_steps``: the training-progress feature stays at 1 and the
  learning-rate history stops recording.

Everything is jittable and works inside ``lax.scan``; the state (``GannoState``) is a pytree of
arrays that checkpoints with ``flax.serialization`` (``to_bytes``/``from_bytes``) or orbax
like the rest of an optax state, and ``lr_trajectory(opt_state)`` reads the schedule back.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Dict, NamedTuple, Optional, Sequence, Tuple, Union

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax

from mava_ganno.backend.layer_stats import layer_statistics
from mava_ganno.backend.task import check_tau
from mava_ganno.backend.trainer import adam_direction, layerwise_adamw
from mava_ganno.env.actions import ActionTable, check_lr_decay, decay_ratio, within_decision_scale
from mava_ganno.env.observations import (
    AgentLayout,
    agent_layout,
    feature_dim,
    features_needing,
    observe,
    resolve_features,
)
from mava_ganno.env.stats import global_stats
from mava_ganno.layers import LayerAgents, LayerType, find_layer_agents, layer_names
from mava_ganno.policy import load_policy, load_shipped_policy, policy_is_single_agent, policy_lr_decay, policy_metadata_value


class GannoState(NamedTuple):
    """State of ``ganno_adamw`` (N = agents, L = layers, D = decisions within total_steps).

    count: () int32 update calls so far; a decision is taken when ``count % tau == 0``.
    inner: state of the inner ``layerwise_adamw`` (Adam moments).
    lrs: (N,) float32 the agents' current learning rates.
    prev_actions: (N,) int32 the last actions (the no-op before the first decision).
    hidden: the policy's recurrent state, (N, H).
    key: (2,) uint32 PRNG key for sampling actions (unused when greedy).
    loss_window, accuracy_window: (tau,) float32 the last tau losses / accuracies.
    lr_history: (D, N) float32 learning rates chosen at each decision (NaN until taken); bounded:
        one row per decision within ``total_steps`` (later decisions are not recorded).
    action_history: (D, N) int32 actions taken at each decision (-1 until taken), likewise.
    last_obs: (N, F) float32 the policy's last observation (agents_view).
    last_probs: (N, A) float32 the policy's last action probabilities.
    prev_train_loss: () float32 the (capped) train loss observed at the last decision, for the
        ``train_loss_trend`` feature (0 before the first decision, which does not read it).
    """

    count: chex.Array
    inner: Any
    lrs: chex.Array
    prev_actions: chex.Array
    hidden: Any
    key: chex.Array
    loss_window: chex.Array
    accuracy_window: chex.Array
    lr_history: chex.Array
    action_history: chex.Array
    last_obs: chex.Array
    last_probs: chex.Array
    prev_train_loss: chex.Array


# ----------------------------------------------------------------------------- the pieces
def _policy_features(policy: Any) -> Tuple[str, ...]:
    names = getattr(policy, "feature_names", None) or getattr(policy, "features", None)
    if names is None:
        raise TypeError(
            f"{type(policy).__name__} is not a GANNO policy: it needs feature_names, action_table, "
            "lr_max, init_hidden(num_agents) and act(...) (see mava_ganno.policy.GannoPolicy)."
        )
    return tuple(names)


def _policy_table(policy: Any) -> ActionTable:
    table = policy.action_table
    return table if isinstance(table, ActionTable) else ActionTable.from_strings(tuple(table))


def _check_arguments(tau: Any, total_steps: Any, lr_max: float, initial_lr: Any, weight_decay: Any) -> None:
    check_tau(tau)
    if not isinstance(total_steps, (int, np.integer)) or isinstance(total_steps, bool) or total_steps < tau:
        raise ValueError(
            f"total_steps must be an integer >= tau={tau} (the planned number of update calls; "
            f"the policy observes training progress), got {total_steps!r}."
        )
    if not (0 < lr_max < float("inf")):
        raise ValueError(f"lr_max must be a finite number > 0 (default: the policy's), got {lr_max}.")
    if isinstance(initial_lr, bool) or not 0.0 <= float(initial_lr) <= lr_max:
        raise ValueError(f"initial_lr must be a number in [0, lr_max={lr_max}], got {initial_lr!r}.")
    if isinstance(weight_decay, bool) or not 0.0 <= float(weight_decay) < float("inf"):
        raise ValueError(f"weight_decay must be a finite number >= 0 (e.g. 0.1), got {weight_decay!r}.")


def _check_num_classes(features: Tuple[str, ...], num_classes: Any) -> Optional[int]:
    """The static number of classes, required when a feature reads it."""
    needing = features_needing(features, "num_classes")
    if num_classes is None:
        if needing:
            raise ValueError(
                f"the policy observes {list(needing)}, which need the number of classes of the task "
                "being trained (chance level is 1/C, chance loss ln C); pass "
                "ganno_adamw(policy, ..., num_classes=C), e.g. num_classes=10."
            )
        return None
    if not isinstance(num_classes, (int, np.integer)) or isinstance(num_classes, bool) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}.")
    return int(num_classes)


def _initial_key(seed: Union[int, chex.PRNGKey]) -> chex.Array:
    if isinstance(seed, (int, np.integer)):
        return jax.random.PRNGKey(int(seed))
    if hasattr(seed, "dtype") and jax.dtypes.issubdtype(seed.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(seed)  # raw uint32, so the state serialises
    return jnp.asarray(seed, jnp.uint32)


class _Step(NamedTuple):
    """What one ``update`` call sees (arrays traced; agents and layout static)."""

    updates: Any
    params: Any
    loss: chex.Array
    accuracy: chex.Array
    val_loss: Optional[chex.Array]
    val_accuracy: Optional[chex.Array]
    agents: LayerAgents
    layout: AgentLayout


def _read_step(updates: Any, state: GannoState, params: Any, extra: Dict[str, Any], layer_agents: Any,
               single_agent: Any) -> _Step:  # fmt: skip
    """Checks the arguments of ``update`` and gathers them (``accuracy`` defaults to exp(-loss))."""
    loss = extra.get("loss", extra.get("value"))
    if loss is None:
        raise ValueError(
            "ganno_adamw needs the minibatch loss as an extra argument: "
            "tx.update(grads, opt_state, params, loss=loss[, accuracy=acc, val_loss=..., "
            "val_accuracy=...]); see mava_ganno.optimiser's docstring."
        )
    loss = jnp.asarray(loss, jnp.float32).reshape(())
    acc = extra.get("accuracy")
    acc = jnp.exp(-loss) if acc is None else jnp.asarray(acc, jnp.float32).reshape(())
    agents = layer_agents(params)
    layout = agent_layout(agents, single_agent)
    if state.lrs.shape != (layout.num_agents,):
        raise ValueError(
            f"the optimiser state has {state.lrs.shape[0]} layer agents but these params have "
            f"{layout.num_agents}; call tx.init(params) for this model."
        )
    return _Step(updates, params, loss, acc, extra.get("val_loss"), extra.get("val_accuracy"), agents, layout)


def ganno_adamw(
    policy: Any = None,
    total_steps: Optional[int] = None,
    tau: Optional[int] = None,
    weight_decay: float = 0.1,
    initial_lr: float = 1e-3,
    *,
    lr_max: Optional[float] = None,
    lr_decay: Optional[str] = None,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    greedy: bool = True,
    seed: Union[int, chex.PRNGKey] = 0,
    single_agent: Optional[bool] = None,
    layer_types: Optional[Sequence[LayerType]] = None,
    num_classes: Optional[int] = None,
    layer_order: Optional[Sequence[str]] = None,
) -> optax.GradientTransformationExtraArgs:
    """AdamW whose layerwise learning rates a GANNO policy sets every ``tau`` steps.

    Args:
        policy: ``None`` (default) for the policy shipped with mava_ganno
            (``load_policy("default")``; its model card is ``mava_ganno/policies/default/MODEL_CARD.md``);
            a str, a policy folder or a shipped name, loaded with ``load_policy``; a
            ``mava_ganno.policy.GannoPolicy``, or anything with ``feature_names``,
            ``action_table``, ``lr_max``, ``init_hidden(n)`` and a jittable
            ``act(hidden, agents_view, action_mask, reset, key, greedy)``.
        total_steps: required; the planned number of ``update`` calls; the policy observes the
            training progress ``(step // tau) / (total_steps / tau)`` (the environment's episode length).
        tau: update calls between two decisions; default the ``tau`` the policy was trained
            with (its ``metadata``), else 100 (the paper's).
        weight_decay: decoupled weight decay (AdamW); also an observation.
        initial_lr: every layer's learning rate before the first decision; also an observation.
        lr_max: upper clip of the learning rates; default the policy's.
        lr_decay: ``"none"``, ``"cosine"``, ``"cosine_step"``, ``"wsd"`` or ``"wsd_step"``: what
            every LR does between two decisions before the action applies
            (``mava_ganno.env.actions.decay_ratio``: a cosine, or WSD's stable and decay phases,
            to 0 at ``total_steps``, 0 after it), and for the ``_step`` forms at every update
            call within a decision too (``within_decision_scale``; ``lr_trajectory`` records the
            LR at each decision's first step); default the policy's ``metadata["lr_decay"]``,
            else ``"none"``. A policy trained with one must be run with the same.
        b1, b2, eps: Adam's.
        greedy: take each agent's most likely action (default) instead of sampling one.
        seed: an int or a PRNG key for sampling actions (only used when ``greedy=False``); at
            each decision ``key, k_act = jax.random.split(key)``, as in ``mava_ganno.evaluation.harness``.
        single_agent: one agent sets one LR for the whole network (the paper's single-agent
            ablation); default: the policy's ``metadata["single_agent"]``, else whether its
            features are the ``single_agent`` preset (as ``mava_ganno.evaluation.harness`` decides).
        layer_types: restrict/override the registered layer types (default: entry points).
        num_classes: number of classes C of the task; required (a ``ValueError`` otherwise) when
            the policy observes chance-relative features (the ``robust`` set: loss / ln C,
            accuracy above 1/C), the environment's ``dataset.num_classes``.
        layer_order: the model's submodule paths in the order it calls them, e.g.
            ``mava_ganno.layers.call_order(model, variables, x)``: the layers' depth order (an
            observation) and which layer a normalisation follows. Default: the natural order of
            the parameter names, right for ``layer_00``, ``Dense_0``, ``Dense_1``... but not for
            names such as ``stem``, ``body``, ``head``.

    Returns:
        an optax ``GradientTransformationExtraArgs``; ``update(grads, state, params, *, loss,
        accuracy=None, val_loss=None, val_accuracy=None)`` (see the module docstring).
    """
    if total_steps is None:
        positional = isinstance(policy, (int, np.integer)) and not isinstance(policy, bool)
        raise ValueError(
            "ganno_adamw needs total_steps, the planned number of update calls (the policy observes "
            "training progress), e.g. ganno_adamw(total_steps=2000, num_classes=10)"
            + (f"; {policy!r} was passed as the policy (the first argument): pass it as total_steps={policy!r}." if positional else ".")
        )
    policy = _resolve_policy(policy)
    features = resolve_features(_policy_features(policy))
    table = _policy_table(policy)
    tau = int(policy_metadata_value(policy, "tau") or 100) if tau is None else tau
    lr_max = float(policy.lr_max if lr_max is None else lr_max)
    lr_decay = check_lr_decay(policy_lr_decay(policy) if lr_decay is None else lr_decay)
    _check_arguments(tau, total_steps, lr_max, initial_lr, weight_decay)
    single_agent = policy_is_single_agent(policy) if single_agent is None else single_agent
    if single_agent:
        resolve_features(features, single_agent=True)  # clear error if the features need layers
    num_classes = _check_num_classes(features, num_classes)
    order = None if layer_order is None else _checked_order(layer_order)
    tau, total_steps, key0, num_actions = int(tau), int(total_steps), _initial_key(seed), table.num_actions
    adam_kw = dict(b1=b1, b2=b2, eps=eps)
    found: Dict[Any, LayerAgents] = {}  # the layer agents of each params structure, found once (at trace time)

    def layer_agents(tree: Any) -> LayerAgents:
        leaves, treedef = jax.tree_util.tree_flatten(tree)
        sig = (treedef, tuple(np.shape(x) for x in leaves))
        if sig not in found:
            found[sig] = find_layer_agents(tree, layer_types, order)
        return found[sig]

    def inner(agents: LayerAgents, params: Any) -> optax.GradientTransformationExtraArgs:
        """The layerwise AdamW that applies the learning rates."""
        return layerwise_adamw(agents.agent_index_like(params), weight_decay, **adam_kw)

    def init_fn(params: Any) -> GannoState:
        agents = layer_agents(params)
        n = agent_layout(agents, single_agent).num_agents
        num_decisions = math.ceil(total_steps / tau)
        return GannoState(
            count=jnp.zeros((), jnp.int32),
            inner=inner(agents, params).init(params),
            lrs=jnp.full((n,), initial_lr, jnp.float32),
            prev_actions=jnp.full((n,), table.initial_previous_action, jnp.int32),
            hidden=policy.init_hidden(n),
            key=key0,
            loss_window=jnp.zeros((tau,), jnp.float32),
            accuracy_window=jnp.zeros((tau,), jnp.float32),
            lr_history=jnp.full((num_decisions, n), jnp.nan, jnp.float32),
            action_history=jnp.full((num_decisions, n), -1, jnp.int32),
            last_obs=jnp.zeros((n, feature_dim(features, num_actions)), jnp.float32),
            last_probs=jnp.zeros((n, num_actions), jnp.float32),
            prev_train_loss=jnp.zeros((), jnp.float32),
        )

    def observation(step: _Step, state: GannoState) -> Tuple[chex.Array, chex.Array]:
        """(N, F) the agents' observation at a decision (the environment's features), and the
        () capped train loss it saw (the next decision's ``prev_train_loss``)."""
        first, decision = state.count == 0, state.count // tau
        time_limit = total_steps / tau  # the environment's episode length, in decisions
        train_loss = jnp.where(first, step.loss, jnp.mean(state.loss_window))
        train_acc = jnp.where(first, step.accuracy, jnp.mean(state.accuracy_window))
        v_loss = train_loss if step.val_loss is None else jnp.asarray(step.val_loss, jnp.float32).reshape(())
        v_acc = train_acc if step.val_accuracy is None else jnp.asarray(step.val_accuracy, jnp.float32).reshape(())
        stats_g = global_stats(
            train_loss, train_acc, v_loss, v_acc, decision.astype(jnp.float32) / time_limit,
            initial_lr, weight_decay, prev_train_loss=jnp.where(first, train_loss, state.prev_train_loss),
        )  # fmt: skip
        direction, _ = adam_direction(weight_decay, **adam_kw).update(step.updates, state.inner[0], step.params)
        stats = layer_statistics(step.params, step.updates, direction, step.agents.leaf_agent_ids(), step.agents.num_agents)
        obs = observe(features, step.layout, stats_g, stats, state.lrs, state.prev_actions, num_actions, lr_max, num_classes)
        return obs, stats_g.train_loss

    def decide(step: _Step, state: GannoState) -> GannoState:
        """Runs the policy on every agent and applies its actions to the learning rates."""
        obs, train_loss = observation(step, state)
        n, decision = step.layout.num_agents, state.count // tau
        key, k_act = jax.random.split(state.key)
        hidden, actions, probs = policy.act(
            state.hidden, obs, jnp.ones((n, num_actions), bool), jnp.full((n,), state.count == 0), k_act, greedy
        )
        actions = jnp.asarray(actions, jnp.int32)
        lrs = table.apply(state.lrs * decay_ratio(lr_decay, decision, total_steps / tau), actions, lr_max)
        return state._replace(
            lrs=lrs,
            prev_actions=actions,
            hidden=hidden,
            key=key,
            lr_history=state.lr_history.at[decision].set(lrs, mode="drop"),
            action_history=state.action_history.at[decision].set(actions, mode="drop"),
            last_obs=obs,
            last_probs=jnp.asarray(probs, jnp.float32),
            prev_train_loss=jnp.asarray(train_loss, jnp.float32),
        )

    def update_fn(updates: Any, state: GannoState, params: Any = None, **extra: Any) -> Tuple[Any, GannoState]:
        if params is None:
            raise ValueError(
                "ganno_adamw needs params: call tx.update(grads, opt_state, params, loss=...) "
                "(weight decay and the layer statistics use them)."
            )
        step = _read_step(updates, state, params, extra, layer_agents, single_agent)
        count, slot = state.count, state.count % tau
        state = jax.lax.cond(slot == 0, functools.partial(decide, step), lambda s: s, state)
        layer_lrs = state.lrs[jnp.asarray(step.layout.layer_of_lr)]
        scale = within_decision_scale(lr_decay, count // tau, tau, total_steps / tau)  # cosine_step: per SGD step
        layer_lrs = layer_lrs if scale is None else layer_lrs * scale[slot]
        new_updates, inner_state = inner(step.agents, params).update(updates, state.inner, params, layer_lrs=layer_lrs)
        state = state._replace(
            count=count + 1,
            inner=inner_state,
            loss_window=state.loss_window.at[slot].set(step.loss),
            accuracy_window=state.accuracy_window.at[slot].set(step.accuracy),
        )
        return new_updates, state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def _resolve_policy(policy: Any) -> Any:
    """``None`` -> the shipped default policy; a str -> ``load_policy`` (a folder or a shipped
    name); anything else is used as given."""
    if policy is None:
        return load_shipped_policy("default")
    if isinstance(policy, str):
        return load_policy(policy)
    return policy


def _checked_order(layer_order: Any) -> Tuple[str, ...]:
    if isinstance(layer_order, str) or not all(isinstance(p, str) and p for p in layer_order):
        raise TypeError(
            f"layer_order must be a sequence of submodule paths like ('stem', 'body', 'head'), got {layer_order!r}; "
            "mava_ganno.layers.call_order(model, variables, x) records it."
        )
    return tuple(layer_order)


# ----------------------------------------------------------------------------- reading back
def find_ganno_state(opt_state: Any) -> GannoState:
    """The ``GannoState`` inside an optax state (``optax.tree_utils.tree_get``: also inside
    ``optax.chain`` tuples, ``multi_transform`` dicts and other wrappers)."""
    if isinstance(opt_state, GannoState):
        return opt_state
    try:
        found = optax.tree_utils.tree_get(opt_state, "GannoState")
    except KeyError:  # more than one
        raise ValueError("this optimiser state holds more than one GannoState; pass the one you mean.") from None
    if found is None:
        raise ValueError(
            f"no GannoState in this optimiser state ({type(opt_state).__name__}); pass the state "
            "returned by a ganno_adamw optimiser (or a chain containing one)."
        )
    return found


def is_decision_step(opt_state: Any) -> chex.Array:
    """() bool: the next ``update`` takes a decision (reads ``val_loss``/``val_accuracy``)."""
    s = find_ganno_state(opt_state)
    return s.count % s.loss_window.shape[0] == 0


def current_lrs(opt_state: Any) -> chex.Array:
    """(N,) the agents' current learning rates."""
    return find_ganno_state(opt_state).lrs


def lr_trajectory(opt_state: Any) -> Dict[str, np.ndarray]:
    """The learning-rate schedule so far, for plotting.

    Returns numpy arrays: ``steps`` (D,) the update index from which each decision's LRs
    apply (0, tau, 2 tau, ...), ``lrs`` (D, N) and ``actions`` (D, N), for the D decisions
    taken (and recorded, i.e. within ``total_steps``). Column i is agent i, named by
    ``layer_names(params)[i]``.
    """
    s = find_ganno_state(opt_state)
    tau = int(s.loss_window.shape[0])
    count = int(np.asarray(s.count))
    taken = min(-(-count // tau), int(s.lr_history.shape[0]))
    return {
        "steps": np.arange(taken, dtype=np.int64) * tau,
        "lrs": np.asarray(s.lr_history)[:taken],
        "actions": np.asarray(s.action_history)[:taken],
    }


__all__ = [
    "GannoState",
    "current_lrs",
    "find_ganno_state",
    "ganno_adamw",
    "is_decision_step",
    "layer_names",
    "lr_trajectory",
]
