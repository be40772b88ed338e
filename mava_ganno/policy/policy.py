"""The trained GANNO policy: networks, a jittable ``act`` for any number of layers, save/load.

One recurrent policy is shared by every layer agent (parameter sharing). It never sees an
agent id, only the agent's observation (global + its own layer's features, including the
first/intermediate/final depth embedding), so a policy trained on N layers runs on M != N.

Networks mirror Mava's ``RecurrentActor`` / ``RecurrentValueNet`` / ``ScannedRNN`` /
``MLPTorso`` / ``DiscreteActionHead`` (``mava/networks``): same module and parameter names
(``pre_torso/Dense_i``, ``ScannedRNN_0/GRUCell_0/{ir,iz,in,hr,hz,hn}``, ``post_torso/Dense_i``,
``action_head/Dense_0``; critic: ``Dense_0`` value layer), same initialisers, so a Mava
checkpoint's actor params load here unchanged. Two differences, both supersets of Mava:

- Mava's ``ScannedRNN`` makes its GRU as wide as its input (it requires
  ``hidden_state_dim == pre_torso[-1]``); here the GRU has ``hidden_state_dim`` features, so
  the paper's ``[128, 128] -> GRU 64 -> [64]`` is expressible. Where Mava's shapes are valid
  the two are identical.
- Resets broadcast over any leading batch shape (Mava needs exactly (envs, agents)).
- The action head returns masked logits (no tensorflow-probability dependency).

``GannoPolicy`` bundles the actor's parameters with what is needed to run it on an
environment: the observation feature names, the action table, ``lr_max`` and the observation
normalisation statistics. ``save_policy``/``load_policy`` store it as flax msgpack (parameters)
plus JSON (everything else); no pickle, and loading needs no dataset.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
import tempfile
import uuid
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from flax import serialization, struct
from flax.linen.initializers import orthogonal

POLICY_FORMAT = "ganno-policy/1"
CONFIG_FILE = "policy.json"
PARAMS_FILE = "params.msgpack"

_ACTIVATIONS = {"relu": nn.relu, "tanh": nn.tanh}


def _activation(name: str):
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; known: {sorted(_ACTIVATIONS)}.")
    return _ACTIVATIONS[name]


# ----------------------------------------------------------------------------- networks
class MLPTorso(nn.Module):
    """Mava's ``MLPTorso``: Dense (orthogonal sqrt 2) [+ LayerNorm] + activation per layer."""

    layer_sizes: Sequence[int]
    activation: str = "relu"
    use_layer_norm: bool = False

    @nn.compact
    def __call__(self, x: chex.Array) -> chex.Array:
        act = _activation(self.activation)
        for size in self.layer_sizes:
            x = nn.Dense(size, kernel_init=orthogonal(np.sqrt(2)))(x)
            if self.use_layer_norm:
                x = nn.LayerNorm(use_scale=False)(x)
            x = act(x)
        return x


class ScannedRNN(nn.Module):
    """Mava's ``ScannedRNN``: a GRU scanned over time (axis 0), reset where ``resets``.

    Inputs: carry (*B, H), x = (ins (T, *B, F), resets (T, *B) bool). The carry is zeroed
    *before* the step whose reset flag is set (the flag says "this step starts an episode").
    """

    hidden_state_dim: int = 128

    @functools.partial(
        nn.scan,
        variable_broadcast="params",
        in_axes=0,
        out_axes=0,
        split_rngs={"params": False},
    )
    @nn.compact
    def __call__(self, carry: chex.Array, x: Tuple[chex.Array, chex.Array]):
        ins, resets = x
        carry = jnp.where(resets[..., None], jnp.zeros_like(carry), carry)
        new_carry, y = nn.GRUCell(features=self.hidden_state_dim)(carry, ins)
        return new_carry, y

    @staticmethod
    def initialize_carry(batch_shape: Sequence[int], hidden_size: int) -> chex.Array:
        """Zeros (*batch_shape, hidden_size), as Mava's (GRUCell's default carry init)."""
        return jnp.zeros((*batch_shape, hidden_size), jnp.float32)


