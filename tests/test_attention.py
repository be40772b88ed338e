"""The ViT backend network: attention layers are agents of type "attention"."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml

from mava_ganno.backend.networks import ViT, make_network
from mava_ganno.env import make_ganno
from mava_ganno.env.generator import InitialConditionsGenerator
from mava_ganno.env.observations import FEATURES, resolve_features
from mava_ganno.layers import ATTENTION, LINEAR, UnknownLayerError, find_layer_agents

SMALL_VIT = dict(network="vit1", dataset="digits", hidden=16, width=8)


def _params(module, shape=(1, 8, 8, 1)):
    return module.init(jax.random.PRNGKey(0), jnp.zeros(shape))["params"]


def test_vit_agents_are_depth_ordered_with_attention_layers():
    params = _params(ViT(10, depth=2))
    agents = find_layer_agents(params)
    types = [a.layer_type for a in agents.agents]
    assert types == ["linear", "attention", "linear", "linear", "attention", "linear", "linear", "linear"]
    assert [a.path[0] for a in agents.agents] == [f"layer_{i:02d}" for i in range(8)]
    assert list(agents.type_slots) == [
        {"linear": LINEAR.slot, "attention": ATTENTION.slot}[t] for t in types
    ]
    idx = agents.agent_index
    # class token and position embeddings are the patch embedding's per-token bias
    assert set(params["layer_00"]) == {"kernel", "bias"} and params["layer_00"]["bias"].shape == (1 + 16, 32)
    assert idx["layer_00"]["bias"] == 0
    # every LayerNorm follows the layer it feeds
    assert idx["layer_01"]["norm"]["scale"] == 1 and idx["layer_01"]["attention"]["query"]["kernel"] == 1
    assert idx["layer_02"]["norm"]["bias"] == 2
    assert idx["layer_07"]["norm"]["scale"] == 7 and idx["layer_07"]["dense"]["kernel"] == 7
    # attention agents own all of query/key/value/out
    attn = params["layer_04"]["attention"]
    assert agents.agents[4].num_params == sum(int(np.size(x)) for x in jax.tree_util.tree_leaves(attn))


def test_make_network_vit_names_and_patch_grid():
    assert find_layer_agents(_params(make_network("vit3", 10).module)).num_agents == 3 * 3 + 2
    assert find_layer_agents(_params(make_network("vit", 10).module)).num_agents == 8
    p = _params(make_network("vit", 10).module, (1, 28, 28, 1))
    assert p["layer_00"]["kernel"].shape == (7 * 7, 32)  # 7x7 patches on a 4x4 grid
    assert p["layer_00"]["bias"].shape == (1 + 16, 32)
    with pytest.raises(ValueError, match="vit"):
        make_network("vit0", 10)
    with pytest.raises(ValueError, match="patch_size=3"):
        _params(ViT(10, depth=1, patch_size=3))


def test_top_level_position_embedding_is_reported_not_guessed():
    class LooseViT(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = x.reshape(x.shape[0], 4, -1)
            x = nn.Dense(16, name="layer_00")(x) + self.param("pos", nn.initializers.zeros, (1, 4, 16))
            return nn.MultiHeadDotProductAttention(num_heads=2, name="layer_01")(x)

    with pytest.raises(UnknownLayerError, match=r"<root>.*pos\(1, 4, 16\)"):
        find_layer_agents(_params(LooseViT()))


@pytest.fixture(scope="module")
def vit_env():
    env = make_ganno(InitialConditionsGenerator(1e-3, 0.01), **SMALL_VIT, tau=5, sl_steps=10, difference_reward=False)

    @jax.jit
    def reset_and_step(key, actions):  # one compilation for both
        state, ts = env.reset(key)
        return (state, ts), env.step(state, actions)

    return env, reset_and_step


def test_vit_env_observes_attention_type_and_schedules_it(vit_env):
    env, reset_and_step = vit_env
    assert env.num_agents == 5
    # Push the attention agent's LR to 0 (``-0.001`` from 1e-3), leave the others: the attention
    # block (and its LayerNorm) is frozen exactly, everything else trains.
    minus = list(env.action_table.entries).index("-0.001")
    actions = jnp.asarray([0, minus, 0, 0, 0], jnp.int32)
    (state, ts), (new_state, ts2) = reset_and_step(jax.random.PRNGKey(0), actions)
    names = resolve_features("full")
    start = sum(FEATURES[n].width(env.action_dim) for n in names[: names.index("layer_type")])
    type_onehot = np.asarray(ts.observation.agents_view[:, start : start + 8])
    assert type_onehot.argmax(1).tolist() == [0, 2, 0, 0, 0]
    assert np.all(np.isfinite(ts.observation.agents_view))
    np.testing.assert_array_equal(np.asarray(ts2.extras["layer_lrs"]), np.float32([1e-3, 0.0, 1e-3, 1e-3, 1e-3]))
    before, after = state.train_state.params, new_state.train_state.params
    for leaf_b, leaf_a in zip(jax.tree_util.tree_leaves(before["layer_01"]), jax.tree_util.tree_leaves(after["layer_01"])):
        np.testing.assert_array_equal(leaf_b, leaf_a)
    for name in ("layer_00", "layer_02", "layer_03", "layer_04"):
        delta = jax.tree_util.tree_map(lambda a, b: jnp.max(jnp.abs(a - b)), before[name], after[name])
        assert max(float(d) for d in jax.tree_util.tree_leaves(delta)) > 0, name


@pytest.mark.parametrize("scenario", ["vit-digits", "vit-mnist_5k"])
def test_vit_scenarios_build(scenario):
    import os

    path = os.path.join(os.path.dirname(__file__), "..", "configs", "env", "scenario", f"{scenario}.yaml")
    with open(path) as f:
        cfg = yaml.safe_load(f)
    assert cfg["name"] == "GANNO-v0" and cfg["task_name"] == scenario
    env = make_ganno(InitialConditionsGenerator(**cfg["task_config"]), **cfg["env_kwargs"])
    assert [a.layer_type for a in env.layer_agents.agents].count("attention") == 2
    assert env.dataset_name == cfg["env_kwargs"]["dataset"]
