"""Fail early, name the culprit, never lose finished work.

Unwritable outputs are found before any run; corrupt policy and checkpoint files name the file
and what is wrong; ``ganno evaluate`` turns user errors into one ``error:`` line (status 2);
non-finite values are refused where they enter; out-of-range actions never act as another
action. Every case is tiny (no training run, no evaluation run).
"""

from __future__ import annotations

import errno
import json
import math
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import serialization
from omegaconf import OmegaConf

from mava_ganno.env import observations as OBS
from mava_ganno.env.actions import DEFAULT_ACTION_TABLE, ActionTable, parse_action
from mava_ganno.env.generator import InitialConditionsGenerator
from mava_ganno.evaluation import cli as CLI
from mava_ganno.evaluation import records as REC
from mava_ganno.evaluation import store
from mava_ganno.optimiser import ganno_adamw
from mava_ganno.policy import NetworkConfig, init_policy, load_policy, save_policy
from mava_ganno.policy import io as policy_io
from mava_ganno.policy.io import PolicyFileError
from mava_ganno.systems import rec_ippo, resume
from mava_ganno.train import compose_config
from mava_ganno.utils import checkpointing
from mava_ganno.utils import make_env as environments
from mava_ganno.utils.config import ConfigError, check_config
from tests.test_rec_ippo import TINY

TINY_ARGS = ["--scenario", "mlp2-digits", "--tau", "5", "--sl-steps", "20", "--hidden", "16", "--seeds", "1",
             "--lrs", "1e-3", "--weight-decays", "0.1", "--methods", "constant", "--no-random", "--no-figures"]