class DiscreteActionHead(nn.Module):
    """Mava's ``DiscreteActionHead`` (Dense, orthogonal 0.01), returning masked logits."""

    action_dim: int

    @nn.compact
    def __call__(self, embedding: chex.Array, action_mask: chex.Array) -> chex.Array:
        logits = nn.Dense(self.action_dim, kernel_init=orthogonal(0.01))(embedding)
        return jnp.where(action_mask, logits, jnp.finfo(jnp.float32).min)


class RecurrentActor(nn.Module):
    """pre_torso -> GRU -> post_torso -> masked logits. Inputs are time-major (T, *B, ...)."""

    pre_torso: nn.Module
    post_torso: nn.Module
    action_head: nn.Module
    hidden_state_dim: int = 64

    @nn.compact
    def __call__(self, hidden: chex.Array, obs_resets: Tuple[chex.Array, chex.Array, chex.Array]):
        """obs_resets = (agents_view (T,*B,F), action_mask (T,*B,A), resets (T,*B)).

        Returns (hidden (*B,H), logits (T,*B,A)).
        """
        agents_view, action_mask, resets = obs_resets
        x = self.pre_torso(agents_view)
        hidden, x = ScannedRNN(self.hidden_state_dim)(hidden, (x, resets))
        x = self.post_torso(x)
        return hidden, self.action_head(x, action_mask)


class RecurrentValueNet(nn.Module):
    """Mava's decentralised ``RecurrentValueNet``: pre_torso -> GRU -> post_torso -> value."""

    pre_torso: nn.Module
    post_torso: nn.Module
    hidden_state_dim: int = 64

    @nn.compact
    def __call__(self, hidden: chex.Array, obs_resets: Tuple[chex.Array, chex.Array]):
        """obs_resets = (agents_view (T,*B,F), resets (T,*B)). Returns (hidden, value (T,*B))."""
        agents_view, resets = obs_resets
        x = self.pre_torso(agents_view)
        hidden, x = ScannedRNN(self.hidden_state_dim)(hidden, (x, resets))
        x = self.post_torso(x)
        value = nn.Dense(1, kernel_init=orthogonal(1.0))(x)
        return hidden, jnp.squeeze(value, axis=-1)


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    """Sizes of a recurrent network (Mava's ``network.<actor|critic>_network`` + hidden dim).

    Defaults: the paper's policy (appendix A): [128, 128] -> GRU 64 -> [64].
    """

    pre_torso: Tuple[int, ...] = (128, 128)
    post_torso: Tuple[int, ...] = (64,)
    hidden_state_dim: int = 64
    activation: str = "relu"
    use_layer_norm: bool = False

    def __post_init__(self):
        object.__setattr__(self, "pre_torso", tuple(int(s) for s in self.pre_torso))
        object.__setattr__(self, "post_torso", tuple(int(s) for s in self.post_torso))
        for name in ("pre_torso", "post_torso"):
            if any(s <= 0 for s in getattr(self, name)):
                raise ValueError(f"{name} layer sizes must be positive, got {getattr(self, name)}.")
        if int(self.hidden_state_dim) <= 0:
            raise ValueError(f"hidden_state_dim must be positive, got {self.hidden_state_dim}.")
        _activation(self.activation)

    def to_dict(self) -> Dict[str, Any]:
        d = dataclasses.asdict(self)
        d["pre_torso"], d["post_torso"] = list(self.pre_torso), list(self.post_torso)
        return d

    def torsos(self) -> Tuple[MLPTorso, MLPTorso]:
        kw = dict(activation=self.activation, use_layer_norm=self.use_layer_norm)
        return MLPTorso(self.pre_torso, **kw), MLPTorso(self.post_torso, **kw)


def make_actor(config: NetworkConfig, action_dim: int) -> RecurrentActor:
    pre, post = config.torsos()
    return RecurrentActor(pre, post, DiscreteActionHead(int(action_dim)), config.hidden_state_dim)


def make_critic(config: NetworkConfig) -> RecurrentValueNet:
    pre, post = config.torsos()
    return RecurrentValueNet(pre, post, config.hidden_state_dim)


