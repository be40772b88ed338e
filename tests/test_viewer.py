"""The viewer depends on State only; the environment injects tau, time limit and layer map."""

from __future__ import annotations

import jax
import numpy as np
from conftest import TINY

from mava_ganno.env import make_ganno
from mava_ganno.env.viewer import GannoViewer


def test_viewer_renders_states_without_the_environment(tiny_eval_env, tmp_path):
    env = tiny_eval_env.env
    state, _ = tiny_eval_env.reset(jax.random.PRNGKey(0))
    viewer = GannoViewer(tau=env.tau, time_limit=env.time_limit, layer_of_lr=np.arange(env.num_agents))
    np.testing.assert_allclose(viewer.layer_lrs(state), np.asarray(env.layer_lrs(state.lrs)))
    viewer.render(state, save_path=str(tmp_path / "frame.png"))
    viewer.animate([state, state], save_path=str(tmp_path / "episode.png"))
    assert (tmp_path / "frame.png").stat().st_size > 0 and (tmp_path / "episode.png").stat().st_size > 0
    viewer.close()


def test_single_agent_viewer_shows_every_layer_following_agent_zero():
    env = make_ganno(**TINY, single_agent=True, features="single_agent", difference_reward=False)
    state, _ = env.reset(jax.random.PRNGKey(0))
    lrs = env.viewer.layer_lrs(state)
    assert lrs.shape == (env.num_layers,) and np.all(lrs == np.asarray(state.lrs)[0])
