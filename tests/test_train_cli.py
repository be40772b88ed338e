"""Training front-ends: the ganno dispatcher, logging backends (neptune offline), the main
job's zero-shot runner and figures."""

from __future__ import annotations

import json
import os

import jax
import numpy as np
import optax
import pytest
from omegaconf import OmegaConf

from mava_ganno import cli
from mava_ganno.policy import NetworkConfig, init_policy_for_env
from mava_ganno.train import compose_config
from mava_ganno.utils.logger import GannoLogger, JsonLogger, LogEvent, ProgressBar


def test_dispatcher(capsys):
    cli.main(["--help"])
    out = capsys.readouterr().out
    assert "train" in out and "main" in out
    with pytest.raises(SystemExit) as e:
        cli.main(["no-such-command"])
    assert e.value.code == 2
    called = {}
    import sys
    import types

    mod = types.ModuleType("_ganno_test_cmd")
    mod.run = lambda argv: called.setdefault("argv", argv)
    sys.modules["_ganno_test_cmd"] = mod
    cli.register("hello", "_ganno_test_cmd:run", "test command")
    try:
        cli.main(["hello", "a=1", "--flag"])
    finally:
        cli.COMMANDS.pop("hello")
        cli.HELP.pop("hello")
    assert called["argv"] == ["a=1", "--flag"]


def test_console_and_json_logging(tmp_path, capsys):
    cfg = compose_config([f"logger.base_exp_path={tmp_path}", "logger.use_json=True"])
    logger = GannoLogger(cfg, "uid1")
    logger.log({"update": 1, "timestep": 128, "episode_return": 0.25, "entropy": 2.19}, 128, 0, LogEvent.TRAIN, summarise=False)
    logger.log({"episode_return": np.array([1.0, 2.0]), "steps_per_second": 100.0}, 128, 0, LogEvent.EVAL)
    logger.log({"episode_return": np.array([3.0])}, 256, 1, LogEvent.ABSOLUTE)
    logger.stop()
    out = capsys.readouterr().out
    assert "TRAINER - Update: 1 | Timestep: 128 | Episode return: 0.250 | Entropy: 2.190" in out
    assert "EVALUATOR - Episode return mean: 1.500" in out
    data = json.load(open(os.path.join(tmp_path, "json", "rec_ippo", "uid1", "metrics.json")))
    run = data["GANNO"]["mlp2-digits"]["rec_ippo"]["seed_42"]
    assert run["step_0"]["step_count"] == 128 and run["step_0"]["mean_episode_return"] == [1.5]
    assert run["step_0"]["steps_per_second"] == [100.0]
    assert run["absolute_metrics"]["mean_episode_return"] == [3.0]
    # a second logger on the same file (a resumed run) keeps the earlier steps
    JsonLogger(os.path.join(tmp_path, "json", "rec_ippo", "uid1"), "GANNO", "mlp2-digits", "rec_ippo", 42)
    data = json.load(open(os.path.join(tmp_path, "json", "rec_ippo", "uid1", "metrics.json")))
    assert "step_0" in data["GANNO"]["mlp2-digits"]["rec_ippo"]["seed_42"]
    bar = ProgressBar(100, enabled=True)
    bar.update(50, 10.0)
    bar.stop()


def test_neptune_offline_token_never_printed(tmp_path, monkeypatch, capsys):
    pytest.importorskip("neptune")
    monkeypatch.chdir(tmp_path)
    secret = "not-a-real-token-7f3a9c"
    monkeypatch.setenv("NEPTUNE_API_TOKEN", secret)
    monkeypatch.setenv("NEPTUNE_MODE", "offline")
    cfg = compose_config([f"logger.base_exp_path={tmp_path}", "logger.use_neptune=True", "logger.use_console=False"])
    logger = GannoLogger(cfg, "uid2")
    logger.log({"episode_return": np.array([1.0, 2.0])}, 128, 0, LogEvent.EVAL)
    logger.log({"entropy": 2.0, "total_loss": 0.5}, 128, 0, LogEvent.TRAIN)
    logger.stop()
    captured = capsys.readouterr()
    assert secret not in captured.out + captured.err
    offline = os.path.join(tmp_path, ".neptune")
    assert os.path.isdir(offline)
    blob = b""
    for root, _, files in os.walk(offline):
        for name in files:
            blob += open(os.path.join(root, name), "rb").read()
    assert b"episode_return" in blob and secret.encode() not in blob
    # online mode without a token: a clear error, nothing printed
    monkeypatch.delenv("NEPTUNE_MODE")
    monkeypatch.delenv("NEPTUNE_API_TOKEN")
    with pytest.raises(ValueError, match="NEPTUNE_API_TOKEN"):
        GannoLogger(cfg, "uid3")


