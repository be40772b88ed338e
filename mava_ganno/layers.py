"""Layer types and layer agents.

Every trainable layer of the controlled network is one *layer agent*. Which parameter
subtrees count as a layer, and which layer type (one-hot slot in the observation) each has,
is decided by the layer types registered in the entry-point group ``mava_ganno.layer_types``.
The built-ins ``linear``, ``convolutional``, ``attention`` and ``embedding`` (slots 0-3) are
registered by mava_ganno's own ``setup.py``; a third-party distribution adds a type with, e.g.::

    entry_points={"mava_ganno.layer_types": ["lora = my_pkg.layers:LORA"]}

where ``LORA = LayerType(name="lora", slot=4, matches=...)``. The one-hot width is fixed at
``NUM_LAYER_TYPE_SLOTS`` so that a policy trained before a type was added still loads.

How parameters map to agents (``find_layer_agents``, for any params pytree: dict, FrozenDict,
``{"params": ...}``; the returned ``LayerAgents`` also gives every leaf's agent in flatten order,
and ``layer_names`` the agents' names):
- the params pytree is walked depth first, keys in natural order (``layer_2`` < ``layer_10``),
  and that order is the agents' depth order, unless the order in which the model calls its
  submodules is given (``find_layer_agents(order=call_order(model, variables, x))``; ``ganno_adamw``
  takes it as ``layer_order``), which is what a model with named submodules (``stem``, ``body``,
  ``head``) needs. It does not depend on dict insertion order (jax
  tree operations sort keys), so flax's auto-names follow call order only within one module
  class (``Dense_0``, ``Dense_1``, ...); name layers explicitly (``layer_00``, ...) otherwise;
- a dict node matched by exactly one registered type is one agent, and *all* leaves below it
  (kernel and bias, or an attention block's query/key/value/out) are scheduled by that agent;
- a node whose leaves are only ``scale``/``bias``/``mean``/``var`` (BatchNorm, LayerNorm) is a
  normalisation layer: it is not an agent; its params follow the agent visited just before it
  (or the first agent if it comes first);
- any other leaf is an unknown parameter kind and raises ``UnknownLayerError``.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import re
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

import jax
import numpy as np

ENTRY_POINT_GROUP = "mava_ganno.layer_types"
NUM_LAYER_TYPE_SLOTS = 8
NORMALISATION_LEAVES = frozenset({"scale", "bias", "mean", "var"})


class UnknownLayerError(ValueError):
    """A parameter subtree that no registered layer type claims."""


@dataclasses.dataclass(frozen=True)
class LayerType:
    """A kind of layer that can be an agent.

    Attributes:
        name: unique name, e.g. "linear".
        slot: index of this type in the layer-type one-hot, in [0, NUM_LAYER_TYPE_SLOTS).
        matches: predicate on a params dict node (``{"kernel": ..., "bias": ...}``) that says
            whether the node is one layer of this type.
        description: one line for error messages and docs.
    """

    name: str
    slot: int
    matches: Callable[[Mapping[str, Any]], bool]
    description: str = ""


def _leaf_ndim(node: Mapping[str, Any], key: str) -> int:
    value = node.get(key)
    return -1 if value is None or isinstance(value, Mapping) else int(np.ndim(value))


def _only_kernel_and_bias(node: Mapping[str, Any]) -> bool:
    return "kernel" in node and set(node) <= {"kernel", "bias"}


def _is_linear(node: Mapping[str, Any]) -> bool:
    return _only_kernel_and_bias(node) and _leaf_ndim(node, "kernel") == 2


def _is_convolutional(node: Mapping[str, Any]) -> bool:
    return _only_kernel_and_bias(node) and _leaf_ndim(node, "kernel") >= 3


def _is_attention(node: Mapping[str, Any]) -> bool:
    return all(isinstance(node.get(k), Mapping) for k in ("query", "key", "value", "out"))


LINEAR = LayerType("linear", 0, _is_linear, "flax Dense: a 2-D kernel (+ bias)")
CONVOLUTIONAL = LayerType("convolutional", 1, _is_convolutional, "flax Conv: a >=3-D kernel")
ATTENTION = LayerType(
    "attention", 2, _is_attention, "flax MultiHeadDotProductAttention: query/key/value/out"
)


def _is_embedding(node: Mapping[str, Any]) -> bool:
    return set(node) == {"embedding"} and _leaf_ndim(node, "embedding") == 2


EMBEDDING = LayerType(
    "embedding", 3, _is_embedding, "flax Embed or learned position embeddings: a 2-D `embedding` table"
)


def load_layer_types() -> Tuple[LayerType, ...]:
    """All layer types registered under the ``mava_ganno.layer_types`` entry-point group.

    Read afresh on every call, so a distribution put on ``sys.path`` at run time is seen.
    Raises if nothing is registered (mava_ganno is not installed), or on conflicting entries.
    """
    eps = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    types: Dict[str, LayerType] = {}
    for ep in sorted(eps, key=lambda e: e.name):
        obj = ep.load()
        if not isinstance(obj, LayerType):
            raise TypeError(
                f"entry point {ep.name!r} = {ep.value!r} in group {ENTRY_POINT_GROUP!r} must be a "
                f"mava_ganno.layers.LayerType instance, got {type(obj).__name__}."
            )
        if ep.name != obj.name:
            raise ValueError(
                f"entry point name {ep.name!r} differs from its LayerType.name {obj.name!r}; "
                "make them equal."
            )
        if obj.name in types:
            if types[obj.name] != obj:
                raise ValueError(f"layer type {obj.name!r} is registered twice with different values.")
            continue
        types[obj.name] = obj
    if not types:
        raise RuntimeError(
            f"no layer types found in entry-point group {ENTRY_POINT_GROUP!r}: mava_ganno must be "
            "installed (pip install -e .) for its built-in layer types to register."
        )
    slots: Dict[int, str] = {}
    for t in types.values():
        if not 0 <= t.slot < NUM_LAYER_TYPE_SLOTS:
            raise ValueError(
                f"layer type {t.name!r} has slot {t.slot}; slots must lie in "
                f"[0, {NUM_LAYER_TYPE_SLOTS}) so the observation width stays fixed."
            )
        if t.slot in slots:
            raise ValueError(
                f"layer types {slots[t.slot]!r} and {t.name!r} both use slot {t.slot}; "
                "give the third-party type a free slot."
            )
        slots[t.slot] = t.name
    return tuple(sorted(types.values(), key=lambda t: t.slot))


def get_layer_type(name: str) -> LayerType:
    types = {t.name: t for t in load_layer_types()}
    if name not in types:
        raise ValueError(f"unknown layer type {name!r}; registered types: {sorted(types)}.")
    return types[name]


@dataclasses.dataclass(frozen=True)
class LayerAgent:
    """One layer agent: where its params live and what kind of layer it is."""

    path: Tuple[str, ...]
    layer_type: str
    type_slot: int
    num_params: int


@dataclasses.dataclass(frozen=True)
class LayerAgents:
    """The layer agents of a network, in depth order (static: computed from shapes alone).

    Paths are relative to the params without a ``{"params": ...}`` wrapper.

    Attributes:
        agents: one LayerAgent per agent, first to last layer.
        agent_index: a pytree with the params' structure whose leaves are the int index of the
            agent that schedules that leaf.
        leaf_paths: the path of every params leaf, in the params' flatten order.
    """

    agents: Tuple[LayerAgent, ...]
    agent_index: Any
    leaf_paths: Tuple[Tuple[str, ...], ...] = ()

    @property
    def num_agents(self) -> int:
        return len(self.agents)

    @property
    def type_slots(self) -> np.ndarray:
        return np.asarray([a.type_slot for a in self.agents], np.int32)

    @property
    def depth_ids(self) -> np.ndarray:
        """0 = first layer, 1 = intermediate, 2 = final (a single layer is 'first')."""
        n = self.num_agents
        ids = np.ones(n, np.int32)
        ids[-1] = 2
        ids[0] = 0
        return ids

    def leaf_agent_ids(self) -> np.ndarray:
        """(num_leaves,) int32: the agent of every params leaf, in the params' flatten order."""
        return np.asarray(jax.tree_util.tree_leaves(self.agent_index), np.int32)

    def agent_index_like(self, tree: Any) -> Any:
        """``agent_index`` with ``tree``'s structure (e.g. a FrozenDict or ``{"params": ...}``)."""
        treedef = jax.tree_util.tree_structure(tree)
        return jax.tree_util.tree_unflatten(treedef, [int(i) for i in self.leaf_agent_ids()])

    def names(self) -> Tuple[str, ...]:
        """``layer_00/dense``...: each agent's path, in the order of the agents."""
        return tuple("/".join(a.path) for a in self.agents)


