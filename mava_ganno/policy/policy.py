"""The GANNO policy: a jittable ``act`` for any number of layer agents, and its metadata.

``GannoPolicy`` bundles the actor's parameters (``mava_ganno.policy.networks``) with what is
needed to run it on an environment: the observation feature names, the action table,
``lr_max`` and the observation normalisation statistics
(``mava_ganno.policy.normalisation``). Saving and loading live in ``mava_ganno.policy.io``.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import chex
import jax
import jax.numpy as jnp
from flax import struct

from mava_ganno.policy.networks import NetworkConfig, RecurrentActor, ScannedRNN, make_actor
from mava_ganno.policy.normalisation import ObsNormStats, continuous_feature_mask

LAYER_ACTIONS = ("own", "shared")


def check_layer_actions(value: Any, where: str = "layer_actions") -> str:
    """``value`` if it is one of ``LAYER_ACTIONS``, else a ``ValueError`` naming it and the fix."""
    if value not in LAYER_ACTIONS:
        raise ValueError(
            f"{where}={value!r} is not a layer-action setting; use 'own' (every layer its own action) "
            "or 'shared' (one action for all layers: the most likely joint action)."
        )
    return str(value)


class GannoPolicy(struct.PyTreeNode):
    """A trained (or freshly initialised) GANNO policy, runnable on any number of layers.

    Pytree leaves: ``params`` and ``obs_norm``; everything else is static metadata.
    """

    params: Any  # the actor's flax variables {"params": ...}
    obs_norm: Optional[ObsNormStats]
    network: NetworkConfig = struct.field(pytree_node=False)
    feature_names: Tuple[str, ...] = struct.field(pytree_node=False)
    action_table: Tuple[str, ...] = struct.field(pytree_node=False)
    lr_max: float = struct.field(pytree_node=False)
    metadata_json: str = struct.field(pytree_node=False, default="{}")
    # "own": every layer takes its own action; "shared": all layers of a network take one
    # action, the most likely joint one (LAYER_ACTIONS)
    layer_actions: str = struct.field(pytree_node=False, default="own")

    def __post_init__(self) -> None:
        check_layer_actions(self.layer_actions)

    # --- properties
    @property
    def action_dim(self) -> int:
        return len(self.action_table)

    @property
    def obs_dim(self) -> int:
        from mava_ganno.env.observations import feature_dim

        return feature_dim(self.feature_names, self.action_dim)

    @property
    def hidden_state_dim(self) -> int:
        return self.network.hidden_state_dim

    @property
    def metadata(self) -> Dict[str, Any]:
        return json.loads(self.metadata_json)

    @property
    def actor(self) -> RecurrentActor:
        return make_actor(self.network, self.action_dim)

    # --- running it
    def init_hidden(self, num_agents: int) -> chex.Array:
        """Zero hidden state (num_agents, H) for one environment."""
        return ScannedRNN.initialize_carry((int(num_agents),), self.hidden_state_dim)

    def normalise(self, agents_view: chex.Array) -> chex.Array:
        return agents_view if self.obs_norm is None else self.obs_norm.normalise(agents_view)

    def logits(
        self, hidden: chex.Array, agents_view: chex.Array, action_mask: chex.Array, reset: chex.Array
    ) -> Tuple[chex.Array, chex.Array]:
        """One step for a batch of agents (*B, ...): returns (hidden (*B,H), logits (*B,A))."""
        x = self.normalise(jnp.asarray(agents_view, jnp.float32))
        hidden, logits = self.actor.apply(
            self.params, hidden, (x[None], jnp.asarray(action_mask, bool)[None], jnp.asarray(reset, bool)[None])
        )
        return hidden, logits[0]

    def act(
        self,
        hidden: chex.Array,
        agents_view: chex.Array,
        action_mask: chex.Array,
        reset: chex.Array,
        key: chex.PRNGKey,
        greedy: bool = False,
    ) -> Tuple[chex.Array, chex.Array, chex.Array]:
        """Pure and jittable; works for any number of agents N.

        Args: hidden (N,H); agents_view (N,F); action_mask (N,A) bool; reset (N,) bool, True
        on the first step of an episode (zeroes the hidden state first); key; greedy (a
        Python bool or a traced bool): argmax instead of sampling.

        With ``layer_actions="shared"`` every agent gets the same action: the argmax (greedy) or a
        draw (sampled) of the normalised product of the agents' distributions, i.e. of the sum of
        their log-probabilities; ``probs`` is that joint distribution, repeated per agent.

        Returns: (hidden (N,H), actions (N,) int32, probs (N,A)).
        """
        hidden, logits = self.logits(hidden, agents_view, action_mask, reset)
        if self.layer_actions == "shared":
            joint = jnp.sum(jax.nn.log_softmax(logits, axis=-1), axis=-2, keepdims=True)
            sampled = jnp.broadcast_to(jax.random.categorical(key, joint, axis=-1), logits.shape[:-1])
            logits = jnp.broadcast_to(joint, logits.shape)
        else:
            sampled = jax.random.categorical(key, logits, axis=-1)
        actions = jnp.where(greedy, jnp.argmax(logits, axis=-1), sampled).astype(jnp.int32)
        return hidden, actions, jax.nn.softmax(logits, axis=-1)

    # --- compatibility
    def check_env(self, env: Any) -> None:
        """Raise a clear error if ``env`` (a ``Ganno``) does not match this policy."""
        problems = []
        if tuple(env.features) != self.feature_names:
            problems.append(f"observation features {list(env.features)} != policy's {list(self.feature_names)}")
        if tuple(env.action_table.entries) != self.action_table:
            problems.append(f"action table {list(env.action_table.entries)} != policy's {list(self.action_table)}")
        mine, theirs = policy_lr_decay(self), getattr(env, "lr_decay", "none")
        if theirs != mine:
            problems.append(f"lr_decay {theirs!r} != policy's {mine!r}")
        if problems:
            raise ValueError("the environment does not match the policy: " + "; ".join(problems) + ".")


def init_policy(
    key: chex.PRNGKey,
    feature_names: Sequence[str],
    action_table: Sequence[str],
    lr_max: float,
    network: NetworkConfig = NetworkConfig(),
    obs_norm: bool = True,
    metadata: Optional[Mapping[str, Any]] = None,
) -> GannoPolicy:
    """A freshly initialised (untrained) policy."""
    from mava_ganno.env.observations import feature_dim, resolve_features

    feature_names = resolve_features(tuple(feature_names))
    action_table = tuple(action_table)
    obs_dim = feature_dim(feature_names, len(action_table))
    actor = make_actor(network, len(action_table))
    dummy = (
        jnp.zeros((1, 1, obs_dim), jnp.float32),
        jnp.ones((1, 1, len(action_table)), bool),
        jnp.zeros((1, 1), bool),
    )
    params = actor.init(key, ScannedRNN.initialize_carry((1,), network.hidden_state_dim), dummy)
    norm = ObsNormStats.create(jnp.asarray(continuous_feature_mask(feature_names, len(action_table)))) if obs_norm else None
    return GannoPolicy(
        params=params,
        obs_norm=norm,
        network=network,
        feature_names=feature_names,
        action_table=action_table,
        lr_max=float(lr_max),
        metadata_json=json.dumps(dict(metadata or {}), sort_keys=True, default=str),
    )


def init_policy_for_env(env: Any, key: chex.PRNGKey, **kwargs: Any) -> GannoPolicy:
    """``init_policy`` with the features, action table and lr_max of a ``Ganno`` env, and its
    ``lr_decay`` in the metadata when it has one (so ``check_env`` accepts the env)."""
    decay = getattr(env, "lr_decay", "none")
    if decay != "none":
        kwargs["metadata"] = {"lr_decay": decay, **dict(kwargs.get("metadata") or {})}
    return init_policy(key, env.features, env.action_table.entries, env.lr_max, **kwargs)


def policy_metadata_value(policy: Any, key: str) -> Any:
    """``policy.metadata[key]``, or one level down (e.g. a Mava run's ``metadata["env"][key]``);
    None when absent or when the policy-like object has no metadata."""
    meta = getattr(policy, "metadata", None)
    if not isinstance(meta, Mapping):
        return None
    if key in meta:
        return meta[key]
    for v in meta.values():
        if isinstance(v, Mapping) and key in v:
            return v[key]
    return None


def policy_lr_decay(policy: Any) -> str:
    """The ``lr_decay`` a policy was trained with (``metadata["lr_decay"]``), ``"none"`` when it
    records none (policies trained before the option existed)."""
    return str(policy_metadata_value(policy, "lr_decay") or "none")


def policy_mode(policy: Any) -> str:
    """The action mode a policy is meant to be used in, ``"greedy"`` or ``"sampled"``: the one
    its validation suite chose (metadata ``validation_mode``), else ``"sampled"`` (how the
    training system acts). A recorded mode that is neither raises a ``ValueError``."""
    mode = policy_metadata_value(policy, "validation_mode")
    if mode is None:
        return "sampled"
    if mode not in ("greedy", "sampled"):
        raise ValueError(
            f"policy metadata validation_mode={mode!r} is not an action mode; it must be 'greedy' or 'sampled' "
            "(fix or remove the key in the policy's policy.json)."
        )
    return mode


def policy_is_single_agent(policy: Any) -> bool:
    """Whether a policy was trained as the single-agent ablation: its metadata says so, else
    its features are a single-agent preset (``single_agent``, ``robust_single_agent``)."""
    from mava_ganno.env.observations import FEATURE_SETS

    flag = policy_metadata_value(policy, "single_agent")
    if flag is not None:
        return bool(flag)
    return tuple(policy.feature_names) in (FEATURE_SETS["single_agent"], FEATURE_SETS["robust_single_agent"])
