"""Networks whose layers become layer agents (flax linen).

Names (``make_network``):
- ``mlp<n>``: an MLP with n hidden Dense layers (``hidden`` units, ReLU) and a Dense output:
  n + 1 agents, all ``linear``.
- ``cnn<n>``: n 3x3 Conv layers (ReLU; stride 2 while the feature map is larger than 4x4) then
  flatten and a Dense output: n + 1 agents (n ``convolutional``, 1 ``linear``). ``cnn2`` and
  ``cnn5`` are the paper's two- and five-layer CNNs.
- ``resnet9``: the Myrtle-style ResNet-9, 8 Conv+BatchNorm layers and a Dense head: 9 agents.
- ``resnet7``: a small ResNet for 28x28 inputs on a CPU budget: a stride-2 Conv+BatchNorm stem,
  a residual block (two Conv+BatchNorm) at that resolution, a stride-2 Conv+BatchNorm with twice
  the channels and a second residual block, global average pooling and a Dense head: 7 agents
  (6 ``convolutional``, 1 ``linear``).
- ``resnet18``: a CIFAR-style ResNet-18 (BasicBlocks [2, 2, 2, 2]): 17 convs, 3 1x1 projection
  convs on the shortcut (each its own agent) and a Dense head: 21 agents.
- ``vit`` / ``vit<n>``: a small pre-norm vision transformer with n blocks (default 2): a linear
  patch embedding (4x4 grid of patches, e.g. 2x2-pixel patches on 8x8 digits and 7x7 on 28x28
  MNIST; embedding dim ``2 * width``), per block a ``nn.MultiHeadDotProductAttention`` (2 heads)
  and a two-Dense MLP (``hidden`` units), then a LayerNorm on the class token and a Dense head:
  ``3n + 2`` agents (``n`` ``attention``, the rest ``linear``).
- ``lm`` / ``lm<n>``: a small pre-norm decoder-only transformer language model with n blocks
  (default 2) for byte-token datasets (``fortunes``): a byte embedding (``nn.Embed(256, dim)``,
  dim ``2 * width``), learned position embeddings, per block a causal
  ``nn.MultiHeadDotProductAttention`` (2 heads) and a two-Dense MLP (``hidden`` units), then a
  LayerNorm and a Dense head: (B, T) tokens -> (B, T, 256) next-byte logits. ``3n + 3`` agents:
  two ``embedding`` (byte and position), ``n`` ``attention``, the rest ``linear``.

Every layer is a submodule named ``layer_<ii>`` (zero-padded, so name order is depth order);
a Conv followed by BatchNorm is one submodule ``{"conv", "norm"}`` whose BatchNorm
scale/bias follow that conv's agent (see ``mava_ganno.layers``). BatchNorm running
statistics live in the ``batch_stats`` collection: training steps update them, evaluation
uses them (``train=False``).

In the ViT, every LayerNorm sits in the submodule of the layer it feeds (``{"norm", "attention"}``
or ``{"norm", "dense"}``), so its scale/bias follow that layer's agent. The class token and the
position embeddings are the per-token bias of the patch embedding (``layer_00``: ``kernel``
(P*P*C, dim), ``bias`` (1 + num_patches, dim); see ``PatchEmbed``), so they are scheduled by,
and counted in the statistics of, the patch-embedding agent, a plain ``linear`` layer; no extra
parameter kind is needed.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Optional, Sequence

import flax.linen as nn
import jax.numpy as jnp


class MLP(nn.Module):
    hidden: Sequence[int]
    num_classes: int

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        x = x.reshape(x.shape[0], -1)
        for i, h in enumerate(self.hidden):
            x = nn.relu(nn.Dense(h, name=f"layer_{i:02d}")(x))
        return nn.Dense(self.num_classes, name=f"layer_{len(self.hidden):02d}")(x)


class CNN(nn.Module):
    channels: Sequence[int]
    num_classes: int

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        for i, c in enumerate(self.channels):
            stride = 2 if x.shape[-2] > 4 else 1
            x = nn.Conv(c, (3, 3), strides=(stride, stride), name=f"layer_{i:02d}")(x)
            x = nn.relu(x)
        x = x.reshape(x.shape[0], -1)
        return nn.Dense(self.num_classes, name=f"layer_{len(self.channels):02d}")(x)


class ConvBN(nn.Module):
    features: int
    kernel: int = 3
    stride: int = 1

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
        k, s = self.kernel, self.stride
        x = nn.Conv(self.features, (k, k), strides=(s, s), use_bias=False, name="conv")(x)
        return nn.BatchNorm(use_running_average=not train, momentum=0.9, name="norm")(x)


class _Namer:
    def __init__(self) -> None:
        self.i = 0

    def __call__(self) -> str:
        name = f"layer_{self.i:02d}"
        self.i += 1
        return name


class ResNet9(nn.Module):
    num_classes: int
    width: int = 16

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        name, w = _Namer(), self.width

        def block(x, c, pool):
            x = nn.relu(ConvBN(c, name=name())(x, train))
            return nn.max_pool(x, (2, 2), (2, 2)) if pool and x.shape[-2] >= 2 else x

        def residual(x, c):
            y = block(x, c, False)
            return x + block(y, c, False)

        x = block(x, w, False)
        x = residual(block(x, 2 * w, True), 2 * w)
        x = block(x, 4 * w, True)
        x = residual(block(x, 8 * w, True), 8 * w)
        x = jnp.max(x, axis=(1, 2))
        return nn.Dense(self.num_classes, name=name())(x)


class ResNet7(nn.Module):
    num_classes: int
    width: int = 16

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        name, w = _Namer(), self.width

        def residual(x, c):
            y = nn.relu(ConvBN(c, name=name())(x, train))
            return nn.relu(x + ConvBN(c, name=name())(y, train))

        x = residual(nn.relu(ConvBN(w, stride=2, name=name())(x, train)), w)
        x = residual(nn.relu(ConvBN(2 * w, stride=2, name=name())(x, train)), 2 * w)
        x = jnp.mean(x, axis=(1, 2))
        return nn.Dense(self.num_classes, name=name())(x)


class ResNet18(nn.Module):
    num_classes: int
    width: int = 16

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        name = _Namer()
        x = nn.relu(ConvBN(self.width, name=name())(x, train))
        for stage, mult in enumerate((1, 2, 4, 8)):
            c = self.width * mult
            for b in range(2):
                stride = 2 if stage > 0 and b == 0 and x.shape[-2] > 1 else 1
                y = nn.relu(ConvBN(c, stride=stride, name=name())(x, train))
                y = ConvBN(c, name=name())(y, train)
                if stride != 1 or x.shape[-1] != c:
                    x = ConvBN(c, kernel=1, stride=stride, name=name())(x, train)
                x = nn.relu(x + y)
        x = jnp.mean(x, axis=(1, 2))
        return nn.Dense(self.num_classes, name=name())(x)


class PatchEmbed(nn.Module):
    """Linear patch embedding with a class token and learned position embeddings, as one Dense.

    A ViT's ``tokens = [cls, patches @ W + b] + pos`` is the Dense layer ``[0, patches] @ W +
    B`` with a per-token bias ``B`` (1 + num_patches, dim): row 0 (the all-zero "patch") is the
    class token (``cls + pos_0``) and row i the patch bias plus position embedding i. Params are
    thus exactly ``{"kernel": (P*P*C, dim), "bias": (1 + num_patches, dim)}``, a ``linear``
    layer agent, with no parameter kind the layer-type registry does not know.
    Returns (B, 1 + num_patches, dim).
    """

    dim: int
    patch_size: int

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        b, h, w, c = x.shape
        p = self.patch_size
        if h % p or w % p:
            raise ValueError(f"ViT patch_size={p} does not divide the {h}x{w} input; pick a divisor.")
        x = x.reshape(b, h // p, p, w // p, p, c).transpose(0, 1, 3, 2, 4, 5)
        x = x.reshape(b, (h // p) * (w // p), p * p * c)
        x = jnp.concatenate([jnp.zeros((b, 1, x.shape[-1]), x.dtype), x], axis=1)
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (p * p * c, self.dim))
        bias = self.param("bias", nn.initializers.normal(0.02), (x.shape[1], self.dim))
        return x @ kernel + bias


class PreNormAttention(nn.Module):
    num_heads: int

    @nn.compact
    def __call__(self, x: jnp.ndarray, mask: Optional[jnp.ndarray] = None) -> jnp.ndarray:
        y = nn.LayerNorm(name="norm")(x)
        return nn.MultiHeadDotProductAttention(num_heads=self.num_heads, name="attention")(y, mask=mask)


class PreNormDense(nn.Module):
    features: int

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        return nn.Dense(self.features, name="dense")(nn.LayerNorm(name="norm")(x))


class ViT(nn.Module):
    """A small pre-norm vision transformer (see the module docstring for the agents).

    Attributes:
        num_classes: outputs of the head.
        depth: transformer blocks (each: attention agent, two MLP Dense agents).
        dim: embedding dimension (divisible by ``num_heads``).
        mlp_dim: hidden units of each block's MLP.
        num_heads: attention heads.
        patch_size: pixels per patch side; None: ``height // 4`` (a 4x4 grid of patches).
    """

    num_classes: int
    depth: int = 2
    dim: int = 32
    mlp_dim: int = 64
    num_heads: int = 2
    patch_size: Optional[int] = None

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        name = _Namer()
        p = self.patch_size or max(1, x.shape[1] // 4)
        x = PatchEmbed(self.dim, p, name=name())(x)
        for _ in range(self.depth):
            x = x + PreNormAttention(self.num_heads, name=name())(x)
            y = nn.gelu(PreNormDense(self.mlp_dim, name=name())(x))
            x = x + nn.Dense(self.dim, name=name())(y)
        return PreNormDense(self.num_classes, name=name())(x[:, 0])


class PositionEmbed(nn.Module):
    """Learned position embeddings added to (B, T, dim) token embeddings: one param
    ``embedding`` (T, dim) (T from the input at initialisation), an ``embedding`` layer agent
    like the byte embedding's ``nn.Embed`` table."""

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        table = self.param("embedding", nn.initializers.normal(0.02), x.shape[-2:])
        return x + table