def _natural_key(key: str) -> List[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(key))]


def _key_name(k: Any) -> str:
    for attr in ("key", "name", "idx"):
        if hasattr(k, attr):
            return str(getattr(k, attr))
    return str(k)


def _nested(params: Any) -> Tuple[Dict[str, Any], List[Tuple[str, ...]]]:
    """Any pytree of arrays -> (nested dict keyed by path names, leaf paths in flatten order)."""
    flat, _ = jax.tree_util.tree_flatten_with_path(params)
    nested: Dict[str, Any] = {}
    paths = []
    for path, leaf in flat:
        names = tuple(_key_name(k) for k in path)
        if not names:
            raise TypeError(
                "layer agents need a params pytree of named layers (a flax params dict), got a "
                f"single array of shape {np.shape(leaf)}."
            )
        node = nested
        for n in names[:-1]:
            node = node.setdefault(n, {})
            if not isinstance(node, dict):
                raise TypeError(f"params path {'/'.join(names)} collides with a leaf.")
        node[names[-1]] = leaf
        paths.append(names)
    return nested, paths


def _is_wrapped(tree: Any) -> bool:
    return isinstance(tree, Mapping) and set(tree) == {"params"}


def _leaves_below(node: Any, path: Tuple[str, ...]):
    if isinstance(node, Mapping):
        for k in sorted(node, key=_natural_key):
            yield from _leaves_below(node[k], path + (k,))
    else:
        yield path, node