def test_zero_shot_runner_and_figures(tiny_eval_env, tmp_path):
    from mava_ganno import main_job

    env = tiny_eval_env.env
    policy = init_policy_for_env(env, jax.random.PRNGKey(0), network=NetworkConfig((16,), (16,), 8))
    lrs = [1e-3, 1e-2]
    res = main_job.zero_shot(policy, env, lrs, seeds=[0], weight_decay=0.1)
    T, L = env.time_limit, env.num_layers
    for method in ("ganno", "constant", "cosine"):
        r = res[method]
        assert r["test_accuracy"].shape == (1, 2, T + 1) and r["lrs"].shape == (1, 2, T, L)
        # the same initialisation for every method
        np.testing.assert_allclose(r["test_accuracy"][:, :, 0], res["constant"]["test_accuracy"][:, :, 0])
    np.testing.assert_allclose(res["constant"]["lrs"][0], np.broadcast_to(np.asarray(lrs)[:, None, None], (2, T, L)), rtol=1e-6)
    cos = res["cosine"]["lrs"][0, 0, :, 0]  # LR used for each env step
    assert cos[0] == pytest.approx(1e-3) and np.all(np.diff(cos) < 0)
    expected = [float(optax.cosine_decay_schedule(1e-3, T)(t)) for t in range(T)]
    np.testing.assert_allclose(cos, expected, rtol=1e-5)
    # the figures and the summary table
    main_job.figure_accuracy_curves(str(tmp_path / "acc.png"), res, lrs, env.tau)
    main_job.figure_layer_lrs_and_accuracy(str(tmp_path / "fig3.png"), {k: v[0, 0] for k, v in res["ganno"].items()}, env.tau, 1e-3, "t")
    main_job.figure_schedules_before_after(str(tmp_path / "fig2.png"), {k: v[0, 0] for k, v in res["ganno"].items()},
                                          {k: v[0, 1] for k, v in res["ganno"].items()}, env.tau, 1e-3)
    assert all(os.path.getsize(tmp_path / f) > 1000 for f in ("acc.png", "fig3.png", "fig2.png"))
    table = main_job.summary_table(res, lrs)
    assert table.count("\n") == 4 and "| ganno (trained here) |" in table


