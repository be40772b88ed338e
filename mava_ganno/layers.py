"""Layer types and layer agents.

Every trainable layer of the controlled network is one *layer agent*. Which parameter
subtrees count as a layer, and which layer type (one-hot slot in the observation) each has,
is decided by the layer types registered in the entry-point group ``mava_ganno.layer_types``.
The built-ins ``linear``, ``convolutional`` and ``attention`` are registered by mava_ganno's
own ``setup.py``; a third-party distribution adds a type with, e.g.::

    entry_points={"mava_ganno.layer_types": ["lora = my_pkg.layers:LORA"]}

where ``LORA = LayerType(name="lora", slot=3, matches=...)``. The one-hot width is fixed at
``NUM_LAYER_TYPE_SLOTS`` so that a policy trained before a type was added still loads.

How parameters map to agents (``find_layer_agents``):
- the params pytree is walked depth first, keys in natural order (``layer_2`` < ``layer_10``),
  and that order is the agents' depth order. It does not depend on dict insertion order (jax
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
    """The layer agents of a network, in depth order.

    Attributes:
        agents: one LayerAgent per agent, first to last layer.
        agent_index: a pytree with the params' structure whose leaves are the int index of the
            agent that schedules that leaf.
    """

    agents: Tuple[LayerAgent, ...]
    agent_index: Any

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
        import jax

        return np.asarray(jax.tree_util.tree_leaves(self.agent_index), np.int32)


def _natural_key(key: str) -> List[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(key))]


def find_layer_agents(
    params: Mapping[str, Any], layer_types: Sequence[LayerType] | None = None
) -> LayerAgents:
    """Finds the layer agents of a flax params pytree (see the module docstring for the rules)."""
    if layer_types is None:
        layer_types = load_layer_types()
    if isinstance(params, Mapping) and set(params) == {"params"}:
        params = params["params"]
    agents: List[LayerAgent] = []
    # (path of a leaf, agent index or None for "attach to previous")
    assignments: Dict[Tuple[str, ...], int] = {}
    pending_norm: List[Tuple[str, ...]] = []

    def leaves_below(node: Any, path: Tuple[str, ...]):
        if isinstance(node, Mapping):
            for k in sorted(node, key=_natural_key):
                yield from leaves_below(node[k], path + (k,))
        else:
            yield path, node

    def visit(node: Mapping[str, Any], path: Tuple[str, ...]) -> None:
        matched = [t for t in layer_types if t.matches(node)]
        if len(matched) > 1:
            raise UnknownLayerError(
                f"params at {'/'.join(path) or '<root>'} match several layer types "
                f"{[t.name for t in matched]}; make the third-party predicate stricter."
            )
        if matched:
            t = matched[0]
            idx = len(agents)
            leaves = list(leaves_below(node, path))
            agents.append(
                LayerAgent(path, t.name, t.slot, int(sum(int(np.size(v)) for _, v in leaves)))
            )
            for p, _ in leaves:
                assignments[p] = idx
            for p in pending_norm:
                assignments[p] = idx
            pending_norm.clear()
            return
        leaf_keys = [k for k, v in node.items() if not isinstance(v, Mapping)]
        if leaf_keys:
            if set(leaf_keys) <= NORMALISATION_LEAVES:
                for k in leaf_keys:
                    p = path + (k,)
                    if agents:
                        assignments[p] = len(agents) - 1
                    else:
                        pending_norm.append(p)
            else:
                names = ", ".join(f"{k}{tuple(np.shape(node[k]))}" for k in leaf_keys)
                raise UnknownLayerError(
                    f"unknown parameter kind at {'/'.join(path) or '<root>'} (leaves: {names}); "
                    f"registered layer types: {[t.name for t in layer_types]}. Register a "
                    f"LayerType for it in the entry-point group {ENTRY_POINT_GROUP!r}."
                )
        for k in sorted(node, key=_natural_key):
            if isinstance(node[k], Mapping):
                visit(node[k], path + (k,))

    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a nested dict of arrays, got {type(params).__name__}.")
    visit(params, ())
    if not agents:
        raise UnknownLayerError("no layer agents found: the params pytree has no registered layers.")
    if pending_norm:
        raise UnknownLayerError(f"normalisation params {pending_norm} have no layer to follow.")

    def index_tree(node: Any, path: Tuple[str, ...]) -> Any:
        if isinstance(node, Mapping):
            return {k: index_tree(v, path + (k,)) for k, v in node.items()}
        return assignments[path]

    return LayerAgents(tuple(agents), index_tree(params, ()))