def _order_key(order: Sequence[Tuple[str, ...]]):
    """Sort key for a node's children: first the ones ``order`` names (by the first entry at or
    below them), then the rest in natural key order."""
    rank: Dict[Tuple[str, ...], int] = {}
    for i, entry in enumerate(order):
        for k in range(1, len(entry) + 1):
            rank.setdefault(entry[:k], i)

    def children(node: Mapping[str, Any], path: Tuple[str, ...]) -> List[str]:
        return sorted(node, key=lambda c: (rank.get(path + (c,), len(order)), _natural_key(c)))

    return children


def _natural_children(node: Mapping[str, Any], path: Tuple[str, ...]) -> List[str]:
    return sorted(node, key=_natural_key)


def call_order(module: Any, variables: Any, *args: Any, **kwargs: Any) -> Tuple[str, ...]:
    """The paths (``"body/Dense_0"``) of a flax linen ``module``'s submodules in the order one
    ``module.apply(variables, *args, **kwargs)`` calls them (parents before their children):
    the depth order to give ``find_layer_agents(order=...)`` / ``ganno_adamw(layer_order=...)``
    for a model whose parameter names do not sort in depth order. Runs the model once, eagerly."""
    import flax.linen as nn

    seen: List[str] = []

    def interceptor(next_fun, f_args, f_kwargs, context):
        path = "/".join(str(p) for p in getattr(context.module.scope, "path", ()) or ())
        if path and path not in seen:
            seen.append(path)
        return next_fun(*f_args, **f_kwargs)

    with nn.intercept_methods(interceptor):
        module.apply(variables, *args, **kwargs)
    return tuple(seen)


