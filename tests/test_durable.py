"""Results are durable: one writer per results folder, clean ends on SIGTERM / Ctrl-C, unique
policy labels, and a command that would run nothing is refused (``ganno evaluate``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from mava_ganno.evaluation import cli as CLI

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
    folder = tmp_path / "mlp2-digits"
    folder.mkdir()
    (folder / ".lock").write_text(f"{os.getppid()}\n")  # a live process that is not this one
    code, err = _main(TINY + ["--methods", "constant", "--no-random", "--out", str(tmp_path)], capsys)
    assert code == 2 and f"PID {os.getppid()}" in err and str(folder) in err
    assert sorted(os.listdir(folder)) == [".lock"]  # nothing written, the holder's lock kept


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
    assert err.strip().splitlines()[-1].startswith("SIGTERM: the runs finished so far are in") and "Traceback" not in err
    assert not os.path.exists(tmp_path / "mlp2-digits" / ".lock")
