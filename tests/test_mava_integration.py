"""Against real Mava: ``env=ganno`` in Mava's rec_ippo / rec_mappo, and their checkpoints.

Skipped unless Mava is importable and ``MAVA_DIR`` names a Mava checkout (the JAX version,
with ``mava/systems/ppo/anakin/rec_ippo.py``), i.e. skipped in CI. Run with, e.g.::

    MAVA_DIR=/path/to/Mava python -m pytest -q tests/test_mava_integration.py

The systems run in subprocesses, as users run them (``python mava/systems/...``), for a few
updates on a tiny GANNO scenario (tau 5, 4 env steps per episode), from a temporary working
directory (Mava writes ``checkpoints/`` and ``outputs/`` under the working directory).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

mava = pytest.importorskip("mava")
MAVA_DIR = os.environ.get("MAVA_DIR", "")
if not os.path.isfile(os.path.join(MAVA_DIR, "mava", "systems", "ppo", "anakin", "rec_ippo.py")):
    pytest.skip(
        "MAVA_DIR does not name a Mava checkout (with mava/systems/ppo/anakin/rec_ippo.py)",
        allow_module_level=True,
    )

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

TINY_ENV = [
    "env.scenario.env_kwargs.tau=5",
    "env.scenario.env_kwargs.sl_steps=20",
    "env.scenario.env_kwargs.hidden=16",
]
TINY_RUN = [
    "arch.num_envs=2",
    "arch.num_evaluation=2",
    "arch.num_eval_episodes=2",
    "arch.num_absolute_metric_eval_episodes=2",
    "system.num_updates=3",
    "system.rollout_length=8",
]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def compose(system: str, overrides):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=os.path.join(MAVA_DIR, "mava", "configs", "default"), version_base="1.2"):
        return hydra_compose(config_name=f"{system}.yaml", overrides=list(overrides))


def run_system(system: str, overrides, cwd, timeout=900):
    script = os.path.join(MAVA_DIR, "mava", "systems", "ppo", "anakin", f"{system}.py")
    proc = subprocess.run(
        [sys.executable, script, *overrides], cwd=str(cwd), capture_output=True, text=True, timeout=timeout
    )
    out = ANSI.sub("", proc.stdout + proc.stderr)
    assert proc.returncode == 0, out[-5000:]
    return out


def metrics(out: str, event: str):
    """The last ``EVENT - k: v | ...`` line Mava's console logger printed, as a dict."""
    lines = [line for line in out.splitlines() if line.startswith(f"{event} - ")]
    assert lines, f"no {event} line in the output:\n{out[-3000:]}"
    return {k.strip(): float(v) for k, v in (kv.split(":") for kv in lines[-1][len(event) + 3 :].split("|"))}


# ----------------------------------------------------------------------------- in-process
@pytest.fixture(scope="module")
def mava_make_env():
    import mava.utils.make_env as make_env

    from mava_ganno.mava.wrapper import register_with_mava

    register_with_mava()
    return make_env


@pytest.mark.parametrize("add_global_state", [False, True])
def test_mava_builds_ganno_and_it_meets_the_marl_env_contract(mava_make_env, add_global_state):
    from mava.types import Observation, ObservationGlobalState

    from mava_ganno.env import get_spec
    from mava_ganno.mava.global_state import feature_columns, global_state_dim

    cfg = compose("rec_mappo" if add_global_state else "rec_ippo", ["env=ganno", *TINY_ENV])
    assert cfg.system.add_agent_id  # Mava's default; env=ganno's implicit_agent_id turns it off
    train_env, eval_env = mava_make_env.make(cfg, add_global_state=add_global_state)
    assert not cfg.system.add_agent_id  # no agent ids: the policy must run on other depths
    n, a = train_env.num_agents, train_env.action_dim
    assert (n, a, train_env.time_limit) == (3, 9, 4)
    obs_cls = ObservationGlobalState if add_global_state else Observation
    assert type(get_spec(train_env, "observation").generate_value()) is obs_cls

    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    state, ts0 = jax.vmap(train_env.reset)(keys)
    step = jax.jit(jax.vmap(train_env.step))
    for _ in range(train_env.time_limit):
        state, ts = step(state, jnp.ones((2, n), jnp.int32))
    obs = ts.observation
    assert type(obs) is obs_cls
    assert obs.agents_view.shape[:2] == (2, n) and obs.agents_view.dtype == jnp.float32
    assert obs.action_mask.shape == (2, n, a) and obs.step_count.shape == (2, n)
    assert ts.reward.shape == (2, n) and ts.step_type.shape == (2,)
    assert bool(jnp.all(ts.last()))  # the episode ended after time_limit steps ...
    assert bool(jnp.all(ts.observation.step_count == 0))  # ... and AutoReset restarted it
    # extras: identical structure after reset and step (a scan/cond carry), scalars per env
    assert jax.tree_util.tree_structure(ts0.extras) == jax.tree_util.tree_structure(ts.extras)
    assert ts.extras["episode_metrics"]["episode_length"].tolist() == [4, 4]
    assert {"val_accuracy", "train_loss", "diverged"} <= set(ts.extras)
    assert "layer_lrs" not in ts.extras
    if add_global_state:
        ganno = train_env.unwrapped
        assert obs.global_state.shape == (2, n, global_state_dim(ganno.features, a))
        _, layer_cols = feature_columns(ganno.features, a)
        # Every agent sees the same summary (mean/min/max) of all layers ...
        summary = obs.global_state[:, :, -3 * len(layer_cols) :]
        np.testing.assert_allclose(summary[:, 0], summary[:, 1])
        # ... and its own layer's features.
        own = obs.global_state[:, :, -4 * len(layer_cols) : -3 * len(layer_cols)]
        np.testing.assert_allclose(own, obs.agents_view[:, :, layer_cols])
    # The eval env has no AutoReset: it stops at the terminal step.
    _, ets = jax.vmap(eval_env.reset)(keys)
    assert type(ets.observation) is obs_cls


