"""Results are durable (``ganno evaluate``): a results folder is replaced whole and only by a
complete run, a run in progress keeps its finished groups beside it and a rerun reuses them, one
writer per folder, clean ends on SIGTERM / Ctrl-C, unique policy labels, and a command that would
run nothing is refused."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from mava_ganno.evaluation import cli as CLI
from mava_ganno.evaluation import store

TINY = ["--scenario", "mlp2-digits", "--tau", "20", "--sl-steps", "100", "--hidden", "16", "--lrs", "1e-3",
        "--weight-decays", "0.1", "--seeds", "1", "--no-figures"]  # fmt: skip


def _main(argv, capsys):
    with pytest.raises(SystemExit) as e:
        CLI.main(argv)
    return e.value.code, capsys.readouterr().err


def test_two_policies_with_one_label_are_an_error_naming_both(tmp_path, capsys):
    code, err = _main(TINY + ["--policy", "default", "--policy", "default", "--out", str(tmp_path)], capsys)
    assert code == 2 and "two policies have the label 'GANNO (shipped default)'" in err and "--policy A=" in err
    assert not os.listdir(tmp_path)


def test_a_command_that_runs_nothing_is_refused(tmp_path, capsys):
    code, err = _main(TINY + ["--methods", "none", "--no-random", "--out", str(tmp_path)], capsys)
    assert code == 2 and "nothing to run" in err
    assert not os.listdir(tmp_path)


def test_a_locked_results_folder_is_refused_naming_the_holder(tmp_path, capsys):
    lock = tmp_path / ".mlp2-digits.lock"  # beside the folder, which a complete run replaces whole
    lock.write_text(f"{os.getppid()}\n")  # a live process that is not this one
    code, err = _main(TINY + ["--methods", "constant", "--no-random", "--out", str(tmp_path)], capsys)
    assert code == 2 and f"PID {os.getppid()}" in err and str(tmp_path / "mlp2-digits") in err
    assert sorted(os.listdir(tmp_path)) == [".mlp2-digits.lock"]  # nothing written, the holder's lock kept


def test_sigterm_ends_an_evaluation_with_one_line_and_exit_143(tmp_path):
    argv = [sys.executable, "-m", "mava_ganno.evaluation.cli", "--scenario", "mlp2-digits", "--tau", "100",
            "--sl-steps", "200000", "--lrs", "1e-3", "--weight-decays", "0.1", "--seeds", "1", "--methods", "constant",
            "--no-random", "--no-figures", "--out", str(tmp_path)]  # fmt: skip
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0, line = time.time(), ""
    while "[evaluate] mlp2-digits" not in line and time.time() - t0 < 120:
        line = p.stdout.readline()
        assert line or p.poll() is None, p.stderr.read()
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 143, err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"SIGTERM: {tmp_path / 'mlp2-digits'}/ was not written") and "Traceback" not in err
    assert "run the same command again to resume" in last and str(tmp_path / "mlp2-digits.partial") in last
    assert sorted(os.listdir(tmp_path)) == []  # no lock left, no results folder, nothing finished to keep


# ============================================================================ resume and reuse
THREE_GROUPS = TINY + ["--methods", "constant,prodigy"]  # the schedule bank, Prodigy, the random agent


def _stop_after_groups(monkeypatch, n):
    """Interrupt the run (as Ctrl-C would) right after its n-th group of runs is stored."""
    real, done = store.RunCache.put, []

    def put(self, *a, **k):
        path = real(self, *a, **k)
        done.append(path)
        if len(done) == n:
            raise KeyboardInterrupt
        return path

    monkeypatch.setattr(store.RunCache, "put", put)


def _files(folder):
    return {name: open(os.path.join(folder, name), "rb").read() for name in ("table.csv", "curves.csv", "layer_lrs.csv")}


def test_an_interrupted_evaluation_resumes_with_only_the_unfinished_group(tmp_path, capsys, monkeypatch):
    CLI.main(THREE_GROUPS + ["--out", str(tmp_path / "whole")])
    assert "reused 0 of 3 groups" in capsys.readouterr().out

    out = tmp_path / "resumed"
    with monkeypatch.context() as m:
        _stop_after_groups(m, 2)
        code, err = _main(THREE_GROUPS + ["--out", str(out)], capsys)
    assert code == 130 and "Traceback" not in err
    assert sorted(os.listdir(out)) == ["mlp2-digits.partial"]  # no results folder until the run completes
    partial = out / "mlp2-digits.partial"
    assert len(os.listdir(partial / "runs")) == 2
    assert json.load(open(partial / "config.json"))["complete"] is False  # the tables of the first group

    CLI.main(THREE_GROUPS + ["--out", str(out)])
    log = capsys.readouterr().out
    assert "reused 2 of 3 groups of runs finished before; ran 1" in log and log.count("runs reused") == 2
    assert sorted(os.listdir(out)) == ["mlp2-digits"]  # the partial folder goes once the results are complete
    assert _files(out / "mlp2-digits") == _files(tmp_path / "whole" / "mlp2-digits")  # as if never interrupted
    assert len(os.listdir(out / "mlp2-digits" / "runs")) == 3

    CLI.main(THREE_GROUPS + ["--out", str(out)])  # the same command once more: nothing recomputed
    assert "reused 3 of 3 groups" in capsys.readouterr().out


def test_an_interrupted_rerun_never_touches_the_complete_results(tmp_path, capsys, monkeypatch):
    out = tmp_path / "r"
    CLI.main(TINY + ["--methods", "constant", "--no-random", "--out", str(out)])
    folder = out / "mlp2-digits"
    before = {name: open(folder / name, "rb").read() for name in os.listdir(folder) if name != "runs"}
    (folder / "stale.txt").write_text("not of this run")
    capsys.readouterr()
    changed = TINY[:-5] + ["--lrs", "1e-3,3e-3", "--seeds", "1", "--no-figures"]  # a changed grid
    with monkeypatch.context() as m:
        _stop_after_groups(m, 1)
        code, err = _main(changed + ["--methods", "constant", "--out", str(out)], capsys)
    assert code == 130 and f"{folder}/ is unchanged" in err
    assert {name: open(folder / name, "rb").read() for name in before} == before and (folder / "stale.txt").exists()

    CLI.main(changed + ["--methods", "constant", "--out", str(out)])  # completes: the folder is replaced whole
    assert "reused 1 of 2 groups" in capsys.readouterr().out
    assert not (folder / "stale.txt").exists() and not (out / "mlp2-digits.partial").exists()
    rows = store.read_table_csv(str(folder / "table.csv"))
    assert sorted({r["initial_lr"] for r in rows if r["method"] == "constant"}) == [1e-3, 3e-3]


def test_a_changed_input_is_not_reused(tmp_path, capsys):
    out = str(tmp_path)
    CLI.main(TINY + ["--methods", "constant", "--no-random", "--out", out])
    capsys.readouterr()
    CLI.main(TINY[:-1] + ["--weight-decays", "0.01", "--no-figures", "--methods", "constant", "--no-random", "--out", out])
    assert "reused 0 of 1 groups" in capsys.readouterr().out


# ============================================================================ a full disk
@pytest.fixture
def small_fs(tmp_path):
    """Mounts small tmpfs file systems (``small_fs(name, size)``), unmounted afterwards; skipped
    where mounting is not allowed (it needs root: CI runs as root)."""
    mounts = []

    def mount(name: str, size: str = "512k"):
        folder = tmp_path / name
        folder.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, text=True)
        if r.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
        mounts.append(folder)
        return folder

    yield mount
    for folder in mounts:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _fill(folder):
    """Fill the file system of ``folder`` up to its last byte."""
    with open(folder / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass


def _filling_after_the_runs(monkeypatch, folder):
    real = CLI.evaluate

    def run_then_fill(*a, **k):
        ev = real(*a, **k)
        _fill(folder)
        return ev

    monkeypatch.setattr(CLI, "evaluate", run_then_fill)


def _leftovers(*folders):
    return [os.path.join(d, n) for d in folders for n in os.listdir(d) if n.startswith(("ganno-evaluate-", ".ganno-write-probe"))]


def test_the_write_probe_leaves_nothing_on_a_full_disk(small_fs):
    from mava_ganno.policy.io import ensure_writable_dir

    fs = small_fs("fs")
    _fill(fs)
    with pytest.raises(OSError, match="cannot write to .*No space left on device"):
        ensure_writable_dir(str(fs), "choose another --out.")
    assert os.listdir(fs) == ["filler"]


def test_results_that_cannot_be_written_go_to_a_rescue_folder_on_another_disk(small_fs, tmp_path, monkeypatch, capsys):
    fs = small_fs("fs")
    (fs / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(fs / "tmp"))  # $TMPDIR on the full disk too
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    _filling_after_the_runs(monkeypatch, fs)
    code, err = _main(TINY[:-1] + ["--methods", "constant", "--no-random", "--out", str(fs / "out")], capsys)
    assert code == 2 and "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"error: could not write {fs / 'out' / 'mlp2-digits'}: No space left on device")
    rescue = [work / n for n in os.listdir(work) if n.startswith("ganno-evaluate-")]
    assert len(rescue) == 1 and f"written to {rescue[0]}/ instead." in line
    assert {"table.csv", "config.json", "fig_test_accuracy.png"} <= set(os.listdir(rescue[0]))
    assert "same command writes the results without rerunning them" in line  # its groups are on the full disk
    assert not _leftovers(fs, fs / "tmp")


def test_when_nothing_can_be_written_the_table_is_printed(small_fs, monkeypatch, capsys):
    fs = small_fs("fs")
    for d in ("tmp", "home", "work"):
        (fs / d).mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(fs / "tmp"))
    monkeypatch.setenv("HOME", str(fs / "home"))
    monkeypatch.chdir(fs / "work")
    _filling_after_the_runs(monkeypatch, fs)
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        CLI.main(TINY + ["--methods", "constant", "--no-random", "--out", str(fs / "out")])
    out, err = capsys.readouterr()
    assert e.value.code == 2 and "Traceback" not in err
    assert "nothing could be saved" in err and "the table is printed above" in err
    assert "| Constant |" in out  # the table, on the console
    assert not _leftovers(fs / "tmp", fs / "home", fs / "work")


def test_figures_are_dropped_before_the_results(small_fs, tmp_path, monkeypatch, capsys):
    fs, rescue_fs = small_fs("fs"), small_fs("rescue", "32k")  # room for the tables, not the figures
    monkeypatch.setattr(tempfile, "tempdir", str(rescue_fs))
    _filling_after_the_runs(monkeypatch, fs)
    code, err = _main(TINY[:-1] + ["--methods", "constant", "--no-random", "--out", str(fs / "out")], capsys)
    assert code == 2 and "without figures: there was no room for them" in err
    (rescue,) = [rescue_fs / n for n in os.listdir(rescue_fs) if n.startswith("ganno-evaluate-")]
    assert "table.csv" in os.listdir(rescue) and not any(n.endswith(".png") for n in os.listdir(rescue))


# ============================================================================ strict configs
@pytest.mark.parametrize("override, line", [
    ("+system.totl_timesteps=100", "Config error: system.totl_timesteps is not a config key; did you mean system.total_timesteps?"),
    ("+arch.num_env=0", "Config error: arch.num_env is not a config key; did you mean arch.num_envs?"),
    ("+env.kwargs.tau=-5", "Config error: env.kwargs.tau=-5 and env.scenario.env_kwargs.tau=100 (mlp2-digits) both set tau; "
                           "the scenario's env_kwargs define the task: override env.scenario.env_kwargs.tau instead."),
    ("system.totl_timesteps=100", "Config error: system.totl_timesteps is not a config key"),  # Hydra's own refusal, on one line
    ("env/scenario=nope", "Config error: In 'env/ganno': Could not find 'env/scenario/nope' Available options"),
])  # fmt: skip
def test_train_refuses_unknown_and_conflicting_keys_with_one_line(override, line, tmp_path):
    p = subprocess.run([sys.executable, "-m", "mava_ganno.train", override, f"logger.base_exp_path={tmp_path}"],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)  # fmt: skip
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(line), p.stderr
    assert os.listdir(tmp_path) == []  # nothing trained, nothing written


def test_every_shipped_scenario_passes_the_key_check():
    """The key check knows every key the shipped config files set, and no scenario sets a
    shared environment argument (no false alarm)."""
    from mava_ganno.train import compose_checked, config_dir
    from mava_ganno.utils.config import shared_and_task_kwargs

    folder = os.path.join(os.path.dirname(config_dir()), "env", "scenario")
    for name in sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".yaml")):
        shared_and_task_kwargs(compose_checked([f"env/scenario={name}"]))


# ============================================================================ clean interrupts
def _stop_when(argv, ready, sig, cwd, timeout=240):
    """Run ``argv``, send ``sig`` once ``ready(stdout line)`` holds (or ``ready(None)`` on a poll),
    return (exit status, stdout, stderr)."""
    import selectors

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=env)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    out, t0 = [], time.time()
    while time.time() - t0 < timeout:
        line = p.stdout.readline() if sel.select(timeout=0.5) else None
        if line:
            out.append(line)
        assert p.poll() is None or line, f"ended before the signal: {p.stderr.read()}"
        if ready(line):
            break
    p.send_signal(sig)
    rest, err = p.communicate(timeout=timeout)
    return p.returncode, "".join(out) + rest, err


def _last_line(err):
    assert "Traceback" not in err, err
    return err.strip().splitlines()[-1]


TRAIN_LONG = ["system.num_updates=4000", "arch.num_evaluation=2000", "arch.num_eval_episodes=0",
              "logger.checkpointing.save_args.save_interval_steps=1"]  # fmt: skip


def test_an_interrupted_training_names_its_checkpoint_and_the_command_that_resumes(tmp_path):
    from tests.test_rec_ippo import TINY as TRAIN_TINY

    overrides = TRAIN_TINY + TRAIN_LONG + [f"logger.base_exp_path={tmp_path}"]
    root = tmp_path / "checkpoints" / "rec_ippo"
    has_ckpt = lambda line: root.is_dir() and any(True for d in root.iterdir() for _ in d.glob("ckpt_*/meta.json"))  # noqa: E731
    code, _, err = _stop_when([sys.executable, "-m", "mava_ganno.train", *overrides], has_ckpt, signal.SIGINT, tmp_path)
    assert code == 130
    line = _last_line(err)
    (uid,) = os.listdir(root)
    assert line.startswith(f"interrupt: the last checkpoint is {root / uid}/ckpt_") and "of 128000)" in line, line
    assert f"`ganno train --resume logger.checkpointing.load_args.checkpoint_uid={uid}` with the same overrides continues" in line
    resume = [sys.executable, "-m", "mava_ganno.train", "--resume", *overrides, f"logger.checkpointing.load_args.checkpoint_uid={uid}"]
    code, out, err = _stop_when(resume, lambda line: bool(line) and "resumed from" in line, signal.SIGTERM, tmp_path)
    assert code == 143 and f"resumed from {root / uid}/ckpt_" in out
    assert _last_line(err).startswith(f"SIGTERM: the last checkpoint is {root / uid}/ckpt_"), err


def test_training_stopped_before_its_first_checkpoint_says_nothing_was_kept(tmp_path):
    from tests.test_rec_ippo import TINY as TRAIN_TINY

    argv = [sys.executable, "-m", "mava_ganno.train", *TRAIN_TINY, *TRAIN_LONG, f"logger.base_exp_path={tmp_path}",
            "logger.checkpointing.save_model=False", "logger.use_console=True"]  # fmt: skip
    code, _, err = _stop_when(argv, lambda line: bool(line) and "rec_ippo on" in line, signal.SIGTERM, tmp_path)
    assert code == 143
    assert _last_line(err) == ("SIGTERM: checkpointing is off (logger.checkpointing.save_model=False), so nothing was kept. "
                               "Run the same command again.")  # fmt: skip


def test_interrupted_demos_and_cloning_write_nothing_unfinished_and_say_so(tmp_path):
    tiny = ["env/scenario=mlp2-digits", "env.scenario.env_kwargs.tau=5", "env.scenario.env_kwargs.sl_steps=20000",
            "env.scenario.env_kwargs.hidden=16"]  # fmt: skip
    out = tmp_path / "d.npz"
    argv = [sys.executable, "-m", "mava_ganno.offline.cli", "--out", str(out), "--seeds", "0,1,2,3", *tiny]
    code, _, err = _stop_when(argv, lambda line: bool(line) and line.startswith("[demos]"), signal.SIGTERM, tmp_path)
    assert code == 143 and _last_line(err) == (
        f"SIGTERM: {out} is written when all groups have run; the groups done so far are kept in {out}.parts: "
        "run the same command again to go on from them.")
    assert os.listdir(tmp_path) == []  # stopped in its only group: no part was finished

    from mava_ganno.env.env import make_ganno
    from mava_ganno.env.generator import InitialConditionsGenerator
    from mava_ganno.offline.demos import generate_demonstrations
    from mava_ganno.utils.demo_file import save_demonstrations
    from tests.test_demonstrations import TINY as ENV_TINY

    env = make_ganno(InitialConditionsGenerator(lr=1e-3, weight_decay=1e-4), **ENV_TINY)
    save_demonstrations(str(out), generate_demonstrations([env], ["t"], ("constant",), (1e-3,), log=lambda s: None))
    policy = tmp_path / "policy"
    argv = [sys.executable, "-c", "from mava_ganno.offline.cli import clone_main; clone_main()", "--demos", str(out),
            "--out", str(policy), "--epochs", "100000", "--batch-size", "1"]  # fmt: skip
    code, _, err = _stop_when(argv, lambda line: bool(line), signal.SIGINT, tmp_path)
    assert code == 130 and _last_line(err) == (
        f"interrupt: no policy was written ({policy} is written after the last epoch); run the same command again.")
    assert not policy.exists()


def test_an_interrupted_main_job_resumes_its_training(tmp_path):
    from tests.test_rec_ippo import TINY as TRAIN_TINY

    overrides = [o for o in TRAIN_TINY if not o.startswith(("system.total_timesteps", "logger."))] + [
        "arch.num_evaluation=2000", "logger.checkpointing.save_args.save_interval_steps=1"]  # fmt: skip
    argv = ["--timesteps", "128000", "--run", "r", "--out", str(tmp_path), "--lrs", "1e-3", "--seeds", "0", *overrides]
    root = tmp_path / "r" / "train" / "checkpoints" / "rec_ippo" / "r"
    has_ckpt = lambda line: any(True for _ in root.glob("ckpt_*/meta.json"))  # noqa: E731
    code, _, err = _stop_when([sys.executable, "-m", "mava_ganno.main_job", *argv], has_ckpt, signal.SIGTERM, tmp_path)
    line = _last_line(err)
    assert code == 143 and line.startswith(f"SIGTERM: the main job stopped while training; the last checkpoint is {root}/ckpt_"), line
    again = f"`{shlex.join(['ganno', 'main', *argv])} logger.checkpointing.load_model=True` continues from it."
    assert line.endswith(again), line
    resume = [sys.executable, "-m", "mava_ganno.main_job", *argv, "logger.checkpointing.load_model=True"]
    code, out, err = _stop_when(resume, lambda line: bool(line) and "resumed from" in line, signal.SIGINT, tmp_path)
    assert code == 130 and f"resumed from {root}/ckpt_" in out, err


# ============================================================================ one writer, every command
def test_a_training_run_and_a_main_job_have_one_writer(tmp_path, capsys):
    from mava_ganno import main_job
    from mava_ganno.systems import rec_ippo
    from mava_ganno.train import compose_config
    from mava_ganno.utils.config import ConfigError
    from tests.test_rec_ippo import TINY as TRAIN_TINY

    root = tmp_path / "checkpoints" / "rec_ippo"
    root.mkdir(parents=True)
    (root / ".u1.lock").write_text(f"{os.getppid()}\n")  # a live process that is not this one
    cfg = compose_config(TRAIN_TINY + [f"logger.base_exp_path={tmp_path}", "logger.checkpointing.save_args.checkpoint_uid=u1",
                          "system.num_updates=2"])
    with pytest.raises(ConfigError, match=rf"{root / 'u1'} is being written by another run \(PID {os.getppid()}\)"):
        rec_ippo.run_experiment(cfg, verbose=False)
    assert sorted(os.listdir(root)) == [".u1.lock"]

    (tmp_path / ".r.lock").write_text(f"{os.getppid()}\n")
    with pytest.raises(SystemExit) as e:
        main_job.main(["--out", str(tmp_path), "--run", "r"])
    assert e.value.code == 2 and f"{tmp_path / 'r'} is being written by another run (PID {os.getppid()})" in capsys.readouterr().err


def test_a_full_disk_during_the_bench_keeps_the_finished_tasks(small_fs, monkeypatch, capsys):
    from mava_ganno.bench import cli as BC
    from tests.test_bench import TINY_SUITE

    fs = small_fs("fs", "1m")
    monkeypatch.setitem(BC.SUITES, "quick", TINY_SUITE)
    real = BC.evaluate

    def fill_before_b(scenario, *a, **k):
        ev = real(scenario, *a, **k)
        if scenario.name == "b":
            _fill(fs)
        return ev

    monkeypatch.setattr(BC, "evaluate", fill_before_b)
    out = fs / "bench"
    with pytest.raises(SystemExit) as e:
        BC.main(["--policy", "none", "--methods", "constant,cosine", "--out", str(out), "--no-figures"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith("error: No space left on device") and f"the finished tasks are kept in {out}/tasks/" in line
    assert os.listdir(out / "tasks") == ["a"] and "bench_task.json" in os.listdir(out / "tasks" / "a")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_signal_swallowed_by_a_callback_is_delivered_again():
    """Python drops an exception raised inside a garbage-collection callback or ``__del__``; a
    SIGTERM landing there must still end the block (it is delivered again)."""
    from mava_ganno.utils.files import Terminated, terminate_as_exception

    class Swallows:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGTERM)  # the handler raises here, and Python ignores it
            time.sleep(0.1)

    class Fails:
        def __del__(self):
            raise ValueError("a real error in a callback")

    reported = []
    record = lambda u: reported.append(type(u.exc_value).__name__)  # noqa: E731
    previous, sys.unraisablehook = sys.unraisablehook, record
    try:
        t0 = time.time()
        with pytest.raises(Terminated):  # not raised if the block ran to its end: the signal was lost
            with terminate_as_exception():
                Fails()  # still reported: only a lost signal's exception is left out
                Swallows()  # deleted at once: the first Terminated is lost, and not reported
                while time.time() - t0 < 30:  # a bounded wait, ten times the re-delivery interval
                    time.sleep(0.05)
        assert sys.unraisablehook is record and reported == ["ValueError"]  # the hook is restored after the block
    finally:
        sys.unraisablehook = previous


@pytest.mark.parametrize("override, message", [
    ("network.actor_network.post_torso.activation=tanh",
     "network.actor_network.pre_torso.activation='relu' and post_torso.activation='tanh': this trainer uses one activation"),
    ("network.critic_network.pre_torso._target_=mava.networks.CNNTorso",
     "network.critic_network.pre_torso._target_ is 'mava.networks.CNNTorso'; GANNO observations are feature vectors"),
])  # fmt: skip
def test_network_keys_are_read_not_ignored(override, message, tmp_path):
    """Every key of the network config changes what is built or is refused: an activation the
    post-torso would silently not use, a torso class this trainer does not build."""
    from mava_ganno.systems import rec_ippo
    from mava_ganno.train import compose_config
    from mava_ganno.utils.config import ConfigError
    from tests.test_rec_ippo import TINY as TRAIN_TINY

    cfg = compose_config(TRAIN_TINY + [f"logger.base_exp_path={tmp_path}", "system.num_updates=2", override])
    with pytest.raises(ConfigError, match=re.escape(message)):
        rec_ippo.run_experiment(cfg, verbose=False)
    assert os.listdir(tmp_path) == []