class _AgentWalk:
    """The depth-first walk of a nested params dict that numbers the agents and gives every
    leaf path an agent (normalisation params follow the agent visited before them). Children are
    visited in natural key order, or in a given call order (``_order_key``)."""

    def __init__(self, layer_types: Sequence[LayerType], children=_natural_children):
        self.children = children
        self.layer_types = layer_types
        self.agents: List[LayerAgent] = []
        self.assignments: Dict[Tuple[str, ...], int] = {}
        self.pending_norm: List[Tuple[str, ...]] = []  # norm params seen before any agent

    def visit(self, node: Mapping[str, Any], path: Tuple[str, ...]) -> None:
        matched = [t for t in self.layer_types if t.matches(node)]
        if len(matched) > 1:
            raise UnknownLayerError(
                f"params at {'/'.join(path) or '<root>'} match several layer types "
                f"{[t.name for t in matched]}; make the third-party predicate stricter."
            )
        if matched:
            self._add_agent(matched[0], node, path)
            return
        leaf_keys = [k for k, v in node.items() if not isinstance(v, Mapping)]
        if leaf_keys:
            self._add_normalisation(node, path, leaf_keys)
        for k in self.children(node, path):
            if isinstance(node[k], Mapping):
                self.visit(node[k], path + (k,))

    def _add_agent(self, layer_type: LayerType, node: Mapping[str, Any], path: Tuple[str, ...]) -> None:
        idx = len(self.agents)
        leaves = list(_leaves_below(node, path))
        num_params = int(sum(int(np.size(v)) for _, v in leaves))
        self.agents.append(LayerAgent(path, layer_type.name, layer_type.slot, num_params))
        for p in [p for p, _ in leaves] + self.pending_norm:
            self.assignments[p] = idx
        self.pending_norm.clear()

    def _add_normalisation(self, node: Mapping[str, Any], path: Tuple[str, ...], leaf_keys: List[str]) -> None:
        if not set(leaf_keys) <= NORMALISATION_LEAVES:
            names = ", ".join(f"{k}{tuple(np.shape(node[k]))}" for k in leaf_keys)
            raise UnknownLayerError(
                f"unknown parameter kind at {'/'.join(path) or '<root>'} (leaves: {names}); "
                f"registered layer types: {[t.name for t in self.layer_types]}. Register a "
                f"LayerType for it in the entry-point group {ENTRY_POINT_GROUP!r}. Parameters "
                "that belong to a layer (e.g. position embeddings, a class token) can instead "
                "live inside that layer's submodule, where they follow its agent."
            )
        for k in leaf_keys:
            if self.agents:
                self.assignments[path + (k,)] = len(self.agents) - 1
            else:
                self.pending_norm.append(path + (k,))


def find_layer_agents(
    params: Any, layer_types: Sequence[LayerType] | None = None, order: Sequence[str] | None = None
) -> LayerAgents:
    """The layer agents of any flax params pytree (dict, FrozenDict, ``{"params": ...}``).

    See the module docstring for the rules; raises ``UnknownLayerError`` naming a parameter
    that no registered layer type claims. ``order``: submodule paths (``"stem"``,
    ``"body/Dense_0"``, ...) in the order the model calls them (``call_order``); the walk, and so
    the depth order of the agents and which layer a normalisation follows, uses it instead of
    the natural order of the key names (submodules it does not name come after, in that order).
    """
    if layer_types is None:
        layer_types = load_layer_types()
    nested, paths = _nested(params)
    wrapped = _is_wrapped(nested)
    children = _natural_children
    if order is not None:
        if isinstance(order, str):
            raise TypeError(f"order must be a sequence of submodule paths, got the string {order!r}; e.g. call_order(model, variables, x).")
        children = _order_key([tuple(p for p in str(entry).split("/") if p) for entry in order])
    walk = _AgentWalk(layer_types, children)
    walk.visit(nested["params"] if wrapped else nested, ())
    if not walk.agents:
        raise UnknownLayerError("no layer agents found: the params pytree has no registered layers.")
    if walk.pending_norm:
        raise UnknownLayerError(f"normalisation params {walk.pending_norm} have no layer to follow.")
    leaf_paths = tuple(p[1:] if wrapped else p for p in paths)
    index = jax.tree_util.tree_unflatten(
        jax.tree_util.tree_structure(params), [walk.assignments[p] for p in leaf_paths]
    )
    return LayerAgents(tuple(walk.agents), index["params"] if _is_wrapped(index) else index, leaf_paths)


def layer_names(
    params: Any, layer_types: Sequence[LayerType] | None = None, order: Sequence[str] | None = None
) -> Tuple[str, ...]:
    """Names (``layer_00/dense``...) of the layer agents of ``params``, in depth order (the
    order of ``mava_ganno.optimiser``'s LR columns; pass the optimiser's ``layer_order`` as
    ``order`` if it was given one)."""
    return find_layer_agents(params, layer_types, order).names()
