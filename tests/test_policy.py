"""The trained-policy interface: act for any number of layers, save/load round trip."""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mava_ganno.env.actions import DEFAULT_ACTION_TABLE
from mava_ganno.env.observations import FEATURE_SETS
from mava_ganno.policy import (
    GannoPolicy,
    NetworkConfig,
    init_policy,
    init_policy_for_env,
    load_policy,
    save_policy,
)

SMALL = NetworkConfig(pre_torso=(16, 16), post_torso=(16,), hidden_state_dim=8)


@pytest.fixture(scope="module")
def policy() -> GannoPolicy:
    p = init_policy(
        jax.random.PRNGKey(0), FEATURE_SETS["full"], DEFAULT_ACTION_TABLE, 0.1, SMALL,
        metadata={"scenario": "unit-test"},
    )
    # non-trivial normalisation statistics, so the round trip checks they are restored
    obs = jax.random.normal(jax.random.PRNGKey(1), (64, p.obs_dim)) * 3.0 + 1.0
    return p.replace(obs_norm=p.obs_norm.update(obs))


@pytest.fixture(scope="module")
def jit_act():
    return jax.jit(lambda p, h, x, m, r, k, g: p.act(h, x, m, r, k, g), static_argnums=6)


def _inputs(policy: GannoPolicy, n: int, seed: int = 0):
    x = jax.random.normal(jax.random.PRNGKey(seed), (n, policy.obs_dim))
    mask = jnp.ones((n, policy.action_dim), bool)
    return x, mask


@pytest.mark.parametrize("n", [3, 6])
def test_act_shapes_any_number_of_agents(policy, jit_act, n):
    h = policy.init_hidden(n)
    assert h.shape == (n, SMALL.hidden_state_dim)
    x, mask = _inputs(policy, n)
    reset = jnp.ones((n,), bool)
    h2, a, probs = jit_act(policy, h, x, mask, reset, jax.random.PRNGKey(2), False)
    assert h2.shape == h.shape and a.shape == (n,) and a.dtype == jnp.int32
    assert probs.shape == (n, len(DEFAULT_ACTION_TABLE))
    np.testing.assert_allclose(np.asarray(probs.sum(-1)), 1.0, rtol=1e-5)
    assert np.all((np.asarray(a) >= 0) & (np.asarray(a) < policy.action_dim))
    # greedy picks the argmax
    _, ag, pg = jit_act(policy, h, x, mask, reset, jax.random.PRNGKey(2), True)
    np.testing.assert_array_equal(np.asarray(ag), np.asarray(pg).argmax(-1))
    # the hidden state moves, and resetting zeroes it before the step
    assert not np.allclose(np.asarray(h2), 0.0)
    h3, _, p3 = jit_act(policy, h2 * 0 + 5.0, x, mask, reset, jax.random.PRNGKey(2), True)
    np.testing.assert_allclose(np.asarray(h3), np.asarray(h2), rtol=1e-6)


def test_shared_weights_no_agent_id(policy, jit_act):
    """Same observation in every row -> same action probabilities for every agent."""
    x = jnp.tile(_inputs(policy, 1)[0], (5, 1))
    mask = jnp.ones((5, policy.action_dim), bool)
    _, _, probs = jit_act(policy, policy.init_hidden(5), x, mask, jnp.ones(5, bool), jax.random.PRNGKey(0), True)
    np.testing.assert_allclose(np.asarray(probs), np.asarray(probs[:1]).repeat(5, 0), rtol=1e-6)


def test_action_mask(policy, jit_act):
    x, mask = _inputs(policy, 4)
    mask = mask.at[:, 1:].set(False)
    _, a, probs = jit_act(policy, policy.init_hidden(4), x, mask, jnp.ones(4, bool), jax.random.PRNGKey(3), False)
    assert np.all(np.asarray(a) == 0)
    np.testing.assert_allclose(np.asarray(probs[:, 0]), 1.0)


def test_save_load_round_trip(policy, jit_act, tmp_path):
    d = str(tmp_path / "policy")
    save_policy(d, policy)
    assert sorted(os.listdir(d)) == ["params.msgpack", "policy.json"]
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".")]  # no temp leftovers
    cfg = json.load(open(os.path.join(d, "policy.json")))
    assert cfg["metadata"]["scenario"] == "unit-test"
    loaded = load_policy(d)
    assert loaded.network == policy.network and loaded.feature_names == policy.feature_names
    assert loaded.action_table == policy.action_table and loaded.lr_max == policy.lr_max
    assert loaded.metadata == {"scenario": "unit-test"}
    same = lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b))  # noqa: E731
    chex_equal = jax.tree_util.tree_map(same, loaded.params, policy.params)
    del chex_equal
    np.testing.assert_allclose(np.asarray(loaded.obs_norm.mean), np.asarray(policy.obs_norm.mean))
    # same pytree structure -> the jitted act is reused and gives identical outputs
    x, mask = _inputs(policy, 6)
    args = (x, mask, jnp.ones(6, bool), jax.random.PRNGKey(4), False)
    out_a = jit_act(policy, policy.init_hidden(6), *args)
    out_b = jit_act(loaded, loaded.init_hidden(6), *args)
    for a, b in zip(out_a, out_b):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # overwriting is atomic and leaves no temp directories behind
    save_policy(d, loaded)
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".")]


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="save_policy"):
        load_policy(str(tmp_path))