def _unwritable(tmp_path) -> str:
    """A folder that cannot be created, even by root: its parent is a regular file."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    return str(blocker / "out")


def _no_compute(*args, **kwargs):
    raise AssertionError("the run started although an input/output check should have failed first")


@pytest.fixture(scope="module")
def saved_policy(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("policy") / "policy")
    p = init_policy(jax.random.PRNGKey(0), OBS.FEATURE_SETS["full"], ("+0", "*1.1", "/1.1"), 0.1,
                    network=NetworkConfig((8,), (8,), 8))
    save_policy(d, p)
    return d, p


def _cli_error(argv, capsys) -> str:
    """Run ``ganno evaluate argv``; it must exit with status 2 after one ``error:`` line."""
    with pytest.raises(SystemExit) as e:
        CLI.main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


# ----------------------------------------------------------------------------- 1. outputs
def test_evaluate_unwritable_out_fails_before_any_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(CLI, "evaluate", _no_compute)
    out = _unwritable(tmp_path)
    line = _cli_error(TINY_ARGS + ["--out", out], capsys)
    assert out in line and "choose another --out" in line
    assert not os.path.exists(out)


def test_train_unwritable_base_exp_path_fails_before_building(tmp_path, monkeypatch):
    """With save_model=False the final save_policy still writes under base_exp_path: checked first."""
    monkeypatch.setattr(environments, "make_groups", _no_compute)
    base = _unwritable(tmp_path)
    cfg = compose_config(TINY + [f"logger.base_exp_path={base}", "logger.checkpointing.save_model=False",
                                 "system.num_updates=2"])
    with pytest.raises(ConfigError, match="logger.base_exp_path") as e:
        rec_ippo.run_experiment(cfg, verbose=False)
    assert base in str(e.value) and "writable" in str(e.value)


def _full_disk_open(real_open, when):
    def fake_open(path, mode="r", *args, **kwargs):
        if any(c in mode for c in "wa") and when(str(path)):
            raise OSError(errno.ENOSPC, "No space left on device")  # like write(): no file name
        return real_open(path, mode, *args, **kwargs)
    return fake_open


def test_full_disk_when_saving_a_policy_names_the_path(tmp_path, monkeypatch, saved_policy):
    monkeypatch.setattr(policy_io, "open", _full_disk_open(open, lambda p: p.endswith("params.msgpack")), raising=False)
    target = str(tmp_path / "run" / "policy")
    with pytest.raises(OSError) as e:
        save_policy(target, saved_policy[1])
    assert e.value.errno == errno.ENOSPC and target in str(e.value)
    assert os.listdir(tmp_path / "run") == []  # no partial folder, no temporary folder


def _tiny_evaluation() -> REC.Evaluation:
    sc = REC.make_scenario("mlp2-digits", tau=5, sl_steps=10)
    z = np.zeros((1, 3))
    rs = REC.RunSet("constant", "Constant", "handcrafted", "", np.array([1e-3]), np.array([0.1]), np.array([0]),
                    np.array([0, 5, 10]), z + 0.5, z + 0.5, z + 1.0, np.full((1, 2, 1), 1e-3), np.array([False]))
    return REC.Evaluation(sc, (1e-3,), (0.1,), (0,), [rs], {})


def test_full_disk_when_writing_results_names_the_file_and_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    ev, out = _tiny_evaluation(), tmp_path / "results" / "tiny"
    assert {os.path.basename(f) for f in store.write_all(ev, str(out), figures=False)} >= {"table.csv", "config.json"}
    before = {f: (out / f).read_bytes() for f in os.listdir(out)}
    (out / "notes.txt").write_text("mine")
    monkeypatch.setattr(store, "open", _full_disk_open(open, lambda p: p.endswith("config.json")), raising=False)
    with pytest.raises(OSError) as e:
        store.write_all(ev, str(out), figures=False, command=["again"])
    assert e.value.errno == errno.ENOSPC and str(out / "config.json") in str(e.value)
    assert {f: (out / f).read_bytes() for f in before} == before and (out / "notes.txt").read_text() == "mine"
    assert sorted(os.listdir(out.parent)) == ["tiny"]  # no temporary folder left


def test_evaluate_keeps_the_results_when_the_output_fails_after_the_runs(tmp_path, monkeypatch, capsys):
    import shutil

    monkeypatch.setattr(CLI, "evaluate", lambda *a, **k: _tiny_evaluation())
    out = str(tmp_path / "out")
    monkeypatch.setattr(store, "open", _full_disk_open(open, lambda p: p.startswith(out)), raising=False)
    line = _cli_error(TINY_ARGS + ["--out", out], capsys)
    rescue = line.rsplit("written to ", 1)[1].split("/ instead")[0]
    try:
        assert "No space left on device" in line and out in line
        assert {"table.csv", "config.json"} <= set(os.listdir(rescue))
    finally:
        shutil.rmtree(rescue, ignore_errors=True)


# ----------------------------------------------------------------------------- 2. policy files
def _corrupt(src, dst, what):
    import shutil

    shutil.copytree(src, dst)
    cfg_path, params_path = os.path.join(dst, "policy.json"), os.path.join(dst, "params.msgpack")
    cfg = json.load(open(cfg_path))
    blob = open(params_path, "rb").read()
    if what == "truncated params":
        open(params_path, "wb").write(blob[: len(blob) // 2])
        return params_path, "truncated or corrupt"
    if what == "binary policy.json":
        open(cfg_path, "wb").write(b"\xff\xfe\x00\x01garbage")
        return cfg_path, "not a text file"
    if what == "garbage policy.json":
        open(cfg_path, "w").write("{ not json")
        return cfg_path, "not valid JSON"
    if what == "list policy.json":
        open(cfg_path, "w").write("[1, 2]")
        return cfg_path, "got a JSON list"
    if what == "unknown network key":
        cfg["network"]["dropout"] = 0.1
        json.dump(cfg, open(cfg_path, "w"))
        return cfg_path, "unknown key(s) ['dropout'] in 'network'"
    if what == "wrong kernel shape":
        state = serialization.msgpack_restore(blob)
        kernel = state["actor"]["params"]["pre_torso"]["Dense_0"]["kernel"]
        state["actor"]["params"]["pre_torso"]["Dense_0"]["kernel"] = np.zeros((kernel.shape[0], 9), np.float32)
        open(params_path, "wb").write(serialization.msgpack_serialize(state))
        return params_path, "['pre_torso']['Dense_0']['kernel'] has shape"
    if what == "config of another network":
        cfg["network"]["hidden_state_dim"] = 16
        json.dump(cfg, open(cfg_path, "w"))
        return params_path, "needs"
    raise AssertionError(what)


CORRUPTIONS = ["truncated params", "binary policy.json", "garbage policy.json", "list policy.json",
               "unknown network key", "wrong kernel shape", "config of another network"]


@pytest.mark.parametrize("what", CORRUPTIONS)
def test_a_corrupt_policy_names_the_file_and_the_problem(what, tmp_path, saved_policy):
    bad = str(tmp_path / "bad")
    path, problem = _corrupt(saved_policy[0], bad, what)
    with pytest.raises(PolicyFileError) as e:
        load_policy(bad)
    assert path in str(e.value) and problem in str(e.value), str(e.value)


def test_evaluate_with_a_corrupt_policy_is_one_clean_line(tmp_path, monkeypatch, capsys, saved_policy):
    monkeypatch.setattr(CLI, "evaluate", _no_compute)
    path, _ = _corrupt(saved_policy[0], str(tmp_path / "bad"), "wrong kernel shape")
    line = _cli_error(TINY_ARGS + ["--out", str(tmp_path), "--policy", str(tmp_path / "bad")], capsys)
    assert path in line
    assert _cli_error(TINY_ARGS + ["--policy", str(tmp_path / "missing")], capsys).endswith(
        "(<run>/policy, with policy.json + params.msgpack) or a Mava checkpoint run directory (<step>/ folders and metadata/, "
        "as in checkpoints/<system>/<uid>).")


# ----------------------------------------------------------------------------- 3. resume
@pytest.fixture
def two_checkpoints(tmp_path):
    cfg = check_config(compose_config(TINY + [f"logger.base_exp_path={tmp_path}", "system.num_updates=2",
                                              "logger.checkpointing.save_args.checkpoint_uid=r"]), 1)
    run_dir = os.path.join(checkpointing.checkpoint_root(str(tmp_path), "rec_ippo"), "r")
    ck = checkpointing.Checkpointer(run_dir, {"config": OmegaConf.to_container(cfg, resolve=True)}, max_to_keep=None)
    state = {"w": np.arange(4, dtype=np.float32)}
    for step in (1, 2):
        ck.save(step, step * 10, state, {"eval_key": [0, step]})
    cfg.logger.checkpointing.load_model = True
    return cfg, [p for _, p in checkpointing.list_checkpoints(run_dir)], state


def _truncate(ckpt):
    path = os.path.join(ckpt, checkpointing.STATE_FILE)
    blob = open(path, "rb").read()
    open(path, "wb").write(blob[: len(blob) // 2])
    return path


def test_resume_skips_a_truncated_last_checkpoint(two_checkpoints, capsys):
    cfg, (first, last), state = two_checkpoints
    _truncate(last)
    point = resume.find_resume_point(cfg)
    assert point.path == first
    err = capsys.readouterr().err
    assert "warning" in err and last in err and first in err
    restored, meta = checkpointing.restore(point.path, state)
    np.testing.assert_array_equal(restored["w"], state["w"])
    with pytest.raises(checkpointing.CheckpointFileError, match=os.path.join(last, checkpointing.STATE_FILE)):
        checkpointing.restore(last, state)


def test_resume_with_no_intact_checkpoint_names_the_files(two_checkpoints):
    cfg, ckpts, _ = two_checkpoints
    bad = [_truncate(c) for c in ckpts]
    with pytest.raises(ConfigError, match="no intact checkpoint") as e:
        resume.find_resume_point(cfg)
    assert all(b in str(e.value) for b in bad)


def test_checkpoints_without_a_checksum_are_verified_by_parsing(two_checkpoints):
    _, (first, last), _ = two_checkpoints
    meta_path = os.path.join(last, checkpointing.META_FILE)
    meta = json.load(open(meta_path))
    del meta["state_sha256"], meta["state_bytes"]
    json.dump(meta, open(meta_path, "w"))
    assert checkpointing.verify(first) is None and checkpointing.verify(last) is None
    _truncate(last)
    assert "not a readable flax msgpack" in checkpointing.verify(last)


# ----------------------------------------------------------------------------- 4. evaluate CLI
@pytest.mark.parametrize("argv, culprit", [
    (["--scenario", "mlp5-mnist5k"], "unknown dataset 'mnist5k'"),
    (["--scenario", "transformer-digits"], "scenario 'transformer-digits': unknown network 'transformer'"),
    (["--scenario", "digits"], "scenario 'digits' is neither"),
    (["--lrs", "-1"], "--lrs: -1 is not a finite number >= 0"),
    (["--lrs", "1e-3,nan"], "--lrs: nan"),
    (["--weight-decays", "inf"], "--weight-decays: inf"),
    (["--tau", "0"], "--tau must be a positive integer"),
    (["--sl-steps", "-5"], "--sl-steps must be a positive integer"),
    (["--tau", "7"], "e.g. --sl-steps 14"),
    (["--methods", "cosin"], "unknown methods ['cosin']"),
    (["--modes", "argmax"], "policy modes ['argmax']"),
])
def test_evaluate_user_errors_are_one_clean_line(argv, culprit, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(CLI, "evaluate", _no_compute)
    line = _cli_error(TINY_ARGS + ["--out", str(tmp_path)] + argv, capsys)
    assert culprit in line, line
    if "--tau" in argv and "0" in argv:
        assert "--sl-steps 200" not in line


def test_evaluate_tfds_errors_are_short_and_name_the_dataset(tmp_path, monkeypatch, capsys):
    pytest.importorskip("tensorflow_datasets")
    monkeypatch.setattr(CLI, "evaluate", _no_compute)
    base = TINY_ARGS + ["--out", str(tmp_path), "--data-dir", str(tmp_path)]
    line = _cli_error(base + ["--scenario", "mlp2-tfds:fashon_mnist"], capsys)
    assert "tfds:fashon_mnist" in line and "did you mean tfds:fashion_mnist" in line and len(line) < 300
    line = _cli_error(base + ["--scenario", "mlp2-tfds:mnist"], capsys)
    assert "'mnist' is not prepared" in line and str(tmp_path) in line


def test_evaluate_exits_with_status_2_and_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "mava_ganno.evaluation.cli", "--scenario", "mlp5-mnist5k"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: unknown dataset 'mnist5k'")


# ----------------------------------------------------------------------------- 5. non-finite values
@pytest.mark.parametrize("kwargs, culprit", [
    (dict(lr=math.nan), "lr = nan"),
    (dict(lr=math.inf), "lr = inf"),
    (dict(lr=[1e-5, math.inf]), "lr = [1e-05, inf]"),
    (dict(weight_decay=math.nan), "weight_decay = nan"),
    (dict(weight_decay=[-math.inf, 1e-1]), "weight_decay = [-inf, 0.1]"),
    (dict(lr=True), "lr must be a number"),
])
def test_generator_refuses_non_finite_values(kwargs, culprit):
    with pytest.raises(ValueError) as e:
        InitialConditionsGenerator(**kwargs)
    assert culprit in str(e.value)


@pytest.mark.parametrize("entry, culprit", [
    ("*1e400", "not a finite float32"), ("+1e39", "not a finite float32"), ("-1e400", "not a finite float32"),
    ("/1e400", "rounds to 0"), ("*1e-50", "rounds to 0"),
])
def test_action_table_refuses_overflowing_entries(entry, culprit):
    with pytest.raises(ValueError, match=culprit) as e:
        ActionTable.from_strings(("+0", "*1.1", entry))
    assert f"entry 2 ('{entry}')" in str(e.value)
    assert parse_action("*1e38") == (1e38, 0.0)  # large but finite in float32 is fine


def test_ganno_adamw_refuses_non_finite_arguments(saved_policy):
    policy = saved_policy[1]
    for kwargs, culprit in [(dict(weight_decay=math.nan), "weight_decay"), (dict(weight_decay=math.inf), "weight_decay"),
                            (dict(lr_max=math.inf), "lr_max"), (dict(lr_max=math.nan), "lr_max"),
                            (dict(initial_lr=math.nan), "initial_lr")]:
        with pytest.raises(ValueError, match=culprit) as e:
            ganno_adamw(policy, total_steps=100, tau=10, **kwargs)
        assert "nan" in str(e.value) or "inf" in str(e.value)


@pytest.mark.parametrize("override, culprit", [
    ("env.scenario.env_kwargs.sl_steps=True", "sl_steps"),
    ("env.scenario.env_kwargs.tau=true", "tau"),
    ("+env.scenario.env_kwargs.lr_max=inf", "lr_max"),
    ("env.scenario.task_config.lr=nan", "lr = nan"),
    ("env.scenario.task_config.weight_decay=inf", "weight_decay = inf"),
])
def test_training_config_refuses_bools_and_non_finite_values(override, culprit, tmp_path):
    cfg = compose_config(TINY + [f"logger.base_exp_path={tmp_path}", override])
    with pytest.raises(ConfigError, match="env.scenario") as e:
        environments.make_groups(cfg)
    assert culprit in str(e.value)


# ----------------------------------------------------------------------------- 6. actions
def test_out_of_range_actions_raise_outside_jit():
    table = ActionTable.from_strings(DEFAULT_ACTION_TABLE)
    lr = jnp.full((3,), 1e-3, jnp.float32)
    for bad in (9, 100, -1):
        with pytest.raises(ValueError, match=rf"action {bad} \(at position 1 .*indices 0\.\.8"):
            table.apply(lr, jnp.array([0, bad, 2]), 0.1)
    np.testing.assert_allclose(table.apply(lr, np.array([2, 7, 8]), 0.1), [1.1e-3, 2e-3, 0.0], rtol=1e-6)


def test_out_of_range_actions_keep_the_lr_inside_jit():
    """Inside jit they act as the no-op (+0) -- never as the last or first entry."""
    table = ActionTable.from_strings(DEFAULT_ACTION_TABLE)
    apply = jax.jit(lambda lr, a: table.apply(lr, a, 0.1))
    lr = jnp.asarray([1e-3, 2e-3, 0.0, 5e-2, 1e-3], jnp.float32)
    bad = jnp.asarray([9, 100, -1, -(2**31), 2**31 - 1], jnp.int32)
    noop = jnp.full((5,), table.noop_index, jnp.int32)
    np.testing.assert_array_equal(apply(lr, bad), apply(lr, noop))
    np.testing.assert_array_equal(table.valid(bad), np.zeros(5, bool))
    valid = jnp.arange(5, dtype=jnp.int32) + 4
    np.testing.assert_array_equal(apply(lr, valid), table.apply(lr, np.asarray(valid), 0.1))


def test_an_out_of_range_action_in_a_jitted_env_step_is_the_noop(tiny_eval_env):
    env = tiny_eval_env.env
    state, _ = tiny_eval_env.reset(jax.random.PRNGKey(0))
    noop = jnp.full((env.num_agents,), env.action_table.noop_index, jnp.int32)
    s_noop, ts_noop = tiny_eval_env.step(state, noop)
    s_bad, ts_bad = tiny_eval_env.step(state, jnp.full((env.num_agents,), env.action_dim, jnp.int32))
    np.testing.assert_array_equal(s_bad.lrs, s_noop.lrs)
    np.testing.assert_array_equal(ts_bad.reward, ts_noop.reward)
    # ... and it is observed as the no-op too: the previous-action feature never shows a raw bad index
    np.testing.assert_array_equal(s_bad.prev_actions, s_noop.prev_actions)
    np.testing.assert_array_equal(ts_bad.observation.agents_view, ts_noop.observation.agents_view)
    for a, b in zip(jax.tree_util.tree_leaves(s_bad.train_state), jax.tree_util.tree_leaves(s_noop.train_state)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=f"action {env.action_dim} "):
        env.action_table.apply(state.lrs, np.full((env.num_agents,), env.action_dim), env.lr_max)
    # ... and counted, so a caller can see that its actions were not the table's
    assert int(ts_bad.extras["invalid_actions"]) == env.num_agents and int(ts_noop.extras["invalid_actions"]) == 0
    mixed = noop.at[0].set(-1)
    assert int(tiny_eval_env.step(state, mixed)[1].extras["invalid_actions"]) == 1
    assert int(tiny_eval_env.reset(jax.random.PRNGKey(0))[1].extras["invalid_actions"]) == 0
