"""experiments/pilot_weight_decay.py: the weight decay chosen per task on the selection seeds,
its gain on the confirmation seeds, and the pre-registered verdict."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def pw(experiment_script):
    return experiment_script("pilot_weight_decay")


def _run(path, rows):
    """rows: {task: (select_uniform, confirm_uniform_val)} as pilot_layer_lr.py writes them."""
    with open(path, "w", encoding="utf-8") as f:
        for task, (sel, conf) in rows.items():
            f.write(json.dumps({"task": task, "schedule": "wsd", "lr": 0.01, "select_uniform": sel, "confirm_uniform_val": conf}) + "\n")
    return str(path)


def test_the_choice_is_made_on_the_selection_seeds_and_ties_go_to_the_reference(pw, tmp_path):
    ref = _run(tmp_path / "a.jsonl", {"t1": (80.0, 80.0), "t2": (70.0, 71.0), "t3": (60.0, 60.0)})
    low = _run(tmp_path / "b.jsonl", {"t1": (81.0, 79.0), "t2": (70.0, 75.0), "t3": (61.0, 61.5)})
    high = _run(tmp_path / "c.jsonl", {"t1": (80.5, 90.0), "t2": (69.0, 99.0), "t3": (60.5, 60.0)})
    runs = pw.read_runs([f"0.1={ref}", f"0.01={low}", f"0.5={high}"])
    chosen = pw.choose(runs, 0.1)
    # t1: 0.01 best on selection (81) though 0.5 confirms higher; t2: a tie at 70 goes to 0.1; t3: 0.01
    assert [(t, wd) for t, wd, _, _ in chosen] == [("t1", 0.01), ("t2", 0.1), ("t3", 0.01)]
    assert [g for *_, g in chosen] == pytest.approx([-1.0, 0.0, 1.5])
    text = pw.markdown(runs, chosen, 0.1, 0.2, 2)
    assert "Mean gain over the 3 groups +0.17 points" in text and "groups gaining >= 0.2: 1 of 3" in text
    assert "**not a lever**" in text and "| t3 | " in text
    # one more group gaining and a mean above the bar: the verdict turns
    better = _run(tmp_path / "d.jsonl", {"t1": (79.0, 0.0), "t2": (71.0, 72.0), "t3": (62.0, 62.0)})
    runs = pw.read_runs([f"0.1={ref}", f"0.01={better}"])
    assert "**a lever**" in pw.markdown(runs, pw.choose(runs, 0.1), 0.1, 0.2, 2)


def test_bad_inputs_are_refused_by_name(pw, tmp_path):
    ref = _run(tmp_path / "a.jsonl", {"t1": (80.0, 80.0), "t2": (70.0, 71.0)})
    part = _run(tmp_path / "b.jsonl", {"t1": (80.0, 80.0)})
    with pytest.raises(SystemExit, match="hold different tasks"):
        pw.read_runs([f"0.1={ref}", f"0.01={part}"])
    with pytest.raises(SystemExit, match="give WEIGHT_DECAY=FILE.jsonl"):
        pw.read_runs([ref])
    with pytest.raises(SystemExit, match="given twice"):
        pw.read_runs([f"0.1={ref}", f"1e-1={ref}"])
    with pytest.raises(SystemExit, match="--reference 0.3: no run has that weight decay"):
        pw.choose(pw.read_runs([f"0.1={ref}"]), 0.3)