def test_ganno_policy_reproduces_mavas_actor(mava_make_env):
    """mava_ganno's actor on Mava's actor params gives Mava's RecurrentActor's logits."""
    import hydra
    from mava.networks import RecurrentActor, ScannedRNN
    from mava.networks.heads import DiscreteActionHead
    from mava.types import Observation

    from mava_ganno.mava.checkpoint import policy_from_mava

    cfg = compose("rec_ippo", ["env=ganno", *TINY_ENV, "network.hidden_state_dim=32"])
    env, _ = mava_make_env.make(cfg)
    actor = RecurrentActor(
        pre_torso=hydra.utils.instantiate(cfg.network.actor_network.pre_torso),
        post_torso=hydra.utils.instantiate(cfg.network.actor_network.post_torso),
        action_head=DiscreteActionHead(action_dim=env.action_dim),
        hidden_state_dim=32,
    )
    _, ts = jax.vmap(env.reset)(jax.random.split(jax.random.PRNGKey(1), 2))
    ts_obs = ts.observation
    done = jnp.zeros((1, 2, env.num_agents), bool)
    h0 = ScannedRNN.initialize_carry((2, env.num_agents), 32)
    obs = Observation(ts_obs.agents_view[None], ts_obs.action_mask[None], ts_obs.step_count[None])
    params = actor.init(jax.random.PRNGKey(0), h0, (obs, done))
    h1, pi = actor.apply(params, h0, (obs, done))
    policy = policy_from_mava(params, OmegaConf.to_container(cfg, resolve=True))
    for b in range(2):
        hb, logits = policy.logits(h0[b], ts_obs.agents_view[b], ts_obs.action_mask[b], done[0, b])
        np.testing.assert_allclose(np.asarray(logits), np.asarray(pi.distribution.logits[0, b]), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(np.asarray(hb), np.asarray(h1[b]), rtol=1e-5, atol=1e-5)


def test_other_envs_configs_unchanged():
    cfg = compose("rec_ippo", ["env=lbf"])
    for group, rel in (("arch", "arch/anakin.yaml"), ("system", "system/ppo/rec_ippo.yaml")):
        mava_file = OmegaConf.load(os.path.join(MAVA_DIR, "mava", "configs", rel))
        assert OmegaConf.to_container(cfg[group]) == OmegaConf.to_container(mava_file), group
    assert cfg.network.actor_network.pre_torso._target_.startswith("mava.")


# ----------------------------------------------------------------------------- subprocess runs
@pytest.mark.parametrize("system", ["rec_ippo", "rec_mappo"])
def test_mava_system_trains_ganno_and_its_checkpoint_runs_zero_shot_deeper(system, tmp_path):
    from mava_ganno.evaluation.harness import evaluate
    from mava_ganno.evaluation.policies import load_policy_any
    from mava_ganno.evaluation.records import make_scenario

    uid = f"ganno_{system}"
    overrides = ["env=ganno", *TINY_ENV, *TINY_RUN, "logger.checkpointing.save_model=True"]
    overrides.append(f"logger.checkpointing.save_args.checkpoint_uid={uid}")
    out = run_system(system, overrides, cwd=tmp_path)
    assert ("Recurrent IPPO" if system == "rec_ippo" else "Recurrent MAPPO") + " experiment completed" in out
    evaluation = metrics(out, "EVALUATOR")
    assert evaluation["Episode length mean"] == 4.0  # time_limit = sl_steps / tau
    assert np.isfinite(evaluation["Episode return mean"])
    assert np.isfinite(metrics(out, "TRAINER")["Total loss"])

    policy = load_policy_any(str(tmp_path / "checkpoints" / system / uid))  # as `ganno evaluate --policy <run dir>` loads it
    assert policy.metadata["system_name"] == system
    assert policy.metadata["mava_config"]["env"]["scenario"]["task_name"] == "mlp2-digits"
    # Trained on 3 layer agents; runs on 6 (mlp5), zero-shot.
    sc = make_scenario("mlp5-mnist_5k", tau=5, sl_steps=20, hidden=16)
    result = evaluate(
        sc, [policy], lrs=[1e-3], weight_decays=[0.1], seeds=1, methods=[], random_agent=False, log=lambda s: None
    )
    runs = [rs for rs in result.runsets if rs.group == "ganno"]
    assert {rs.mode for rs in runs} == {"sampled", "greedy"}
    for rs in runs:
        assert rs.lrs.shape == (1, sc.num_chunks, 6)  # one learning rate per layer of mlp5
        assert np.all(np.isfinite(rs.test_accuracy)) and rs.test_accuracy[0, -1] > 0.1


def test_lbf_still_trains(tmp_path):
    out = run_system("rec_ippo", ["env=lbf", *TINY_RUN], cwd=tmp_path)
    assert "Recurrent IPPO experiment completed" in out
    assert metrics(out, "EVALUATOR")["Episode length mean"] == 100.0
