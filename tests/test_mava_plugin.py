"""The Mava plug-in without Mava: the Hydra plugin, the configs it serves, the global state,
and the Mava-checkpoint loader (on a checkpoint written with Mava's layout).

The Hydra tests run small apps in subprocesses (Hydra's plugin scan and search path are
per-process). The "Mava" there is a stand-in package of this test's own: a ``mava`` package
whose ``configs/`` tree has Mava's layout and file names, with marker values, so that which
tree a value came from is visible.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from omegaconf import OmegaConf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIO_DIR = os.path.join(REPO, "configs", "env", "scenario")
SCENARIOS = sorted(f[:-5] for f in os.listdir(SCENARIO_DIR) if f.endswith(".yaml"))


def run_py(args, cwd, timeout=120):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["HYDRA_FULL_ERROR"] = "1"
    proc = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def tagged(stdout, tag):
    return [json.loads(line[len(tag) :]) for line in stdout.splitlines() if line.startswith(tag)]


# ----------------------------------------------------------------------------- fixtures
FAKE_MAVA_FILES = {
    "mava/__init__.py": "",
    "mava/configs/default/rec_ippo.yaml": """
        defaults:
          - logger: logger
          - arch: anakin
          - system: ppo/rec_ippo
          - network: rnn
          - env: stand_in
          - _self_
        hydra:
          searchpath:
            - file://mava/configs
        """,
    "mava/configs/arch/anakin.yaml": """
        num_envs: 16
        num_evaluation: 200
        num_eval_episodes: 32
        num_absolute_metric_eval_episodes: 320
        tree: stand_in_mava
        """,
    "mava/configs/system/ppo/rec_ippo.yaml": """
        total_timesteps: ~
        num_updates: 1000
        rollout_length: 128
        update_batch_size: 2
        add_agent_id: True
        tree: stand_in_mava
        """,
    "mava/configs/network/rnn.yaml": "hidden_state_dim: 128\ntree: stand_in_mava\n",
    "mava/configs/logger/logger.yaml": "use_console: True\ntree: stand_in_mava\n",
    "mava/configs/env/stand_in.yaml": """
        env_name: StandIn
        implicit_agent_id: False
        scenario:
          name: StandIn-v0
        """,
    "app.py": """
        import json, sys
        import mava  # as Mava's systems do, before Hydra starts
        import hydra
        from omegaconf import OmegaConf

        @hydra.main(config_path="mava/configs/default", config_name="rec_ippo.yaml", version_base="1.2")
        def main(cfg):
            print("CFG=" + json.dumps(OmegaConf.to_container(cfg, resolve=True)))
            heavy = [m for m in ("jax", "mava_ganno", "mava.utils.make_env") if m in sys.modules]
            print("HEAVY=" + json.dumps(heavy))

        main()
        """,
    "plain_app.py": """
        import json, sys
        import hydra

        @hydra.main(config_path=None, version_base="1.2")
        def main(cfg):
            heavy = [m for m in ("jax", "mava", "mava_ganno") if m in sys.modules]
            print("HEAVY=" + json.dumps(heavy))

        main()
        """,
}


@pytest.fixture(scope="module")
def fake_mava(tmp_path_factory):
    root = tmp_path_factory.mktemp("fake_mava")
    for rel, text in FAKE_MAVA_FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return str(root)


HYDRA_QUIET = ["hydra.run.dir=.", "hydra.output_subdir=null", "hydra/job_logging=none", "hydra/hydra_logging=none"]


COMPOSE_SCRIPT = """
import json, sys
import mava  # the stand-in, as Mava's systems import mava before Hydra starts
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

def run(overrides):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=sys.argv[1], version_base="1.2"):
        cfg = compose(config_name="rec_ippo.yaml", overrides=overrides)
    return OmegaConf.to_container(cfg, resolve=True)