def test_policy_for_env_matches_env(tiny_eval_env):
    env = tiny_eval_env.env
    p = init_policy_for_env(env, jax.random.PRNGKey(0), network=SMALL)
    p.check_env(env)
    _, ts = tiny_eval_env.reset(jax.random.PRNGKey(0))
    obs = ts.observation
    h, a, probs = p.act(p.init_hidden(env.num_agents), obs.agents_view, obs.action_mask,
                        jnp.ones(env.num_agents, bool), jax.random.PRNGKey(1))
    assert a.shape == (env.num_agents,) and obs.agents_view.shape[-1] == p.obs_dim
    bad = p.replace(action_table=p.action_table[:-1])
    with pytest.raises(ValueError, match="action table"):
        bad.check_env(env)


def test_policy_mode_reads_the_validated_mode_and_names_a_bad_one():
    from types import SimpleNamespace

    from mava_ganno.policy import policy_mode

    assert policy_mode(SimpleNamespace(metadata={"validation_mode": "greedy"})) == "greedy"
    assert policy_mode(SimpleNamespace(metadata={"validation_mode": "sampled"})) == "sampled"
    assert policy_mode(SimpleNamespace(metadata={})) == "sampled"  # no suite: as training acts
    assert policy_mode(None) == "sampled"
    with pytest.raises(ValueError, match="validation_mode='argmax' is not an action mode"):
        policy_mode(SimpleNamespace(metadata={"validation_mode": "argmax"}))


def test_shared_layer_actions_take_the_most_likely_joint_action(policy, jit_act, tmp_path):
    """layer_actions="shared": one action for every layer, the argmax of the summed
    log-probabilities (worked from the per-layer distributions of the same inputs), sampled
    from their normalised product; saved, loaded and refused by name when unknown."""
    n = 5
    x, mask = _inputs(policy, n, seed=7)
    args = (policy.init_hidden(n), x, mask, jnp.ones(n, bool), jax.random.PRNGKey(5))
    h_own, a_own, p_own = jit_act(policy, *args, True)
    assert len(set(np.asarray(a_own).tolist())) > 1  # the layers disagree, so sharing changes something
    shared = policy.replace(layer_actions="shared")
    h, a, p = jit_act(shared, *args, True)
    joint = np.log(np.asarray(p_own, np.float64)).sum(0)
    assert np.asarray(a).tolist() == [int(joint.argmax())] * n
    want = np.exp(joint - joint.max()) / np.exp(joint - joint.max()).sum()
    np.testing.assert_allclose(np.asarray(p), np.tile(want, (n, 1)), rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(h), np.asarray(h_own))  # the recurrent state is the layers' own
    # sampled: one draw for all layers, distributed as the joint (frequencies over 2,000 keys)
    keys = jax.random.split(jax.random.PRNGKey(9), 2000)
    draws = jax.vmap(lambda k: shared.act(*args[:4], k, False)[1])(keys)
    assert np.all(np.asarray(draws) == np.asarray(draws)[:, :1])
    freq = np.bincount(np.asarray(draws)[:, 0], minlength=policy.action_dim) / 2000
    np.testing.assert_allclose(freq, want, atol=0.04)
    # a masked action is never the joint choice
    masked = mask.at[0, int(joint.argmax())].set(False)
    _, a_m, _ = jit_act(shared, args[0], x, masked, args[3], args[4], True)
    assert int(a_m[0]) != int(joint.argmax()) and len(set(np.asarray(a_m).tolist())) == 1
    # saved and loaded; a policy with the default writes no key (older files stay byte-identical)
    save_policy(str(tmp_path / "own"), policy)
    assert "layer_actions" not in json.load(open(tmp_path / "own" / "policy.json"))
    save_policy(str(tmp_path / "shared"), shared)
    assert load_policy(str(tmp_path / "shared")).layer_actions == "shared"
    cfg = json.load(open(tmp_path / "shared" / "policy.json"))
    cfg["layer_actions"] = "joint"
    json.dump(cfg, open(tmp_path / "shared" / "policy.json", "w"))
    with pytest.raises(ValueError, match=r"'layer_actions'='joint'.*'own'.*'shared'"):
        load_policy(str(tmp_path / "shared"))
    with pytest.raises(ValueError, match="layer_actions='all'"):
        policy.replace(layer_actions="all")