# ----------------------------------------------------------------------------- normalisation
def welford(mean, var, count, b_mean, b_var, b_count):
    """Parallel Welford: combine running (mean, var, count) with a batch's moments."""
    b_count = jnp.asarray(b_count, jnp.float32)
    delta = b_mean - mean
    tot = count + b_count
    new_mean = mean + delta * b_count / tot
    m2 = var * count + b_var * b_count + jnp.square(delta) * count * b_count / tot
    return new_mean, m2 / tot, tot


class ObsNormStats(struct.PyTreeNode):
    """Running mean/variance of ``agents_view`` columns (parallel Welford), per feature column.

    ``norm_mask`` (F,) says which columns are normalised: continuous features only. One-hot
    and binary columns (previous action, layer type, depth, non-finite flag) pass through, so
    a category never seen in training (e.g. the *intermediate* depth of a deeper network)
    stays a plain 1 rather than being blown up by a near-zero training variance.
    """

    mean: chex.Array  # (F,)
    var: chex.Array  # (F,)
    count: chex.Array  # ()
    norm_mask: chex.Array  # (F,) bool
    min_std: float = struct.field(pytree_node=False, default=0.1)
    clip: float = struct.field(pytree_node=False, default=5.0)

    @classmethod
    def create(cls, norm_mask: chex.Array, min_std: float = 0.1, clip: float = 5.0) -> "ObsNormStats":
        f = norm_mask.shape[0]
        return cls(
            jnp.zeros((f,), jnp.float32),
            jnp.ones((f,), jnp.float32),
            jnp.asarray(1e-4, jnp.float32),
            jnp.asarray(norm_mask, bool),
            float(min_std),
            float(clip),
        )

    def update(self, batch: chex.Array) -> "ObsNormStats":
        """Fold a batch (..., F) into the statistics (jittable)."""
        x = batch.reshape(-1, batch.shape[-1]).astype(jnp.float32)
        return self.update_moments(x.mean(0), x.var(0), x.shape[0])

    def update_moments(self, b_mean: chex.Array, b_var: chex.Array, b_count: chex.Numeric) -> "ObsNormStats":
        """Fold a batch given by its moments (e.g. averaged over devices) into the statistics."""
        mean, var, count = welford(self.mean, self.var, self.count, b_mean, b_var, b_count)
        return self.replace(mean=mean, var=var, count=count)

    def normalise(self, x: chex.Array) -> chex.Array:
        std = jnp.maximum(jnp.sqrt(self.var), self.min_std)
        z = jnp.clip((x - self.mean) / std, -self.clip, self.clip)
        return jnp.where(self.norm_mask, z, x)


def continuous_feature_mask(feature_names: Sequence[str], num_actions: int) -> np.ndarray:
    """(F,) bool: True for the agents_view columns of continuous (non one-hot) features."""
    from mava_ganno.env.observations import feature_columns

    return feature_columns(feature_names, num_actions, lambda f: not f.categorical)