cases = json.loads(sys.argv[2])
print("CFGS=" + json.dumps({name: run(overrides) for name, overrides in cases.items()}))
print("HEAVY=" + json.dumps([m for m in ("jax", "mava.utils.make_env") if m in sys.modules]))
"""


@pytest.fixture(scope="module")
def composed(fake_mava):
    """Mava's primary config composed (Hydra's compose API) for several command lines."""
    cases = {
        "ganno": ["env=ganno"],
        "ganno_cli": ["env=ganno", "arch.num_envs=2", "system.num_updates=7"],
        "other": [],
    }
    cases.update({f"scenario:{s}": ["env=ganno", f"env/scenario={s}"] for s in SCENARIOS})
    main_dir = os.path.join(fake_mava, "mava", "configs", "default")
    out = run_py(["-c", COMPOSE_SCRIPT, main_dir, json.dumps(cases)], cwd=fake_mava)
    (cfgs,) = tagged(out, "CFGS=")
    (heavy,) = tagged(out, "HEAVY=")
    return cfgs, heavy


# ----------------------------------------------------------------------------- plugin
def test_plugin_is_light_discovered_and_leaves_other_apps_alone(fake_mava):
    probe = (
        "import sys, json\n"
        "import hydra_plugins.mava_ganno_searchpath.mava_ganno_searchpath as m\n"
        "heavy = [x for x in ('jax', 'jaxlib', 'numpy', 'mava', 'mava_ganno', 'jumanji') if x in sys.modules]\n"
        "from hydra.core.plugins import Plugins\n"
        "from hydra.plugins.search_path_plugin import SearchPathPlugin\n"
        "names = [p.__name__ for p in Plugins.instance().discover(SearchPathPlugin)]\n"
        "print('PROBE=' + json.dumps({'heavy': heavy, 'names': names}))"
    )
    (probe_out,) = tagged(run_py(["-c", probe], cwd=fake_mava), "PROBE=")
    assert probe_out["heavy"] == []  # importing the plugin imports no jax, Mava or mava_ganno
    assert "MavaGannoSearchPathPlugin" in probe_out["names"]  # Hydra's scan finds it
    # A Hydra app that is not Mava: search path untouched, nothing heavy imported at start-up.
    out = run_py(["plain_app.py", *HYDRA_QUIET], cwd=fake_mava)
    assert tagged(out, "HEAVY=") == [[]]
    info = run_py(["plain_app.py", "--info", "searchpath"], cwd=fake_mava)
    assert "mava_ganno" not in info


def test_mava_searchpath_order(fake_mava):
    info = run_py(["app.py", "--info", "searchpath"], cwd=fake_mava)
    rows = [line.split("|")[1:3] for line in info.splitlines() if line.startswith("|")]
    rows = [(p.strip(), s.strip()) for p, s in rows]
    paths = [s for _, s in rows]
    mava_cfg = "file://" + os.path.join(os.path.realpath(fake_mava), "mava", "configs")
    assert ("mava_ganno", "pkg://mava_ganno.configs") in rows
    # Mava's own tree, then GANNO's, then the Mava-only defaults, all before Mava's relative entry.
    order = [mava_cfg, "pkg://mava_ganno.configs", "pkg://mava_ganno.mava.configs", "file://mava/configs"]
    assert [paths.index(p) for p in order] == sorted(paths.index(p) for p in order)


def test_env_ganno_composes_in_mava(composed):
    cfgs, heavy = composed
    cfg = cfgs["ganno"]
    env = cfg["env"]
    assert env["scenario"]["name"] == "GANNO-v0"
    assert env["implicit_agent_id"] is True and env["log_win_rate"] is False
    assert env["eval_metric"] == "episode_return" and env["env_name"] == "GANNO"
    # Shared names resolve to Mava's files, not to mava_ganno's own arch/system/network/logger.
    for group in ("arch", "system", "network", "logger"):
        assert cfg[group]["tree"] == "stand_in_mava", group
    # ... and env=ganno's Mava-only defaults size them for CPUs.
    assert cfg["arch"]["num_envs"] == 4 and cfg["arch"]["num_evaluation"] == 20
    assert cfg["system"]["num_updates"] == 390 and cfg["system"]["rollout_length"] == 32
    assert cfg["system"]["update_batch_size"] == 1 and cfg["system"]["total_timesteps"] is None
    assert "mava.utils.make_env" not in heavy  # registration waits for Mava's make_env


def test_command_line_overrides_win_over_env_defaults(composed):
    cfg = composed[0]["ganno_cli"]
    assert cfg["arch"]["num_envs"] == 2 and cfg["system"]["num_updates"] == 7
    assert cfg["arch"]["num_evaluation"] == 20


def test_other_envs_unchanged(composed):
    cfg = composed[0]["other"]
    assert cfg["env"]["env_name"] == "StandIn"
    assert cfg["arch"]["num_envs"] == 16 and cfg["arch"]["num_evaluation"] == 200
    assert cfg["system"]["num_updates"] == 1000 and cfg["system"]["rollout_length"] == 128


def test_every_scenario_composes_into_valid_env_arguments(composed):
    from mava_ganno.env.env import ganno_arguments
    from mava_ganno.env.generator import InitialConditionsGenerator

    cfgs = [c for name, c in composed[0].items() if name.startswith("scenario:")]
    assert sorted(c["env"]["scenario"]["task_name"] for c in cfgs) == SCENARIOS
    for cfg in cfgs:
        env = cfg["env"]
        InitialConditionsGenerator(**env["scenario"]["task_config"])
        kwargs = {**env["kwargs"], **env["scenario"]["env_kwargs"]}
        ganno_arguments(**kwargs)  # what Mava's make_jumanji_env passes, checked (names and values)
        assert cfg["arch"]["num_envs"] == 4  # the Mava-only defaults apply to every scenario
    by_name = {c["env"]["scenario"]["task_name"]: c for c in cfgs}
    # ... and a costlier scenario gets a smaller CPU budget (mava_host/scenario/<name>.yaml).
    assert by_name["cnn2-digits"]["system"]["num_updates"] == 40
    assert by_name["cnn2-digits"]["arch"]["num_evaluation"] == 10
    assert by_name["mlp2-digits"]["system"]["num_updates"] == 390


def test_mava_ganno_own_config_is_not_touched_by_mava_defaults():
    from mava_ganno.train import compose_config

    # mava_ganno's own arch/system, not mava_host/ (which only Mava's apps see).
    own = OmegaConf.load(os.path.join(REPO, "configs", "system", "ppo", "rec_ippo.yaml"))
    for scenario in ("mlp2-digits", "cnn2-digits"):
        cfg = compose_config([f"env/scenario={scenario}"])
        assert cfg.system.rollout_length == own.rollout_length
        assert cfg.system.get("num_updates") == own.get("num_updates")


# ----------------------------------------------------------------------------- global state
def test_global_state_is_depth_independent_and_meaningful():
    from mava_ganno.env.actions import DEFAULT_ACTION_TABLE
    from mava_ganno.env.observations import FEATURE_SETS, FEATURES, feature_dim
    from mava_ganno.mava.global_state import feature_columns, global_state, global_state_dim

    names, a = FEATURE_SETS["full"], len(DEFAULT_ACTION_TABLE)
    n, f = 3, feature_dim(names, a)
    g_cols, l_cols = feature_columns(names, a)
    G, L = len(g_cols), len(l_cols)
    assert G == sum(FEATURES[x].width(a) for x in names if FEATURES[x].scope == "global")
    assert sorted(np.concatenate([g_cols, l_cols]).tolist()) == list(range(f))
    view = np.random.default_rng(0).normal(size=(n, f)).astype(np.float32)
    view[:, g_cols] = view[0, g_cols]  # global features are the same in every row
    gs = np.asarray(global_state(view, g_cols, l_cols))
    assert gs.shape == (n, global_state_dim(names, a)) == (n, G + 4 * L)
    np.testing.assert_allclose(gs[:, :G], np.broadcast_to(view[0, g_cols], (n, G)))
    np.testing.assert_allclose(gs[:, G : G + L], view[:, l_cols])  # the agent's own layer
    layers = view[:, l_cols]
    summary = np.concatenate([layers.mean(0), layers.min(0), layers.max(0)])
    np.testing.assert_allclose(gs[:, G + L :], np.broadcast_to(summary, (n, 3 * L)), rtol=1e-5, atol=1e-6)
    # Width independent of depth, and the summary does not depend on the layers' order.
    deeper = global_state(np.concatenate([view, view[::-1]]), g_cols, l_cols)
    assert deeper.shape == (2 * n, gs.shape[1])
    np.testing.assert_allclose(np.asarray(deeper)[:, G + L :], np.broadcast_to(summary, (2 * n, 3 * L)), rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- checkpoints
def _mava_like_checkpoint(path, policy, config, step=128, episode_return=0.25):
    """A checkpoint with Mava's on-disk layout, written with the installed orbax."""
    import orbax.checkpoint as ocp

    params = jax.tree_util.tree_map(np.asarray, policy.params)
    inner = dict(params["params"])
    inner["ScannedRNN_0"] = {"GRUCell_1": inner["ScannedRNN_0"]["GRUCell_0"]}  # Mava's cell name
    actor = {"params": inner}
    learner_state = {
        "params": {"actor_params": actor, "critic_params": {"params": {"Dense_0": {"bias": np.zeros(1, np.float32)}}}},
        "hstates": {"policy_hidden_state": np.zeros((2, 3, policy.hidden_state_dim), np.float32)},
        "key": np.zeros(2, np.uint32),
    }
    ocp.PyTreeCheckpointer().save(os.path.join(path, str(step), "default"), {"learner_state": learner_state})
    os.makedirs(os.path.join(path, str(step), "metrics"))
    with open(os.path.join(path, str(step), "metrics", "metrics"), "w") as f:
        json.dump({"episode_return": episode_return}, f)
    os.makedirs(os.path.join(path, "metadata"))
    with open(os.path.join(path, "metadata", "metadata"), "w") as f:
        json.dump({"checkpointer_version": 1.0, **config}, f)