class LM(nn.Module):
    """A small pre-norm decoder-only transformer over byte tokens (see the module docstring).

    Input: (B, T) tokens of any dtype (cast to int32; initialisation passes float zeros);
    output: (B, T, num_classes) logits, position t seeing tokens 0..t only (causal mask).

    Attributes:
        num_classes: outputs per position (256 next-byte logits for byte datasets).
        depth: transformer blocks (each: attention agent, two MLP Dense agents).
        dim: embedding dimension (divisible by ``num_heads``).
        mlp_dim: hidden units of each block's MLP.
        num_heads: attention heads.
        vocab_size: rows of the token embedding table.
    """

    num_classes: int = 256
    depth: int = 2
    dim: int = 32
    mlp_dim: int = 64
    num_heads: int = 2
    vocab_size: int = 256

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        if x.ndim != 2:
            raise ValueError(
                f"lm networks take (batch, T) token sequences, got an input of shape {x.shape}; "
                "use a text dataset (e.g. 'fortunes'), or an image network (mlp, cnn, vit) for images."
            )
        tokens = x.astype(jnp.int32)
        name = _Namer()
        h = nn.Embed(self.vocab_size, self.dim, name=name())(tokens)
        h = PositionEmbed(name=name())(h)
        mask = nn.make_causal_mask(tokens)
        for _ in range(self.depth):
            h = h + PreNormAttention(self.num_heads, name=name())(h, mask)
            y = nn.gelu(PreNormDense(self.mlp_dim, name=name())(h))
            h = h + nn.Dense(self.dim, name=name())(y)
        return PreNormDense(self.num_classes, name=name())(h)


