"""Observation assembly (mava_ganno.env.observations.observe): one assembly for the
environment and the optax export."""

from __future__ import annotations

import jax
import numpy as np

from mava_ganno.env.observations import agent_layout, observe


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
