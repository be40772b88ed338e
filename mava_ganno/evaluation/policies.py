"""Policies to evaluate: fixed-distribution agents (random layerwise, always no-op), how a
loaded policy is labelled in the tables, and loading a policy from any folder we know or by the
name of a policy shipped with mava_ganno (``default``)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, List, Optional, Sequence, Tuple

import chex
import jax
import jax.numpy as jnp
from flax import struct

from mava_ganno.env.actions import ActionTable
from mava_ganno.env.observations import FEATURE_SETS
from mava_ganno.policy import SHIPPED_POLICIES, policy_is_single_agent, shipped_policy_dir

ABLATION_LABELS = {
    "lr_only": "GANNO-LR-only",
    "timestep_only": "GANNO-timestep-only",
    "single_agent": "GANNO-single-agent",
    "robust": "GANNO-robust",
    "robust_input": "GANNO-robust-input",
}


# ============================================================================ policies
class FixedPolicy(struct.PyTreeNode):
    """A policy that ignores its observation: every layer draws from fixed action logits.

    ``RandomPolicy`` (uniform: the paper's random layerwise agent) and ``NoopPolicy`` (always
    the no-op: a constant LR) are instances. Same interface as
    ``mava_ganno.policy.GannoPolicy`` (``init_hidden``, ``act``), so it runs through exactly
    the same evaluation code path; ``logits`` is a pytree leaf, so all fixed policies of one
    action table share one compiled function.
    """

    logits: chex.Array  # (A,)
    action_table: Tuple[str, ...] = struct.field(pytree_node=False)
    lr_max: float = struct.field(pytree_node=False, default=0.1)
    feature_names: Tuple[str, ...] = struct.field(pytree_node=False, default=FEATURE_SETS["full"])
    metadata: Any = struct.field(pytree_node=False, default=None)

    def init_hidden(self, num_agents: int) -> chex.Array:
        return jnp.zeros((int(num_agents), 1), jnp.float32)

    def act(self, hidden, agents_view, action_mask, reset, key, greedy=False):
        del reset
        logits = jnp.where(action_mask, self.logits, -jnp.inf)
        sampled = jax.random.categorical(key, logits, axis=-1)
        actions = jnp.where(greedy, jnp.argmax(logits, axis=-1), sampled).astype(jnp.int32)
        return hidden, actions, jax.nn.softmax(logits, axis=-1)


def RandomPolicy(action_table: Sequence[str], lr_max: float = 0.1) -> FixedPolicy:
    """The random layerwise agent: uniformly random actions (sample it, ``greedy=False``)."""
    return FixedPolicy(jnp.zeros(len(action_table), jnp.float32), tuple(action_table), float(lr_max))


def NoopPolicy(action_table: Sequence[str], lr_max: float = 0.1) -> FixedPolicy:
    """Always the no-op action: every layer keeps its initial LR (= the constant schedule)."""
    noop = ActionTable.from_strings(tuple(action_table)).noop_index
    logits = jnp.full(len(action_table), -1e9, jnp.float32).at[noop].set(0.0)
    return FixedPolicy(logits, tuple(action_table), float(lr_max))


class SharedPolicy(struct.PyTreeNode):
    """A network policy and a fixed-distribution agent in one pytree, so that the harness runs
    both through ONE compiled policy runner per network shape.

    ``use_fixed`` (a bool leaf, passed unbatched) picks, with ``lax.cond``, either
    ``network.act`` (a trained ``GannoPolicy``) or ``FixedPolicy(logits).act``; unbatched, the
    cond stays a real conditional under ``vmap``, so a fixed agent does not pay for the network
    (whose parameters it carries only for their shapes: ``shared_policy``). Either branch
    computes exactly what the policy alone computes; the fixed agent keeps the network's
    hidden state unchanged (it has none of its own).
    """

    network: Any  # a GannoPolicy, its metadata cleared (static fields would split compilations)
    logits: chex.Array  # (A,) the fixed agent's logits (unused when use_fixed is False)
    use_fixed: chex.Array  # () bool

    @property
    def feature_names(self) -> Tuple[str, ...]:
        return tuple(self.network.feature_names)

    def init_hidden(self, num_agents: int) -> chex.Array:
        return self.network.init_hidden(num_agents)

    def act(self, hidden, agents_view, action_mask, reset, key, greedy=False):
        fixed = FixedPolicy(self.logits, tuple(self.network.action_table), float(self.network.lr_max))
        return jax.lax.cond(
            self.use_fixed,
            lambda: fixed.act(hidden, agents_view, action_mask, reset, key, greedy),
            lambda: self.network.act(hidden, agents_view, action_mask, reset, key, greedy),
        )


def shared_policy(policy: Any, network: Any = None) -> Any:
    """What ``policy`` runs as in the harness's policy runner.

    A ``GannoPolicy`` -> ``SharedPolicy`` of itself; a ``FixedPolicy`` -> ``SharedPolicy`` with
    ``network`` (a ``GannoPolicy`` of the same environment) in the network slot, so both
    compile one runner; anything else (or a fixed agent with no network policy to share
    with) runs as itself.
    """
    from mava_ganno.policy import GannoPolicy

    if isinstance(policy, GannoPolicy):
        zeros = jnp.zeros(policy.action_dim, jnp.float32)
        return SharedPolicy(policy.replace(metadata_json="{}"), zeros, jnp.asarray(False))
    if isinstance(policy, FixedPolicy) and isinstance(network, GannoPolicy):
        if len(policy.action_table) != network.action_dim:
            return policy
        logits = jnp.asarray(policy.logits, jnp.float32)
        return SharedPolicy(network.replace(metadata_json="{}"), logits, jnp.asarray(True))
    return policy


@dataclasses.dataclass
class PolicySource:
    """A policy to evaluate: ``label`` (table row), ``group`` (ganno/ablation/random)."""

    label: str
    group: str
    policy: Any
    path: str = ""
    single_agent: bool = False

    @property
    def feature_names(self) -> Tuple[str, ...]:
        return tuple(self.policy.feature_names)


def source_digest(src: PolicySource) -> str:
    """A content hash of the policy ``src`` runs, for keys of finished results: the files of
    its folder (``policy_folder_digest``) when it was loaded from a saved policy, else the
    loaded policy itself (``policy_digest``; a fixed-distribution agent: its logits and table)."""
    import hashlib
    import json

    import numpy as np

    from mava_ganno import policy as policy_mod

    if src.path:
        folder = policy_mod.resolve_policy_dir(src.path) if src.path in SHIPPED_POLICIES else src.path
        if os.path.isfile(os.path.join(folder, policy_mod.CONFIG_FILE)):
            return policy_mod.policy_folder_digest(folder)
    if isinstance(src.policy, policy_mod.GannoPolicy):
        return policy_mod.policy_digest(src.policy)
    if isinstance(src.policy, FixedPolicy):
        p = src.policy
        blob = json.dumps([np.asarray(p.logits, np.float32).tolist(), list(p.action_table), p.lr_max, list(p.feature_names)])
        return hashlib.sha256(blob.encode()).hexdigest()
    raise TypeError(f"policy {src.label!r}: cannot hash a {type(src.policy).__name__}; give a GannoPolicy or a FixedPolicy.")


def describe_policy(policy: Any, path: str = "", label: Optional[str] = None) -> PolicySource:
    """Label and group of a loaded policy, from its features and metadata.

    Full features on layer agents -> ``GANNO``, the ``robust`` and ``robust_input`` sets ->
    ``GANNO-robust``, ``GANNO-robust-input`` (GANNO policies, drawn in every figure); the
    paper's ablations -> ``GANNO-LR-only``, ``GANNO-timestep-only``, ``GANNO-single-agent``
    (single agent is read from the policy's metadata ``single_agent``, else inferred from the
    ``single_agent`` feature preset); any other feature list -> ``GANNO-custom-features``,
    grouped with the ablations.
    """
    feats = tuple(policy.feature_names)
    single = policy_is_single_agent(policy)
    if single:
        preset, group = "single_agent", "ablation"
    elif feats == FEATURE_SETS["lr_only"]:
        preset, group = "lr_only", "ablation"
    elif feats == FEATURE_SETS["timestep_only"]:
        preset, group = "timestep_only", "ablation"
    elif feats == FEATURE_SETS["full"]:
        preset, group = "full", "ganno"
    elif feats == FEATURE_SETS["robust"]:
        preset, group = "robust", "ganno"
    elif feats == FEATURE_SETS["robust_input"]:
        preset, group = "robust_input", "ganno"
    else:
        preset, group = "custom", "ablation"
    if label is None:
        label = "GANNO" if preset == "full" else ABLATION_LABELS.get(preset, "GANNO-custom-features")
    return PolicySource(label, group, policy, path, single)


def shipped_name(path: str) -> Optional[str]:
    """The name of the shipped policy ``path`` stands for (its name, with no such file or folder
    here, or its own folder), else None."""
    if path in SHIPPED_POLICIES and not os.path.lexists(path):
        return path
    for name in SHIPPED_POLICIES:
        try:
            if os.path.isdir(path) and os.path.samefile(path, shipped_policy_dir(name)):
                return name
        except FileNotFoundError:  # not installed: nothing to stand for
            continue
    return None


LOADER_GROUP = "mava_ganno.policy_loaders"


@dataclasses.dataclass(frozen=True)
class FolderLoader:
    """A kind of policy folder another package teaches ``load_policy_any``, registered as an
    entry point of the group ``mava_ganno.policy_loaders`` (Mava's checkpoints are one:
    ``mava = mava_ganno.mava.checkpoint:LOADER``): ``matches(path)`` says whether a folder is of
    this kind, ``load(path)`` returns the policy; ``name`` describes the folder in errors."""

    name: str
    matches: Callable[[str], bool]
    load: Callable[[str], Any]


def folder_loaders() -> List[FolderLoader]:
    """The registered ``FolderLoader``s, by entry-point name."""
    import importlib.metadata

    out = []
    for ep in sorted(importlib.metadata.entry_points(group=LOADER_GROUP), key=lambda e: e.name):
        obj = ep.load()
        if not isinstance(obj, FolderLoader):
            raise TypeError(f"entry point {ep.name!r} = {ep.value!r} in group {LOADER_GROUP!r} must be a FolderLoader, "
                            f"got {type(obj).__name__}.")  # fmt: skip
        out.append(obj)
    return out


def load_policy_any(path: str) -> Any:
    """Load a trained policy from a directory, dispatching on what it contains.

    - the name of a shipped policy (``SHIPPED_POLICIES``: ``default``) when no file or folder of
      that name exists here (else a ValueError: give ``./default`` or the shipped folder);
    - ``policy.json`` + ``params.msgpack``: a mava_ganno policy (``mava_ganno.policy``, what
      ``ganno train`` writes to ``<run>/policy``);
    - any folder a registered ``FolderLoader`` recognises (``folder_loaders``; installed with
      mava_ganno: Mava checkpoint run directories, ``checkpoints/<system>/<uid>``).
    """
    from mava_ganno import policy as policy_mod

    if path in SHIPPED_POLICIES:
        return policy_mod.load_policy(policy_mod.resolve_policy_dir(path, command_line=True))
    own = f"a folder written by ganno train (<run>/policy, with {policy_mod.CONFIG_FILE} + {policy_mod.PARAMS_FILE})"
    loaders = folder_loaders()
    kinds = " or ".join([own] + [loader.name for loader in loaders])
    if not os.path.isdir(path):
        raise FileNotFoundError(f"policy path {path!r} is not a directory; give {kinds}.")
    if os.path.isfile(os.path.join(path, policy_mod.CONFIG_FILE)):
        return policy_mod.load_policy(path)
    for loader in loaders:
        if loader.matches(path):
            return loader.load(path)
    raise FileNotFoundError(f"{path!r} holds none of the policy folders known here: {kinds}.")


def policy_source(arg: str) -> PolicySource:
    """``--policy [LABEL=]PATH`` loaded and labelled (``describe_policy``); a shipped policy is
    labelled ``GANNO (shipped <name>)`` unless ``LABEL=`` is given."""
    label, path = parse_policy_arg(arg)
    policy = load_policy_any(path)
    name = shipped_name(path)
    if label is None and name is not None:
        label = f"GANNO (shipped {name})"
    return describe_policy(policy, path=path, label=label)


def parse_policy_arg(arg: str) -> Tuple[Optional[str], str]:
    """``LABEL=PATH`` or ``PATH`` -> (label or None, path)."""
    if "=" in arg and not os.path.exists(arg):
        label, path = arg.split("=", 1)
        if not label.strip():
            raise ValueError(f"--policy {arg!r}: empty label before '='; use LABEL=PATH or PATH.")
        return label.strip(), path
    return None, arg