@dataclasses.dataclass(frozen=True)
class NetworkSpec:
    name: str
    module: nn.Module
    has_batch_stats: bool


_NETWORK_RE = re.compile(r"^(mlp|cnn)(\d+)$")
_VIT_RE = re.compile(r"^vit(\d*)$")
_LM_RE = re.compile(r"^lm(\d*)$")


def make_network(name: str, num_classes: int, hidden: int = 64, width: int = 16) -> NetworkSpec:
    """Builds a network by name (see the module docstring)."""
    m = _NETWORK_RE.match(name)
    if m is not None:
        n = int(m.group(2))
        if n < 1:
            raise ValueError(f"network {name!r} needs at least one hidden layer, e.g. 'mlp2'.")
        if m.group(1) == "mlp":
            return NetworkSpec(name, MLP((hidden,) * n, num_classes), False)
        channels = tuple(width * min(2 ** (i // 2), 4) for i in range(n))
        return NetworkSpec(name, CNN(channels, num_classes), False)
    m = _VIT_RE.match(name)
    if m is not None:
        depth = int(m.group(1) or 2)
        if depth < 1:
            raise ValueError(f"network {name!r} needs at least one transformer block, e.g. 'vit2'.")
        return NetworkSpec(name, ViT(num_classes, depth, dim=2 * width, mlp_dim=hidden), False)
    m = _LM_RE.match(name)
    if m is not None:
        depth = int(m.group(1) or 2)
        if depth < 1:
            raise ValueError(f"network {name!r} needs at least one transformer block, e.g. 'lm2'.")
        return NetworkSpec(name, LM(num_classes, depth, dim=2 * width, mlp_dim=hidden), False)
    if name == "resnet7":
        return NetworkSpec(name, ResNet7(num_classes, width), True)
    if name == "resnet9":
        return NetworkSpec(name, ResNet9(num_classes, width), True)
    if name == "resnet18":
        return NetworkSpec(name, ResNet18(num_classes, width), True)
    raise ValueError(
        f"unknown network {name!r}; choose 'mlp<n>', 'cnn<n>' (n hidden layers, e.g. 'mlp2', "
        "'cnn5'), 'vit' / 'vit<n>' (n transformer blocks), 'resnet7', 'resnet9', 'resnet18', or for text "
        "datasets 'lm' / 'lm<n>' (n transformer blocks, e.g. 'lm2')."
    )
