"""Layer types from entry points, and how parameters map to layer agents."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from thirdparty_dist import TYPE_NAME, TYPE_SLOT, LoRADense, throwaway_layer_type_distribution

from mava_ganno.env.observations import FEATURE_SETS, ObsContext, extract, feature_dim
from mava_ganno.layers import (
    NUM_LAYER_TYPE_SLOTS,
    UnknownLayerError,
    find_layer_agents,
    get_layer_type,
    load_layer_types,
)


class UserModel(nn.Module):
    """Depth order is the natural order of module names (see mava_ganno.layers)."""

    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Conv(4, (3, 3), name="b0_conv")(x)).reshape(x.shape[0], -1)
        x = nn.LayerNorm(name="b1_norm")(x)
        x = nn.relu(LoRADense(8, name="b2_adapter")(x))
        return nn.Dense(10, name="b3_dense")(x)


def _user_params():
    return UserModel().init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 1)))["params"]


def test_builtin_types_come_from_entry_points():
    types = {t.name: t.slot for t in load_layer_types()}
    assert types == {"linear": 0, "convolutional": 1, "attention": 2, "embedding": 3}
    assert get_layer_type("attention").slot == 2
    with pytest.raises(ValueError, match="unknown layer type 'lstm'"):
        get_layer_type("lstm")


def test_unknown_parameter_kind_is_reported_not_guessed():
    with pytest.raises(UnknownLayerError, match=r"unknown parameter kind at b2_adapter .*lora_a"):
        find_layer_agents(_user_params())


def test_third_party_distribution_adds_a_layer_type(tmp_path):
    params = _user_params()
    dim_before = feature_dim(FEATURE_SETS["full"], 9)
    with throwaway_layer_type_distribution(tmp_path / "site"):
        assert TYPE_NAME in {t.name for t in load_layer_types()}
        agents = find_layer_agents(params)
        assert [a.layer_type for a in agents.agents] == ["convolutional", TYPE_NAME, "linear"]
        assert agents.type_slots.tolist() == [1, TYPE_SLOT, 0]
        # LayerNorm params follow the conv agent visited before them
        assert agents.agent_index["b1_norm"] == {"scale": 0, "bias": 0}
        assert agents.agent_index["b2_adapter"] == {"kernel": 1, "lora_a": 1, "lora_b": 1}
        # the one-hot width is fixed: a policy trained before the type existed still fits
        assert feature_dim(FEATURE_SETS["full"], 9) == dim_before
    # gone again once the distribution leaves sys.path
    assert TYPE_NAME not in {t.name for t in load_layer_types()}


def test_layer_type_one_hot_uses_the_slot():
    from mava_ganno.backend.layer_stats import LayerStats
    from mava_ganno.env.types import GlobalStats

    n = 2
    z = jnp.zeros(n)
    ctx = ObsContext(
        GlobalStats(*([jnp.asarray(0.0)] * 4), jnp.asarray(False), *([jnp.asarray(0.0)] * 3)),
        LayerStats(*([z] * 6)),
        jnp.asarray([1e-3, 0.0]),
        jnp.asarray([0, 3]),
        jnp.asarray([TYPE_SLOT, 0]),
        jnp.asarray([0, 2]),
        9,
        0.1,
    )
    view = np.asarray(extract(("layer_type", "layer_depth", "current_lr"), ctx))
    assert view.shape == (2, NUM_LAYER_TYPE_SLOTS + 3 + 2)
    assert view[0, TYPE_SLOT] == 1 and view[0, :NUM_LAYER_TYPE_SLOTS].sum() == 1
    assert view[1, 0] == 1
    np.testing.assert_array_equal(view[:, NUM_LAYER_TYPE_SLOTS : NUM_LAYER_TYPE_SLOTS + 3], [[1, 0, 0], [0, 0, 1]])
    np.testing.assert_allclose(view[:, -2:], [[-3.0, 0.01], [-8.0, 0.0]], rtol=1e-5)  # log10 lr (0 -> -8), lr/lr_max


def test_natural_depth_order_and_attention():
    params = {
        f"Dense_{i}": {"kernel": jnp.zeros((2, 2)), "bias": jnp.zeros(2)} for i in (0, 1, 2, 10)
    }
    params["MultiHeadDotProductAttention_0"] = {
        k: {"kernel": jnp.zeros((2, 1, 2)), "bias": jnp.zeros((1, 2))} for k in ("query", "key", "value")
    }
    params["MultiHeadDotProductAttention_0"]["out"] = {"kernel": jnp.zeros((1, 2, 2)), "bias": jnp.zeros(2)}
    agents = find_layer_agents(params)
    assert [a.path[0] for a in agents.agents] == [
        "Dense_0", "Dense_1", "Dense_2", "Dense_10", "MultiHeadDotProductAttention_0",
    ]
    assert agents.agents[-1].layer_type == "attention"
    assert agents.depth_ids.tolist() == [0, 1, 1, 1, 2]


def test_any_params_pytree_gives_the_same_agents_and_leaf_ids_in_flatten_order():
    from flax.core import freeze

    from mava_ganno.layers import layer_names

    params = {"Dense_1": {"kernel": jnp.zeros((3, 2)), "bias": jnp.zeros(2)}, "Dense_0": {"kernel": jnp.zeros((4, 3))}}
    params["LayerNorm_0"] = {"scale": jnp.zeros(3), "bias": jnp.zeros(3)}
    plain = find_layer_agents(params)
    for tree in (freeze(params), {"params": params}, freeze({"params": params})):
        agents = find_layer_agents(tree)
        assert agents.agents == plain.agents and agents.leaf_paths == plain.leaf_paths
        np.testing.assert_array_equal(agents.leaf_agent_ids(), plain.leaf_agent_ids())
        like = agents.agent_index_like(tree)
        assert jax.tree_util.tree_structure(like) == jax.tree_util.tree_structure(tree)
    # flatten order (sorted keys): Dense_0/kernel, Dense_1/bias, Dense_1/kernel, LayerNorm_0/bias, LayerNorm_0/scale
    assert plain.leaf_paths[0] == ("Dense_0", "kernel")
    assert plain.leaf_agent_ids().tolist() == [0, 1, 1, 1, 1]
    assert plain.names() == layer_names({"params": params}) == ("Dense_0", "Dense_1")
    with pytest.raises(UnknownLayerError, match="position embeddings"):
        find_layer_agents({"params": {**params, "pos": jnp.zeros((1, 3))}})
    with pytest.raises(TypeError, match="single array"):
        find_layer_agents(jnp.zeros(3))


def test_the_call_order_gives_named_submodules_their_depths_and_norms_their_layer():
    """A model whose parameter names do not sort in depth order (stem, body, head) gets depths
    from the order it calls its layers, and a BatchNorm follows the layer called before it."""
    import optax

    from mava_ganno.layers import call_order, find_layer_agents, layer_names
    from mava_ganno.optimiser import ganno_adamw, lr_trajectory

    class Body(nn.Module):
        @nn.compact
        def __call__(self, x):
            return nn.relu(nn.Dense(16)(x))

    class Net(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.Dense(16, name="stem")(x.reshape(len(x), -1))
            x = Body(name="body")(x)
            x = nn.LayerNorm(name="BatchNorm_0")(nn.Dense(16, name="Dense_1")(x))  # a norm named to sort first
            return nn.Dense(10, name="head")(x)

    model, x = Net(), jnp.ones((4, 8, 8, 1))
    variables = model.init(jax.random.PRNGKey(0), x)
    order = call_order(model, variables, x)
    assert order == ("stem", "body", "body/Dense_0", "Dense_1", "BatchNorm_0", "head")
    by_name = find_layer_agents(variables["params"])
    assert by_name.names() == ("Dense_1", "body/Dense_0", "head", "stem")  # the names' order: wrong depths
    agents = find_layer_agents(variables["params"], order=order)
    assert agents.names() == ("stem", "body/Dense_0", "Dense_1", "head") == layer_names(variables["params"], order=order)
    assert agents.depth_ids.tolist() == [0, 1, 1, 2]
    owner = dict(zip(agents.leaf_paths, agents.leaf_agent_ids().tolist()))
    assert owner[("BatchNorm_0", "scale")] == owner[("Dense_1", "kernel")] == 2  # not stem's, which sorts before it
    with pytest.raises(TypeError, match="sequence of submodule paths"):
        find_layer_agents(variables["params"], order="stem")

    tx = ganno_adamw(total_steps=20, tau=5, num_classes=10, layer_order=order)
    params = variables["params"]
    state = tx.init(params)

    def loss_fn(p):
        return optax.softmax_cross_entropy_with_integer_labels(model.apply({"params": p}, x), jnp.arange(4)).mean()

    for _ in range(10):
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, state = tx.update(grads, state, params, loss=loss)
        params = optax.apply_updates(params, updates)
    assert lr_trajectory(state)["lrs"].shape == (2, 4)
    with pytest.raises(TypeError, match="layer_order must be"):
        ganno_adamw(total_steps=20, tau=5, num_classes=10, layer_order="stem")