# ----------------------------------------------------------------------------- the policy
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

        Returns: (hidden (N,H), actions (N,) int32, probs (N,A)).
        """
        hidden, logits = self.logits(hidden, agents_view, action_mask, reset)
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
    """``init_policy`` with the features, action table and lr_max of a ``Ganno`` env."""
    return init_policy(key, env.features, env.action_table.entries, env.lr_max, **kwargs)


# ----------------------------------------------------------------------------- save / load
def _to_numpy(tree: Any) -> Any:
    return jax.tree_util.tree_map(lambda x: np.asarray(x), tree)


def atomic_write_dir(directory: str, write_fn) -> str:
    """Write a directory atomically: ``write_fn(tmp_dir)`` then rename into place.

    Readers see either the old complete directory or the new complete one, never a partial
    one (an old one is moved aside, the new one renamed in, the old one deleted).
    """
    directory = os.path.abspath(directory)
    parent = os.path.dirname(directory)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(directory)}.tmp-", dir=parent)
    try:
        write_fn(tmp)
        old = None
        if os.path.exists(directory):
            old = os.path.join(parent, f".{os.path.basename(directory)}.old-{uuid.uuid4().hex}")
            os.rename(directory, old)
        os.rename(tmp, directory)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def policy_config(policy: GannoPolicy) -> Dict[str, Any]:
    """The JSON-able description of a policy (everything but the arrays)."""
    cfg: Dict[str, Any] = {
        "format": POLICY_FORMAT,
        "network": policy.network.to_dict(),
        "action_dim": policy.action_dim,
        "obs_dim": policy.obs_dim,
        "feature_names": list(policy.feature_names),
        "action_table": list(policy.action_table),
        "lr_max": policy.lr_max,
        "metadata": policy.metadata,
    }
    if policy.obs_norm is not None:
        cfg["obs_norm"] = {"min_std": policy.obs_norm.min_std, "clip": policy.obs_norm.clip}
    return cfg


def save_policy(directory: str, policy: GannoPolicy) -> str:
    """Save to ``directory`` (``policy.json`` + ``params.msgpack``), atomically."""
    state: Dict[str, Any] = {"actor": _to_numpy(serialization.to_state_dict(policy.params))}
    if policy.obs_norm is not None:
        n = policy.obs_norm
        state["obs_norm"] = _to_numpy(
            {"mean": n.mean, "var": n.var, "count": n.count, "norm_mask": n.norm_mask}
        )
    blob = serialization.msgpack_serialize(state)
    text = json.dumps(policy_config(policy), indent=2, sort_keys=True)

    def write(tmp: str) -> None:
        with open(os.path.join(tmp, PARAMS_FILE), "wb") as f:
            f.write(blob)
        with open(os.path.join(tmp, CONFIG_FILE), "w") as f:
            f.write(text + "\n")

    return atomic_write_dir(directory, write)


def load_policy(directory: str) -> GannoPolicy:
    """Load a policy saved by ``save_policy`` (needs no dataset and no training config)."""
    cfg_path, params_path = os.path.join(directory, CONFIG_FILE), os.path.join(directory, PARAMS_FILE)
    for path in (cfg_path, params_path):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} not found: is {directory!r} a directory written by save_policy?")
    with open(cfg_path) as f:
        cfg = json.load(f)
    if cfg.get("format") != POLICY_FORMAT:
        raise ValueError(f"{cfg_path}: unknown policy format {cfg.get('format')!r} (expected {POLICY_FORMAT!r}).")
    with open(params_path, "rb") as f:
        state = serialization.msgpack_restore(f.read())
    to_jnp = lambda t: jax.tree_util.tree_map(jnp.asarray, t)  # noqa: E731
    norm = None
    if "obs_norm" in state:
        s = state["obs_norm"]
        norm = ObsNormStats(
            to_jnp(s["mean"]), to_jnp(s["var"]), to_jnp(s["count"]), jnp.asarray(s["norm_mask"], bool),
            float(cfg["obs_norm"]["min_std"]), float(cfg["obs_norm"]["clip"]),
        )
    policy = GannoPolicy(
        params=to_jnp(state["actor"]),
        obs_norm=norm,
        network=NetworkConfig(**cfg["network"]),
        feature_names=tuple(cfg["feature_names"]),
        action_table=tuple(cfg["action_table"]),
        lr_max=float(cfg["lr_max"]),
        metadata_json=json.dumps(cfg.get("metadata", {}), sort_keys=True, default=str),
    )
    if policy.obs_dim != cfg["obs_dim"]:
        raise ValueError(f"{cfg_path}: obs_dim {cfg['obs_dim']} does not match its features ({policy.obs_dim}).")
    return policy


# ----------------------------------------------------------------------------- metadata
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


def policy_is_single_agent(policy: Any) -> bool:
    """Whether a policy was trained as the single-agent ablation: its metadata says so, else
    its features are the ``single_agent`` preset."""
    from mava_ganno.env.observations import FEATURE_SETS

    flag = policy_metadata_value(policy, "single_agent")
    if flag is not None:
        return bool(flag)
    return tuple(policy.feature_names) == FEATURE_SETS["single_agent"]
