"""Observation assembly (mava_ganno.env.observations.observe): one assembly for the
environment and the optax export."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mava_ganno.backend.layer_stats import LayerStats
from mava_ganno.env.actions import DEFAULT_ACTION_TABLE
from mava_ganno.env.observations import (
    CHANCE_FEATURES,
    FEATURE_SETS,
    FEATURES,
    INPUT_FEATURES,
    LOSS_TREND_BOUND,
    LOSS_VS_CHANCE_MAX,
    ObsContext,
    agent_layout,
    extract,
    feature_dim,
    features_needing,
    observe,
    resolve_features,
)
from mava_ganno.env.stats import global_stats
from mava_ganno.policy import NetworkConfig, init_policy, policy_is_single_agent
from mava_ganno.policy.normalisation import continuous_feature_mask


def test_the_environment_observes_through_observe(tiny_train_env):
    env = tiny_train_env.env
    state, ts = tiny_train_env.reset(jax.random.PRNGKey(1))
    view = observe(env.features, env.layout, state.global_stats, state.layer_stats, state.lrs,
                   state.prev_actions, env.action_dim, env.lr_max)
    np.testing.assert_array_equal(np.asarray(view), np.asarray(ts.observation.agents_view))


def test_agent_layout_per_layer_and_single_agent(tiny_train_env):
    agents = tiny_train_env.env.layer_agents
    per_layer = agent_layout(agents, single_agent=False)
    assert per_layer.num_agents == agents.num_agents == 3
    assert per_layer.layer_of_lr.tolist() == [0, 1, 2] and per_layer.depth_ids.tolist() == [0, 1, 2]
    single = agent_layout(agents, single_agent=True)
    assert single.num_agents == 1 and single.layer_of_lr.tolist() == [0, 0, 0]


# ----------------------------------------------------------------------------- feature sets
PAPER_FULL = (
    "train_accuracy", "test_accuracy", "train_loss", "test_loss", "nonfinite", "training_progress",
    "loss_ratio", "initial_lr", "initial_wd", "current_lr", "previous_action", "layer_type", "layer_depth",
    "trust_ratio", "grad_norm", "update_norm", "weight_mean", "weight_var", "weight_norm",
)  # fmt: skip


def test_full_is_the_papers_set_and_robust_extends_it():
    assert FEATURE_SETS["full"] == PAPER_FULL  # the default, unchanged: same names, same order
    assert feature_dim(FEATURE_SETS["full"], 9) == 37
    assert FEATURE_SETS["single_agent"] == PAPER_FULL[:9] + ("current_lr", "previous_action")
    robust = FEATURE_SETS["robust"]
    assert robust == PAPER_FULL + CHANCE_FEATURES and resolve_features("robust") == robust
    assert CHANCE_FEATURES == (
        "train_loss_vs_chance", "test_loss_vs_chance", "train_loss_trend",
        "train_accuracy_above_chance", "test_accuracy_above_chance",
    )  # fmt: skip
    assert feature_dim(robust, 9) == 37 + 5
    # continuous: standardised by the policy's observation normalisation
    assert not any(FEATURES[n].categorical for n in CHANCE_FEATURES)
    assert continuous_feature_mask(robust, 9)[37:].all()
    assert all(FEATURES[n].scope == "global" for n in CHANCE_FEATURES)
    assert features_needing(robust, "num_classes") == tuple(n for n in CHANCE_FEATURES if n != "train_loss_trend")
    assert features_needing(FEATURE_SETS["full"], "num_classes") == ()
    # global features only: available to the single agent too
    assert FEATURE_SETS["robust_single_agent"] == FEATURE_SETS["single_agent"] + CHANCE_FEATURES
    assert resolve_features("robust_single_agent", single_agent=True) == FEATURE_SETS["robust_single_agent"]
    # a policy with either single-agent preset and no metadata is read as the single-agent ablation
    for preset, single in (("single_agent", True), ("robust_single_agent", True), ("robust", False)):
        pol = init_policy(jax.random.PRNGKey(0), FEATURE_SETS[preset], DEFAULT_ACTION_TABLE, 0.1, NetworkConfig((4,), (4,), 4))
        assert policy_is_single_agent(pol) is single, preset


def _ctx(train_loss, val_loss, train_acc, val_acc, prev_train_loss=None, num_classes=10, n=2):
    g = global_stats(
        jnp.float32(train_loss), jnp.float32(train_acc), jnp.float32(val_loss), jnp.float32(val_acc),
        0.5, 1e-3, 0.1, prev_train_loss=None if prev_train_loss is None else jnp.float32(prev_train_loss),
    )  # fmt: skip
    z = jnp.zeros(n)
    return ObsContext(
        g, LayerStats(*([z] * 6)), jnp.full((n,), 1e-3), jnp.zeros(n, jnp.int32), jnp.zeros(n, jnp.int32),
        jnp.zeros(n, jnp.int32), 9, 0.1, num_classes,
    )  # fmt: skip


def _chance(ctx):
    view = np.asarray(extract(CHANCE_FEATURES, ctx))
    assert view.shape == (ctx.lrs.shape[0], 5) and np.all(view == view[0])  # global: broadcast
    return dict(zip(CHANCE_FEATURES, view[0].tolist()))


def test_chance_features_documented_values():
    ln10 = float(np.log(10.0))
    # chance level: loss ln C -> 1, accuracy 1/C -> 0; first decision (no previous loss): trend 0
    v = _chance(_ctx(ln10, ln10, 0.1, 0.1))
    assert v["train_loss_vs_chance"] == pytest.approx(1.0, abs=1e-6)
    assert v["test_loss_vs_chance"] == pytest.approx(1.0, abs=1e-6)
    assert v["train_accuracy_above_chance"] == pytest.approx(0.0, abs=1e-6)
    assert v["test_accuracy_above_chance"] == pytest.approx(0.0, abs=1e-6)
    assert v["train_loss_trend"] == 0.0
    # learning: loss fell from 1.0 to 0.5, perfect / always-wrong accuracy
    v = _chance(_ctx(0.5, 0.25 * ln10, 1.0, 0.0, prev_train_loss=1.0))
    assert v["train_loss_trend"] == pytest.approx(np.log(0.5), rel=1e-5)
    assert v["train_loss_vs_chance"] == pytest.approx(0.5 / ln10, rel=1e-5)
    assert v["test_loss_vs_chance"] == pytest.approx(0.25, rel=1e-5)
    assert v["train_accuracy_above_chance"] == pytest.approx(1.0, abs=1e-6)
    assert v["test_accuracy_above_chance"] == pytest.approx(-1.0 / 9.0, rel=1e-5)
    # collapsing: the loss rose back to chance level -> positive trend
    v = _chance(_ctx(ln10, ln10, 0.1, 0.1, prev_train_loss=0.5))
    assert v["train_loss_trend"] == pytest.approx(np.log(ln10 / 0.5), rel=1e-5) and v["train_loss_trend"] > 0
    # two classes: chance loss ln 2, chance accuracy 0.5
    v = _chance(_ctx(np.log(2.0), np.log(2.0), 0.75, 0.5, num_classes=2))
    assert v["train_loss_vs_chance"] == pytest.approx(1.0, abs=1e-6) and v["train_accuracy_above_chance"] == pytest.approx(0.5)


def test_chance_features_clip_and_stay_finite():
    # a blow-up: huge / NaN / inf losses and NaN accuracies map into the clip ranges
    for train_loss, val_loss, prev in ((1e30, 1e30, 0.1), (np.nan, np.inf, 2.0), (np.inf, 1.0, np.nan)):
        v = _chance(_ctx(train_loss, val_loss, np.nan, np.nan, prev_train_loss=prev))
        assert all(np.isfinite(list(v.values())))
        assert v["train_loss_vs_chance"] == LOSS_VS_CHANCE_MAX
        # global_stats stores a non-finite loss as LOSS_CAP, the previous one too: inf after NaN -> 0
        assert v["train_loss_trend"] == (0.0 if np.isnan(prev) else LOSS_TREND_BOUND)
        assert v["train_accuracy_above_chance"] == pytest.approx(-1.0 / 9.0)  # NaN accuracy -> 0
    # raw non-finite statistics (not through global_stats): NaN/inf -> the upper bounds
    ctx = _ctx(1.0, 1.0, 0.5, 0.5)
    for loss, prev in ((np.nan, 1.0), (1.0, np.nan), (np.inf, 1.0), (np.inf, np.inf)):
        g = ctx.global_stats._replace(train_loss=jnp.float32(loss), val_loss=jnp.float32(loss), prev_train_loss=jnp.float32(prev))
        v = _chance(ctx._replace(global_stats=g))
        assert v["train_loss_trend"] == LOSS_TREND_BOUND and all(np.isfinite(list(v.values())))
        assert v["train_loss_vs_chance"] == (LOSS_VS_CHANCE_MAX if not np.isfinite(loss) else pytest.approx(1 / np.log(10)))
    v = _chance(_ctx(1e-12, 0.0, 2.0, -1.0, prev_train_loss=10.0))  # tiny loss, out-of-range accuracy
    assert v["train_loss_trend"] == -LOSS_TREND_BOUND and v["train_loss_vs_chance"] >= 0.0
    assert v["test_loss_vs_chance"] == 0.0 and v["train_accuracy_above_chance"] == 1.0


def test_chance_features_are_jittable_and_need_num_classes():
    ctx = _ctx(1.0, 2.0, 0.5, 0.4, prev_train_loss=1.5)
    jitted = jax.jit(lambda g: extract(FEATURE_SETS["robust"], ctx._replace(global_stats=g)))
    np.testing.assert_allclose(jitted(ctx.global_stats), extract(FEATURE_SETS["robust"], ctx), rtol=1e-6)
    with pytest.raises(ValueError, match=r"features \['train_loss_vs_chance'.*need the number of classes"):
        extract(FEATURE_SETS["robust"], ctx._replace(num_classes=None))
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2"):
        extract(CHANCE_FEATURES, ctx._replace(num_classes=1))
    # hand-built statistics without the previous loss: the trend says what is missing
    with pytest.raises(ValueError, match="train_loss_trend needs GlobalStats.prev_train_loss"):
        extract(("train_loss_trend",), ctx._replace(global_stats=ctx.global_stats._replace(prev_train_loss=None)))
    # the full set needs neither
    assert extract(FEATURE_SETS["full"], ctx._replace(num_classes=None)).shape == (2, 37)


def test_robust_view_starts_with_the_full_view(tiny_train_env):
    env = tiny_train_env.env
    state, _ = tiny_train_env.reset(jax.random.PRNGKey(1))
    args = (env.layout, state.global_stats, state.layer_stats, state.lrs, state.prev_actions, env.action_dim, env.lr_max)
    full = np.asarray(observe(env.features, *args))
    robust = np.asarray(observe(FEATURE_SETS["robust"], *args, env.dataset.num_classes))
    np.testing.assert_array_equal(robust[:, :37], full)
    assert np.isfinite(robust).all() and robust[0, 37 + CHANCE_FEATURES.index("train_loss_trend")] == 0.0


def test_robust_input_adds_the_first_layers_weight_variance_for_every_agent(tiny_train_env):
    """``robust_input``: ``robust`` plus ``input_weight_var``, the first layer's log10 weight
    variance broadcast to every agent, so a hidden layer can tell how wide the input is."""
    robust, wide = FEATURE_SETS["robust"], FEATURE_SETS["robust_input"]
    assert INPUT_FEATURES == ("input_weight_var",) and wide == robust + INPUT_FEATURES
    assert resolve_features("robust_input") == wide and feature_dim(wide, 9) == feature_dim(robust, 9) + 1
    assert FEATURES["input_weight_var"].scope == "global" and continuous_feature_mask(wide, 9)[-1]
    # hand-built statistics: agent 0's variance, the same in every row, clipped like weight_var
    # (NaN to the upper bound)
    z = jnp.zeros(3)
    for first, expect in ((1e-3, -3.0), (1e-12, -10.0), (np.nan, 4.0)):
        stats = LayerStats(z, z, jnp.asarray([first, 0.5, 2.0]), z, z, z)
        ctx = ObsContext(_ctx(1.0, 1.0, 0.5, 0.5).global_stats, stats, jnp.full((3,), 1e-3), jnp.zeros(3, jnp.int32),
                         jnp.zeros(3, jnp.int32), jnp.asarray([0, 1, 2]), 9, 0.1)  # fmt: skip
        view = np.asarray(extract(INPUT_FEATURES, ctx))
        assert view.shape == (3, 1) and np.all(view == pytest.approx(expect, abs=1e-6))
    # in the environment: the column equals the first agent's own weight_var column, in every row
    env = tiny_train_env.env
    state, _ = tiny_train_env.reset(jax.random.PRNGKey(1))
    args = (env.layout, state.global_stats, state.layer_stats, state.lrs, state.prev_actions, env.action_dim, env.lr_max)
    view = np.asarray(observe(wide, *args, env.dataset.num_classes))
    np.testing.assert_array_equal(view[:, : feature_dim(robust, 9)], np.asarray(observe(robust, *args, env.dataset.num_classes)))
    var_col = feature_dim(wide[: wide.index("weight_var")], 9)
    assert np.all(view[:, -1] == view[0, var_col]) and len(set(view[:, var_col].tolist())) > 1
    # digits have 64 inputs: fan-in-scaled initialisation gives a variance of about 1/64
    assert view[0, -1] == pytest.approx(-np.log10(64), abs=0.2)