def _mava_config(**env_kwargs):
    torso = {"_target_": "mava.networks.torsos.MLPTorso", "activation": "relu", "use_layer_norm": False}
    return {
        "env": {
            "env_name": "GANNO",
            "implicit_agent_id": True,
            "kwargs": {"features": "full", "lr_max": 0.1, "difference_reward": True, **env_kwargs},
            "scenario": {"name": "GANNO-v0", "task_name": "mlp2-digits", "env_kwargs": {"network": "mlp2"}},
        },
        "network": {
            "hidden_state_dim": 32,
            "actor_network": {"pre_torso": {**torso, "layer_sizes": [48]}, "post_torso": {**torso, "layer_sizes": [24]}},
        },
        "system": {"add_agent_id": 0, "num_agents": 3},
        "logger": {"system_name": "rec_ippo"},
    }


@pytest.fixture(scope="module")
def mava_run(tmp_path_factory, request):
    from mava_ganno.env.actions import DEFAULT_ACTION_TABLE
    from mava_ganno.env.observations import FEATURE_SETS
    from mava_ganno.policy import NetworkConfig, init_policy

    config = _mava_config()
    reference = init_policy(
        jax.random.PRNGKey(3), FEATURE_SETS["full"], DEFAULT_ACTION_TABLE, 0.1, NetworkConfig((48,), (24,), 32), obs_norm=False
    )
    path = str(tmp_path_factory.mktemp("checkpoints") / "rec_ippo" / "run")
    _mava_like_checkpoint(path, reference, config)
    return path, reference, config


