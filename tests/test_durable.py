"""Results are durable (``ganno evaluate``): a results folder is replaced whole and only by a
complete run, a run in progress keeps its finished groups beside it and a rerun reuses them, one
writer per folder, clean ends on SIGTERM / Ctrl-C, unique policy labels, and a command that would
run nothing is refused."""

from __future__ import annotations

import json
import os
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
