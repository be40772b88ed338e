"""Observation extractors: every feature a layer agent sees is computed here.

Each feature is a small named extractor from ``ObsContext`` (raw statistics) to a block of
columns of ``agents_view``. Global features (the same for every agent) are broadcast to all
agents. Features are scaled for a policy network (log10 of norms and learning rates, clipped)
and are always finite (NaN/inf are mapped into the clip range, and the ``nonfinite`` flag
says it happened).

Feature sets (``features=`` in the env config) are lists of names or a preset:
- ``full``: the paper's appendix A (all global and layer features below);
- ``lr_only`` and ``timestep_only``: the paper's ablations;
- ``single_agent``: global features plus the (single, global) learning rate and previous
  action, for the single-agent ablation where one agent sets one LR for the whole network;
- ``robust``: ``full`` (same columns, in the same order, same values) followed by the
  ``CHANCE_FEATURES`` (not in the paper), global features that say where training stands
  against chance level and whether the loss is going up (C = number of classes)::

      train_loss_vs_chance   clip(train loss / ln C, 0, 4)      1 = chance-level loss
      test_loss_vs_chance    clip(hold-out loss / ln C, 0, 4)
      train_loss_trend       clip(ln(train loss / train loss at the previous decision), -2, 2)
                             0 at the first decision, > 0 when the loss rose
      train_accuracy_above_chance  (acc - 1/C) / (1 - 1/C), acc clipped to [0, 1]:
      test_accuracy_above_chance   0 = chance, 1 = perfect, -1/(C-1) = always wrong

  They need the number of classes (``ObsContext.num_classes``: the environment passes its
  dataset's; ``mava_ganno.optimiser.ganno_adamw`` takes ``num_classes=``) and the previous
  decision's train loss (``GlobalStats.prev_train_loss``).
- ``robust_input``: ``robust`` followed by the ``INPUT_FEATURES`` (not in the paper), global
  features that say how wide the network's input is, so that every layer, not only the first,
  can tell a network on 784 inputs from one on 64::

      input_weight_var       log10 variance of the first layer's weights, clipped to [-10, 4]
                             (the first agent's ``weight_var``; with fan-in-scaled
                             initialisation about -log10(fan-in) at the start)

The paper's "test" loss and accuracy are computed on the hold-out *validation* split (the
one the reward uses), so agents never see the split that results are reported on.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, NamedTuple, Optional, Sequence, Tuple, Union

import chex
import jax
import jax.numpy as jnp
import numpy as np

from mava_ganno.backend.layer_stats import LayerStats
from mava_ganno.env.stats import GlobalStats
from mava_ganno.layers import NUM_LAYER_TYPE_SLOTS, LayerAgents

NUM_DEPTH_IDS = 3  # first, intermediate, final


class ObsContext(NamedTuple):
    """Raw inputs of the extractors (N = num agents)."""

    global_stats: GlobalStats
    layer_stats: LayerStats  # each (N,)
    lrs: chex.Array  # (N,)
    prev_actions: chex.Array  # (N,) int
    type_slots: chex.Array  # (N,) int
    depth_ids: chex.Array  # (N,) int
    num_actions: int
    lr_max: float
    num_classes: Optional[int] = None  # static; features with needs=("num_classes",) read it


def _log10(x: chex.Array, lo: float, hi: float) -> chex.Array:
    x = jnp.nan_to_num(jnp.abs(x), nan=10.0**hi, posinf=10.0**hi)
    return jnp.clip(jnp.log10(jnp.maximum(x, 10.0**lo)), lo, hi)


def _symlog(x: chex.Array, linthresh: float = 1e-4, bound: float = 8.0) -> chex.Array:
    x = jnp.nan_to_num(x, nan=0.0, posinf=1e8, neginf=-1e8)
    return jnp.clip(jnp.sign(x) * jnp.log10(1.0 + jnp.abs(x) / linthresh), -bound, bound)


def _unit(x: chex.Array) -> chex.Array:
    return jnp.clip(jnp.nan_to_num(x, nan=0.0), 0.0, 1.0)


@dataclasses.dataclass(frozen=True)
class Feature:
    name: str
    scope: str  # "global" -> fn returns (w,); "layer" -> fn returns (N, w)
    width: Callable[[int], int]  # num_actions -> number of columns
    fn: Callable[[ObsContext], chex.Array]
    doc: str
    categorical: bool = False  # one-hot / binary columns (not standardised by the policy)
    needs: Tuple[str, ...] = ()  # optional inputs it reads: "num_classes", "prev_train_loss"


def _g(
    name: str, doc: str, fn: Callable[[ObsContext], chex.Array], categorical: bool = False, needs: Tuple[str, ...] = ()
) -> Feature:
    return Feature(name, "global", lambda a: 1, lambda c: jnp.reshape(fn(c), (1,)), doc, categorical, needs)


def _l(
    name: str, doc: str, fn: Callable[[ObsContext], chex.Array], width=lambda a: 1, categorical: bool = False
) -> Feature:
    def wrapped(c: ObsContext) -> chex.Array:
        out = fn(c)
        return out[:, None] if out.ndim == 1 else out

    return Feature(name, "layer", width, wrapped, doc, categorical)


_FEATURES: Tuple[Feature, ...] = (
    _g("train_accuracy", "mean train accuracy over the last tau steps", lambda c: _unit(c.global_stats.train_accuracy)),
    _g("test_accuracy", "hold-out (validation) accuracy", lambda c: _unit(c.global_stats.val_accuracy)),
    _g("train_loss", "log10 train loss, clipped to [-4, 2]", lambda c: _log10(c.global_stats.train_loss, -4.0, 2.0)),
    _g("test_loss", "log10 hold-out loss, clipped to [-4, 2]", lambda c: _log10(c.global_stats.val_loss, -4.0, 2.0)),
    _g("nonfinite", "1 if a loss was NaN or infinite", lambda c: c.global_stats.nonfinite.astype(jnp.float32), True),
    _g("training_progress", "env steps done / time limit", lambda c: _unit(c.global_stats.progress)),
    _g(
        "loss_ratio",
        "log10(train loss / hold-out loss), clipped to [-2, 2]",
        lambda c: jnp.clip(
            _log10(c.global_stats.train_loss, -8.0, 8.0) - _log10(c.global_stats.val_loss, -8.0, 8.0), -2.0, 2.0
        ),
    ),
    _g("initial_lr", "log10 initial learning rate, clipped to [-8, 0]", lambda c: _log10(c.global_stats.initial_lr, -8.0, 0.0)),
    _g("initial_wd", "log10 weight decay, clipped to [-8, 0]", lambda c: _log10(c.global_stats.weight_decay, -8.0, 0.0)),
    _l(
        "current_lr",
        "log10 lr clipped to [-8, 0], and lr / lr_max",
        lambda c: jnp.stack([_log10(c.lrs, -8.0, 0.0), _unit(c.lrs / c.lr_max)], axis=-1),
        width=lambda a: 2,
    ),
    _l(
        "previous_action",
        "one-hot of the previous action",
        lambda c: jax.nn.one_hot(c.prev_actions, c.num_actions),
        width=lambda a: a,
        categorical=True,
    ),
    _l(
        "layer_type",
        f"one-hot over {NUM_LAYER_TYPE_SLOTS} layer-type slots",
        lambda c: jax.nn.one_hot(c.type_slots, NUM_LAYER_TYPE_SLOTS),
        width=lambda a: NUM_LAYER_TYPE_SLOTS,
        categorical=True,
    ),
    _l(
        "layer_depth",
        "one-hot first / intermediate / final layer",
        lambda c: jax.nn.one_hot(c.depth_ids, NUM_DEPTH_IDS),
        width=lambda a: NUM_DEPTH_IDS,
        categorical=True,
    ),
    _l(
        "trust_ratio",
        "log10 LAMB trust ratio ||theta|| / ||u||, clipped to [-8, 8]",
        lambda c: _log10(c.layer_stats.trust_ratio, -8.0, 8.0),
    ),
    _l("grad_norm", "log10 ||g||, clipped to [-8, 8]", lambda c: _log10(c.layer_stats.grad_norm, -8.0, 8.0)),
    _l("update_norm", "log10 ||u|| (Adam update term), clipped to [-8, 8]", lambda c: _log10(c.layer_stats.update_norm, -8.0, 8.0)),
    _l("weight_mean", "symlog mean of theta (linthresh 1e-4), clipped to [-8, 8]", lambda c: _symlog(c.layer_stats.weight_mean)),
    _l("weight_var", "log10 variance of theta, clipped to [-10, 4]", lambda c: _log10(c.layer_stats.weight_var, -10.0, 4.0)),
    _l("weight_norm", "log10 ||theta||, clipped to [-8, 8]", lambda c: _log10(c.layer_stats.weight_norm, -8.0, 8.0)),
)


# ----------------------------------------------------------------------------- beyond the paper
LOSS_VS_CHANCE_MAX = 4.0  # upper clip of loss / ln C
LOSS_TREND_BOUND = 2.0  # |ln(loss / previous loss)| clip


def _num_classes(c: ObsContext) -> int:
    if c.num_classes is None:  # extract() checks first; this guards direct calls of fn
        raise ValueError("this feature needs the number of classes: ObsContext(num_classes=C).")
    return int(c.num_classes)


def _loss_vs_chance(loss: chex.Array, c: ObsContext) -> chex.Array:
    """loss / ln C, clipped to [0, LOSS_VS_CHANCE_MAX]; NaN/inf -> the upper bound."""
    rel = jnp.asarray(loss, jnp.float32) / np.float32(np.log(_num_classes(c)))
    rel = jnp.nan_to_num(rel, nan=LOSS_VS_CHANCE_MAX, posinf=LOSS_VS_CHANCE_MAX, neginf=0.0)
    return jnp.clip(rel, 0.0, LOSS_VS_CHANCE_MAX)


def _above_chance(acc: chex.Array, c: ObsContext) -> chex.Array:
    """(acc - 1/C) / (1 - 1/C) of the accuracy clipped to [0, 1] (NaN -> 0): in [-1/(C-1), 1]."""
    chance = 1.0 / _num_classes(c)
    return (_unit(acc) - np.float32(chance)) / np.float32(1.0 - chance)


def _loss_trend(c: ObsContext) -> chex.Array:
    """ln(train loss / previous decision's train loss), clipped to [-2, 2]; a NaN loss (either)
    or a rise to inf -> +2 (a blow-up), a fall from inf -> -2; losses below 1e-8 count as 1e-8.
    (``global_stats`` already stores non-finite losses as ``LOSS_CAP``.)"""
    g = c.global_stats
    if g.prev_train_loss is None:
        raise ValueError("train_loss_trend needs GlobalStats.prev_train_loss (build the stats with global_stats()).")
    log = lambda x: jnp.log(jnp.maximum(jnp.asarray(x, jnp.float32), 1e-8))  # noqa: E731
    trend = jnp.nan_to_num(log(g.train_loss) - log(g.prev_train_loss), nan=LOSS_TREND_BOUND, posinf=LOSS_TREND_BOUND)
    return jnp.clip(trend, -LOSS_TREND_BOUND, LOSS_TREND_BOUND)


_C = ("num_classes",)
_CHANCE_FEATURES: Tuple[Feature, ...] = (
    _g(
        "train_loss_vs_chance",
        f"train loss / ln(num classes), clipped to [0, {LOSS_VS_CHANCE_MAX:g}] (1 = chance level)",
        lambda c: _loss_vs_chance(c.global_stats.train_loss, c),
        needs=_C,
    ),
    _g(
        "test_loss_vs_chance",
        f"hold-out loss / ln(num classes), clipped to [0, {LOSS_VS_CHANCE_MAX:g}]",
        lambda c: _loss_vs_chance(c.global_stats.val_loss, c),
        needs=_C,
    ),
    _g(
        "train_loss_trend",
        f"ln(train loss / train loss at the previous decision), clipped to [-{LOSS_TREND_BOUND:g}, "
        f"{LOSS_TREND_BOUND:g}]; 0 at the first decision",
        _loss_trend,
        needs=("prev_train_loss",),
    ),
    _g(
        "train_accuracy_above_chance",
        "(train accuracy - 1/C) / (1 - 1/C): 0 at chance, 1 perfect",
        lambda c: _above_chance(c.global_stats.train_accuracy, c),
        needs=_C,
    ),
    _g(
        "test_accuracy_above_chance",
        "(hold-out accuracy - 1/C) / (1 - 1/C): 0 at chance, 1 perfect",
        lambda c: _above_chance(c.global_stats.val_accuracy, c),
        needs=_C,
    ),
)

_INPUT_FEATURES: Tuple[Feature, ...] = (
    _g(
        "input_weight_var",
        "log10 variance of the first layer's weights, clipped to [-10, 4], the same for every agent",
        lambda c: _log10(c.layer_stats.weight_var[0], -10.0, 4.0),
    ),
)

FEATURES: Dict[str, Feature] = {f.name: f for f in _FEATURES + _CHANCE_FEATURES + _INPUT_FEATURES}
# The paper's (appendix A) global and layer features.
GLOBAL_FEATURES = tuple(f.name for f in _FEATURES if f.scope == "global")
LAYER_FEATURES = tuple(f.name for f in _FEATURES if f.scope == "layer")
# Global features beyond the paper: chance-relative loss and accuracy, loss trend.
CHANCE_FEATURES = tuple(f.name for f in _CHANCE_FEATURES)
# Global features beyond the paper: how wide the network's input is.
INPUT_FEATURES = tuple(f.name for f in _INPUT_FEATURES)
# Layer features that remain meaningful when one agent controls one global LR.
SINGLE_AGENT_FEATURES = ("current_lr", "previous_action")

FEATURE_SETS: Dict[str, Tuple[str, ...]] = {
    "full": GLOBAL_FEATURES + LAYER_FEATURES,
    "lr_only": ("current_lr",),
    "timestep_only": ("training_progress",),
    "single_agent": GLOBAL_FEATURES + SINGLE_AGENT_FEATURES,
    "robust": GLOBAL_FEATURES + LAYER_FEATURES + CHANCE_FEATURES,
    "robust_input": GLOBAL_FEATURES + LAYER_FEATURES + CHANCE_FEATURES + INPUT_FEATURES,
    # The single-agent ablation of ``robust``: the same global information, one agent.
    "robust_single_agent": GLOBAL_FEATURES + SINGLE_AGENT_FEATURES + CHANCE_FEATURES,
}


def features_needing(names: Sequence[str], need: str) -> Tuple[str, ...]:
    """The features among ``names`` that read the optional input ``need``
    (``"num_classes"`` or ``"prev_train_loss"``)."""
    return tuple(n for n in names if need in FEATURES[n].needs)


def resolve_features(features: Union[str, Sequence[str]], single_agent: bool = False) -> Tuple[str, ...]:
    """A preset name or a list of feature names -> validated tuple of names."""
    if isinstance(features, str):
        if features not in FEATURE_SETS:
            raise ValueError(
                f"unknown feature set {features!r}; presets: {sorted(FEATURE_SETS)}, or give a "
                f"list of feature names from {sorted(FEATURES)}."
            )
        names = FEATURE_SETS[features]
    else:
        names = tuple(features)
    if not names:
        raise ValueError("the feature list is empty; give at least one feature.")
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(f"unknown observation features {unknown}; known: {sorted(FEATURES)}.")
    if len(set(names)) != len(names):
        raise ValueError(f"observation features repeat: {list(names)}.")
    if single_agent:
        bad = [n for n in names if FEATURES[n].scope == "layer" and n not in SINGLE_AGENT_FEATURES]
        if bad:
            raise ValueError(
                f"single_agent mode has no per-layer agent, so layer features {bad} are not "
                f"available; use features='single_agent' or global features plus {list(SINGLE_AGENT_FEATURES)}."
            )
    return names


def feature_dim(names: Sequence[str], num_actions: int) -> int:
    return sum(FEATURES[n].width(num_actions) for n in names)


def feature_columns(names: Sequence[str], num_actions: int, keep: Callable[[Feature], bool]) -> np.ndarray:
    """(F,) bool over the agents_view columns of ``names``: True where ``keep(feature)``."""
    return np.asarray([keep(FEATURES[n]) for n in names for _ in range(FEATURES[n].width(num_actions))], bool)


def extract(names: Sequence[str], ctx: ObsContext) -> chex.Array:
    """(N, F) float32 agents_view for the given feature names."""
    if ctx.num_classes is None and features_needing(names, "num_classes"):
        raise ValueError(
            f"observation features {list(features_needing(names, 'num_classes'))} need the number of "
            "classes: pass num_classes=C to observe() (ObsContext.num_classes)."
        )
    if ctx.num_classes is not None and (isinstance(ctx.num_classes, bool) or int(ctx.num_classes) < 2):
        raise ValueError(f"num_classes must be an integer >= 2, got {ctx.num_classes!r}.")
    n = ctx.lrs.shape[0]
    cols = []
    for name in names:
        f = FEATURES[name]
        block = f.fn(ctx).astype(jnp.float32)
        if f.scope == "global":
            block = jnp.broadcast_to(block[None, :], (n, block.shape[0]))
        cols.append(block)
    return jnp.nan_to_num(jnp.concatenate(cols, axis=-1), nan=0.0, posinf=0.0, neginf=0.0)


class AgentLayout(NamedTuple):
    """Who the agents are: one per layer, or one for the whole network (single agent)."""

    num_agents: int
    layer_of_lr: np.ndarray  # (L,) int32: the agent whose learning rate each layer follows
    type_slots: np.ndarray  # (N,) int32 layer-type slot of each agent
    depth_ids: np.ndarray  # (N,) int32 0 first, 1 intermediate, 2 final layer


def agent_layout(layer_agents: LayerAgents, single_agent: bool) -> AgentLayout:
    """The layout of the environment and of ``mava_ganno.optimiser`` alike: with
    ``single_agent`` every layer follows agent 0, which is typed and placed as slot 0."""
    num_layers = layer_agents.num_agents
    if single_agent:
        zeros = np.zeros(1, np.int32)
        return AgentLayout(1, np.zeros(num_layers, np.int32), zeros, zeros)
    return AgentLayout(num_layers, np.arange(num_layers, dtype=np.int32), layer_agents.type_slots, layer_agents.depth_ids)


def observe(
    features: Sequence[str],
    layout: AgentLayout,
    global_stats: GlobalStats,
    layer_stats: LayerStats,
    lrs: chex.Array,
    prev_actions: chex.Array,
    num_actions: int,
    lr_max: float,
    num_classes: Optional[int] = None,
) -> chex.Array:
    """(N, F) float32 agents_view: the one observation assembly of the environment and of
    ``mava_ganno.optimiser``. ``num_classes`` (static) is needed by the chance-relative
    features only (``features_needing(names, "num_classes")``)."""
    ctx = ObsContext(
        global_stats,
        layer_stats,
        lrs,
        prev_actions,
        jnp.asarray(layout.type_slots),
        jnp.asarray(layout.depth_ids),
        num_actions,
        lr_max,
        num_classes,
    )
    return extract(features, ctx)