def test_main_job_runs_the_shipped_policy_beside_the_trained_one(tiny_eval_env, tmp_path, monkeypatch):
    """Step 2 adds the shipped policy's zero-shot runs (load_policy("default"): same runner,
    seeds and initial LRs, so the same initialisation as the other methods), a row in
    summary.md's table with a note saying what it is, and a curve in accuracy_curves.png."""
    from types import SimpleNamespace

    from mava_ganno import main_job
    from mava_ganno.policy import load_shipped_policy, policy_mode

    env = tiny_eval_env.env
    trained = init_policy_for_env(env, jax.random.PRNGKey(0), network=NetworkConfig((16,), (16,), 8))
    trained = trained.replace(metadata_json=json.dumps({"num_layers_trained_on": env.num_agents}))
    lrs = [1e-3, 1e-2]
    res = main_job.zero_shot(trained, env, lrs, seeds=[0], weight_decay=0.1, methods=("ganno", "constant"))
    assert list(res) == ["ganno", "constant"]
    tiny = ["env/scenario=mlp2-digits", "env.scenario.env_kwargs.tau=5", "env.scenario.env_kwargs.sl_steps=20",
            "env.scenario.env_kwargs.hidden=16"]  # the task of tiny_eval_env, as a config
    shipped = load_shipped_policy()
    modes = []  # the shipped policy runs in the mode its validation suite chose (greedy)
    zero_shot = main_job.zero_shot
    spy = lambda *a, **k: modes.append(a[5] if len(a) > 5 else k.get("greedy", False)) or zero_shot(*a, **k)  # noqa: E731
    monkeypatch.setattr(main_job, "zero_shot", spy)
    res[main_job.SHIPPED] = main_job.zero_shot_shipped(shipped, compose_config(tiny), lrs, [0], 0.1)
    monkeypatch.undo()
    assert modes == [True] and policy_mode(shipped) == shipped.metadata["validation_mode"] == "greedy"
    assert policy_mode(trained) == "sampled"  # no suite: as training acts
    T, L = env.time_limit, env.num_layers
    r = res[main_job.SHIPPED]
    assert r["test_accuracy"].shape == (1, 2, T + 1) and r["lrs"].shape == (1, 2, T, L)
    np.testing.assert_allclose(r["test_accuracy"][:, :, 0], res["constant"]["test_accuracy"][:, :, 0])  # same init
    assert np.all(np.isfinite(r["lrs"])) and not r["diverged"].any()
    table = main_job.summary_table(res, lrs)
    assert [row.split("|")[1].strip() for row in table.splitlines()[2:]] == [
        "ganno (trained here)", "constant", "ganno (shipped default)"]
    main_job.figure_accuracy_curves(str(tmp_path / "acc.png"), res, lrs, env.tau)
    assert os.path.getsize(tmp_path / "acc.png") > 1000
    history = [{"timestep": 1, "episode_return": 0.1, "final_val_accuracy": 0.5, "entropy": 2.0, "action_probs": [0.1] * 9}]
    fake = SimpleNamespace(policy=trained, history=history, total_timesteps=1, num_updates=1)
    text = main_job.summary_text("r", str(tmp_path), compose_config(tiny), fake, env, "mlp2-digits", res, lrs, [0], [],
                                 {"train": 1.0, "eval": 1.0, "total": 2.0}, shipped)
    assert "| ganno (shipped default) |" in text and "`load_policy(\"default\")`" in text
    meta = shipped.metadata  # the note names the shipped run from its metadata, never '?'
    if meta.get("source") == "behaviour_cloning":
        how = f"cloned from {meta['sequences']} demonstration sequences, no RL"
    else:  # RL, and from a clone when the metadata names one
        how = f"{meta['total_timesteps']} timesteps" + (" of RL from a behaviour-cloned start" if meta.get("init_policy") else "")
    assert all(part in text for part in (f"run {meta['run']!r} on {meta['scenario']}",
                                         f"{how}, features robust", "MODEL_CARD.md",
                                         "initial LRs, greedy (the mode its validation suite chose)"))
    assert "?" not in main_job._shipped_note(shipped)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--eval-scenario", "mlp5-mnist5k"], "Available options in 'env/scenario': cnn2-digits"),  # a typo: the names
        (["env/scenario=nope"], "Could not find 'env/scenario/nope'"),
        (["system.no_such_key.x=1"], "system.no_such_key.x is not a config key"),
        (["+system.totl_timesteps=100"], "system.totl_timesteps is not a config key; did you mean system.total_timesteps?"),
        (["--lrs=-1"], "--lrs [-1.0]: initial LRs must be finite and > 0"),
        (["--seeds", "1,1"], "give distinct seeds"),
        (["--timesteps", "0"], "--timesteps 0 must be positive"),
    ],
)
def test_main_job_rejects_bad_input_before_training(tmp_path, capsys, argv, expected):
    """User errors end the main job at once, with exit status 2, one line naming the bad
    value, and nothing written: no traceback after minutes of training."""
    from mava_ganno import main_job

    with pytest.raises(SystemExit) as e:
        main_job.main(["--out", str(tmp_path), "--run", "r", *argv])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err and sum("error" in ln.lower() for ln in err.splitlines()) == 1
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "scenario, networks",
    [
        ("pool-8x8", {"mlp1", "mlp2", "mlp3", "mlp4", "cnn1", "cnn2"}),
        ("pool-deep", {"mlp1", "mlp2", "mlp3", "mlp5", "mlp6", "cnn1", "cnn2"}),
        ("pool-deep-28", {"mlp1", "mlp2", "mlp3", "mlp5", "mlp6", "cnn1", "cnn2", "cnn3"}),
        ("pool-deep-28-vit", {"mlp1", "mlp2", "mlp3", "mlp5", "mlp6", "cnn1", "cnn2", "cnn3", "vit1", "vit2"}),
        ("pool-deep-28-frame", {"mlp1", "mlp2", "mlp3", "mlp5", "mlp6", "cnn1", "cnn2", "cnn3", "vit1", "vit2"}),
        ("pool-deep-28-frame-lm", {"mlp1", "mlp2", "mlp3", "mlp5", "mlp6", "cnn1", "cnn2", "cnn3", "vit1", "vit2", "lm2"}),
    ],
)
def test_pool_scenario_is_a_task_distribution_without_evaluation_data(scenario, networks):
    """Pools: groups of MLPs of several depths and CNNs, only training-pool datasets, and a
    wide initial-LR range (up to 0.1, where pool tasks collapse); a validation suite of other
    datasets, also never evaluation data."""
    from mava_ganno.backend.task_pool import check_training_pool
    from mava_ganno.utils.config import num_groups, task_groups

    cfg = compose_config([f"env/scenario={scenario}"])
    groups = task_groups(cfg)
    assert num_groups(cfg) == len(groups) >= 6
    base = OmegaConf.to_container(cfg.env.scenario.env_kwargs)
    kw = [{**base, **g.get("env_kwargs", {})} for g in groups.values()]
    check_training_pool({k["dataset"] for k in kw} | {base["dataset"]})  # raises for mnist_5k / tfds:
    assert {k["network"] for k in kw} >= networks
    assert max(cfg.env.scenario.task_config.lr) >= 0.1
    val = OmegaConf.to_container(cfg.env.scenario.validation.tasks)
    val_data = {t["env_kwargs"]["dataset"] for t in val.values()}
    check_training_pool(val_data)  # the validation suite is held out from training, not evaluation data
    assert not val_data & {k["dataset"] for k in kw}
    if scenario.startswith("pool-deep"):  # deep and wide groups, and a suite deeper than any of them, in both modes
        depth = lambda k: int(k["network"][3:]) if k["network"].startswith("mlp") else 0  # noqa: E731
        assert any(depth(k) >= 5 and k["hidden"] >= 256 for k in kw)
        assert max(depth({**base, **t["env_kwargs"]}) for t in val.values()) > max(depth(k) for k in kw)
        assert list(cfg.env.scenario.validation.modes) == ["sampled", "greedy"]
    if scenario == "pool-deep-28":  # pool-deep's groups and suite, plus 784-input MLPs and a 3-layer CNN in both
        deep = compose_config(["env/scenario=pool-deep"])
        assert set(task_groups(deep)) < set(groups) and set(deep.env.scenario.validation.tasks) < set(val)
        assert OmegaConf.to_container(deep.env.scenario.validation) == {
            **OmegaConf.to_container(cfg.env.scenario.validation), "tasks": OmegaConf.to_container(deep.env.scenario.validation.tasks)}
        for where in (kw, [{**base, **t["env_kwargs"]} for t in val.values()]):
            assert any("dim=28x28" in k["dataset"] and k["network"].startswith("mlp") for k in where)
            assert any(k["network"] == "cnn3" for k in where)
    if scenario == "pool-deep-28-vit":  # pool-deep-28's groups and suite, plus ViTs (attention layers) in both
        d28 = compose_config(["env/scenario=pool-deep-28"])
        assert set(task_groups(d28)) < set(groups) and set(d28.env.scenario.validation.tasks) < set(val)
        new_groups = [{**base, **g.get("env_kwargs", {})} for n, g in groups.items() if n not in task_groups(d28)]
        new_tasks = [{**base, **t["env_kwargs"]} for n, t in val.items() if n not in d28.env.scenario.validation.tasks]
        assert new_groups and new_tasks and all(k["network"].startswith("vit") for k in new_groups + new_tasks)
    if scenario == "pool-deep-28-frame":  # pool-deep-28-vit's groups and suite, plus MLPs on framed 28x28 digits in both
        vit = compose_config(["env/scenario=pool-deep-28-vit"])
        assert set(task_groups(vit)) < set(groups) and set(vit.env.scenario.validation.tasks) < set(val)
        new_groups = [{**base, **g.get("env_kwargs", {})} for n, g in groups.items() if n not in task_groups(vit)]
        new_tasks = [{**base, **t["env_kwargs"]} for n, t in val.items() if n not in vit.env.scenario.validation.tasks]
        for k in new_groups + new_tasks:
            assert k["network"].startswith("mlp") and k["dataset"].startswith("digits:") and "size=28" in k["dataset"]
        assert len(new_groups) == 3 and len(new_tasks) == 1
    if scenario == "pool-deep-28-frame-lm":  # pool-deep-28-frame's groups and suite, plus byte-level LMs on babble text in both
        frame = compose_config(["env/scenario=pool-deep-28-frame"])
        assert set(task_groups(frame)) < set(groups) and set(frame.env.scenario.validation.tasks) < set(val)
        new = [{**base, **g.get("env_kwargs", {})} for n, g in groups.items() if n not in task_groups(frame)]
        new += [{**base, **t["env_kwargs"]} for n, t in val.items() if n not in frame.env.scenario.validation.tasks]
        assert len(new) == 3 and all(k["network"] == "lm2" and k["dataset"].startswith("babble:") for k in new)
        from mava_ganno.backend.datasets import load_dataset

        assert all(load_dataset(k["dataset"]).kind == "tokens" for k in new)


def test_main_job_rejects_an_unwritable_out_before_training(tmp_path, capsys):
    from mava_ganno import main_job

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit) as e:
        main_job.main(["--out", str(blocker / "results"), "--run", "r"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"cannot write to {blocker / 'results'}" in err and "choose another --out" in err and "Traceback" not in err


def test_ganno_train_leaves_no_files_in_the_working_directory(tmp_path):
    """Hydra's default job logging writes an empty <job>.log into the working directory (run
    dir '.'); the config logs to the console only. A config error exits 2 with one line."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "mava_ganno.train", "system.num_minibatches=3"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "system.num_minibatches" in proc.stderr + proc.stdout
    assert sorted(os.listdir(tmp_path)) == []