def test_mava_checkpoint_loads_and_runs_on_any_depth(mava_run):
    from mava_ganno.mava.checkpoint import load_mava_policy

    path, reference, config = mava_run
    policy = load_mava_policy(path)
    assert policy.network.to_dict() == reference.network.to_dict()
    assert policy.feature_names == reference.feature_names and policy.action_table == reference.action_table
    assert policy.obs_norm is None
    for a, b in zip(jax.tree_util.tree_leaves(policy.params), jax.tree_util.tree_leaves(reference.params)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    meta = policy.metadata
    assert meta["source"] == "mava" and meta["step"] == 128 and meta["episode_return"] == 0.25
    assert meta["mava_config"]["network"]["hidden_state_dim"] == 32 and meta["single_agent"] is False
    # Same logits as the reference, on 3 layer agents (the training depth) and on 7.
    rng = np.random.default_rng(1)
    for n in (3, 7):
        view = jnp.asarray(rng.normal(size=(n, policy.obs_dim)), jnp.float32)
        mask, reset = jnp.ones((n, policy.action_dim), bool), jnp.ones((n,), bool)
        h0 = policy.init_hidden(n)
        h_got, got = policy.logits(h0, view, mask, reset)
        h_want, want = reference.logits(h0, view, mask, reset)
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(np.asarray(h_got), np.asarray(h_want), rtol=1e-6, atol=1e-6)
        assert got.shape == (n, policy.action_dim) and h_got.shape == (n, 32)


def test_mava_checkpoint_step_selection_and_errors(mava_run, tmp_path):
    from mava_ganno.mava.checkpoint import load_mava_policy, policy_from_mava, resolve_step

    path, reference, config = mava_run
    assert resolve_step(path, "best") == resolve_step(path, "latest") == resolve_step(path, "128") == 128
    with pytest.raises(ValueError, match=r"step 5 is not saved.*\[128\]"):
        resolve_step(path, 5)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mava_policy(str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match=r"holds runs \['run'\]: pass one of them"):
        load_mava_policy(os.path.dirname(path))
    actor = {"params": {"ScannedRNN_0": {"GRUCell_1": {}}}}
    with_ids = _mava_config()
    with_ids["system"]["add_agent_id"], with_ids["env"]["implicit_agent_id"] = 1, False
    with pytest.raises(ValueError, match="one-hot agent ids"):
        policy_from_mava(actor, with_ids)
    cnn = _mava_config()
    cnn["network"]["actor_network"]["pre_torso"]["_target_"] = "mava.networks.torsos.CNNTorso"
    with pytest.raises(ValueError, match="CNNTorso.*network=rnn"):
        policy_from_mava(actor, cnn)
    lbf = _mava_config()
    lbf["env"]["scenario"]["name"] = "LevelBasedForaging-v0"
    with pytest.raises(ValueError, match="not on GANNO"):
        policy_from_mava(actor, lbf)
    # A config whose features disagree with the saved parameters is caught, naming the shapes.
    lr_only = _mava_config(features="lr_only")
    params = jax.tree_util.tree_map(np.asarray, reference.params)
    inner = dict(params["params"])
    inner["ScannedRNN_0"] = {"GRUCell_1": inner["ScannedRNN_0"]["GRUCell_0"]}
    with pytest.raises(ValueError, match=r"does not match the config.*pre_torso"):
        policy_from_mava({"params": inner}, lr_only)


def test_evaluation_harness_finds_the_mava_loader(mava_run):
    from mava_ganno.evaluation.policies import describe_policy, load_policy_any

    path, reference, _ = mava_run
    policy = load_policy_any(path)
    assert policy.network == reference.network
    source = describe_policy(policy, path)
    assert source.label == "GANNO" and source.group == "ganno"
