"""The recurrent networks of the GANNO policy (actor and critic), Mava-compatible.

One recurrent policy is shared by every layer agent (parameter sharing). It never sees an
agent id, only the agent's observation (global + its own layer's features, including the
first/intermediate/final depth embedding), so a policy trained on N layers runs on M != N.

Networks mirror Mava's ``RecurrentActor`` / ``RecurrentValueNet`` / ``ScannedRNN`` /
``MLPTorso`` / ``DiscreteActionHead`` (``mava/networks``): same module and parameter names
(``pre_torso/Dense_i``, ``ScannedRNN_0/GRUCell_0/{ir,iz,in,hr,hz,hn}``, ``post_torso/Dense_i``,
``action_head/Dense_0``; critic: ``Dense_0`` value layer), same initialisers, so a Mava
checkpoint's actor params load here unchanged. Where they differ, they are supersets of Mava:

- Mava's ``ScannedRNN`` makes its GRU as wide as its input (it requires
  ``hidden_state_dim == pre_torso[-1]``); here the GRU has ``hidden_state_dim`` features, so
  the paper's ``[128, 128] -> GRU 64 -> [64]`` is expressible. Where Mava's shapes are valid
  the two are identical.
- Resets broadcast over any leading batch shape (Mava needs exactly (envs, agents)).
- The action head returns masked logits (no tensorflow-probability dependency).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Dict, Sequence, Tuple

import chex
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from flax.linen.initializers import orthogonal

_ACTIVATIONS = {"relu": nn.relu, "tanh": nn.tanh}


def _activation(name: str):
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; known: {sorted(_ACTIVATIONS)}.")
    return _ACTIVATIONS[name]


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
