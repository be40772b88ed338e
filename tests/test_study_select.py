"""experiments/study_select.py: the policy study's selection rules 2 and 3 over synthetic run folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def study_select(experiment_script):
    return experiment_script("study_select")


def _run(folder: Path, run: str, score: float, worst: float, done: bool = True) -> None:
    policy = folder / run / "checkpoints" / "rec_ippo" / run / "policy_best"
    policy.mkdir(parents=True)
    meta = dict(validation_score=score, validation_worst=worst, validation_advantage=score + 4,
                validation_at_default=score, validation_tuned=score - 2, validation_mode="greedy",
                selected_at_timestep=100)
    (policy / "policy.json").write_text(json.dumps({"metadata": meta}))
    if done:
        (folder / run / "done").write_text("12.0")


@pytest.fixture
def study(tmp_path):
    a, b = tmp_path / "rl", tmp_path / "clone"
    _run(a, "plain_s0", 1.0, -2.0)
    _run(a, "plain_s1", 3.0, -9.0)  # the highest score, but below the bar's worst
    _run(a, "plain_s2", 3.0, -8.0)  # ties on score, higher worst: rule 2 picks it
    _run(b, "plain_s0", 0.5, 0.0)  # the same run name in another folder is another variant
    _run(b, "plain_s1", 9.0, 0.0, done=False)  # unfinished runs never enter
    bar = tmp_path / "bar.json"
    bar.write_text(json.dumps({"validation_score": 2.0, "validation_worst": -4.0}))
    return tmp_path, bar


def test_rule_2_breaks_score_ties_by_worst_and_names_runs_by_folder(study_select, study):
    root, _ = study
    runs = study_select.load_runs([root / "rl", root / "clone"])
    assert sorted(r.name for r in runs) == ["clone/plain_s0", "rl/plain_s0", "rl/plain_s1", "rl/plain_s2"]
    assert study_select.candidate(runs).name == "rl/plain_s2"
    assert study_select.candidate([]) is None


def test_rule_3_needs_a_higher_score_and_a_worst_no_lower(study_select):
    bar = {"validation_score": 2.0, "validation_worst": -4.0}
    run = study_select.Run("f/v_s0", "f/v", 0, 2.5, -4.0, 0, 0, 0, "greedy", 0, "p")
    assert study_select.passes(run, bar)
    assert not study_select.passes(run._replace(score=2.0), bar)  # equal score is not above
    assert not study_select.passes(run._replace(worst=-4.01), bar)


def test_exit_status_says_provisional_fail_or_ship(study_select, study, capsys):
    root, bar = study
    folders = [str(root / "rl"), str(root / "clone")]
    # clone/plain_s1 is unfinished: provisional
    assert study_select.main(["--bar", str(bar), "--planned", "rl/plain,clone/plain", "--seeds", "0,1"] + folders) == 3
    assert "PROVISIONAL (1 planned runs missing: clone/plain_s1)" in capsys.readouterr().out
    # all planned runs in; the candidate rl/plain_s2 fails rule 3 on its worst cell
    assert study_select.main(["--bar", str(bar), "--planned", "rl/plain", "--seeds", "0,1,2"] + folders) == 1
    out = capsys.readouterr().out
    assert "Candidate (rule 2): rl/plain_s2 (+3.00, worst -8.00" in out and "the shipped policy stays" in out
    assert "| rl/plain | 0, 1, 2 | +2.33 ± 1.15 |" in out
    # a candidate that passes: only seed 0 planned
    assert study_select.main(["--bar", str(bar), "--planned", "rl/plain", "--seeds", "0"] + folders) == 1
    bar.write_text(json.dumps({"validation_score": 0.0, "validation_worst": -4.0}))
    assert study_select.main(["--bar", str(bar), "--planned", "rl/plain", "--seeds", "0"] + folders) == 0
    assert "rl/plain_s0 (+1.00, worst -2.00, greedy); it passes rule 3" in capsys.readouterr().out


def test_bad_input_names_the_value(study_select, study, capsys):
    root, bar = study
    assert study_select.main(["--bar", str(bar), "--planned", "other/plain"] + [str(root / "rl")]) == 2
    assert "other/plain" in capsys.readouterr().err
    assert study_select.main(["--bar", str(root / "nope.json"), "--planned", "rl/plain", str(root / "rl")]) == 2
    assert "rescore_validation.py default" in capsys.readouterr().err
    assert study_select.main(["--bar", str(bar), "--planned", "rl/plain", "--seeds", "a", str(root / "rl")]) == 2
    assert "'a'" in capsys.readouterr().err
