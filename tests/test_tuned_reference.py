"""experiments/tuned_reference.py: the best tuned schedule as the benchmark picks it (on test),
picked on validation, and held out, with every method's gap to each."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mava_ganno.bench.metrics import MethodResult

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "docs" / "results" / "study-wsd-decay-clone-above-3seeds-eval" / "bench"


@pytest.fixture(scope="module")
def tr(experiment_script):
    return experiment_script("tuned_reference")


def _method(name, group, test_lr0, val_lr0, loss=False):
    """Two LRs, three seeds; the second LR is poor on validation and test, so every tuned LR is
    the first. ``loss``: the same numbers as 1 - accuracy."""
    test = np.array([test_lr0, [0.5, 0.5, 0.5]], np.float64)
    val = np.array([val_lr0, [0.5, 0.5, 0.5]], np.float64)
    if loss:
        test, val = 1.0 - test, 1.0 - val
    return MethodResult(name, name.upper(), group, True, (1e-3, 1e-2), (0, 1, 2), test, val,
                        np.zeros((2, 3, 2)), np.zeros((2, 3), bool), np.array([0, 100]))  # fmt: skip


def _task(loss=False):
    return [
        _method("constant", "handcrafted", [0.81] * 3, [0.81] * 3, loss),
        _method("a", "handcrafted", [0.90, 0.90, 0.93], [0.90, 0.90, 0.93], loss),  # best test mean (0.91)
        _method("b", "warmup", [0.92, 0.91, 0.89], [0.95] * 3, loss),  # best on validation; test 0.9067
        _method("p", "ganno", [0.905] * 3, [0.905] * 3, loss),
    ]


@pytest.mark.parametrize("metric", ["accuracy", "loss"])
def test_the_three_references_and_gaps_on_a_task_worked_by_hand(tr, metric):
    a = tr.task_analysis(_task(loss=metric == "loss"), metric, ["p"])
    ref = a["reference"]
    assert ref["benchmark"][0] == "a" and ref["validation"][0] == "b"
    # held out: seeds 0 and 1 -> a (picked on the other two: 0.915 vs 0.90 / 0.905), seed 2 -> b (0.90 vs 0.915)
    assert ref["held_out"][0] == "a/a/b"
    held = (0.90 + 0.90 + 0.89) / 3
    assert ref["held_out"][1] == pytest.approx(held if metric == "accuracy" else 1 - held)
    assert a["optimism"] == pytest.approx(0.91 - held)
    g = a["gaps"]["p"]
    assert g["benchmark"] == pytest.approx(0.905 - 0.91)
    assert g["validation"] == pytest.approx(0.905 - (0.92 + 0.91 + 0.89) / 3)
    assert g["held_out"] == pytest.approx(0.905 - held)
    assert g["se"] == pytest.approx(np.std([0.005, 0.005, -0.025], ddof=1) / np.sqrt(3))
    # scale 0.10 (best 0.91 - constant 0.81): -0.05 and -0.017 normalised miss 0.01; held out is above
    assert g["within"] == {"benchmark": False, "validation": False, "held_out": True}
    assert a["gaps"]["a"]["benchmark"] == 0.0 and a["gaps"]["a"]["within"]["benchmark"]
    assert list(a["gaps"]) == ["constant", "a", "b", "p"]


def test_on_the_committed_benchmark_the_reference_is_the_leaderboards_and_no_schedule_passes_on_every_task(tr):
    board = json.loads((BENCH / "leaderboard.json").read_text())
    analysis = tr.analyse(str(BENCH))
    assert list(analysis) == board["tasks_done"]
    for name, a in analysis.items():
        best, value = board["per_task"][name]["best_schedule"]
        assert a["reference"]["benchmark"] == (best, pytest.approx(value))
        mine = board["per_task"][name]["methods"]["candidate_greedy"]["tuned"]
        sign = 1 if a["metric"] == "accuracy" else -1
        assert a["gaps"]["candidate_greedy"]["benchmark"] == pytest.approx(sign * (np.mean(mine) - value))
    # what docs/lab says: the test-picked reference is 0.64 and 0.47 points above its held-out value on
    # the ResNet and the ViT, and no handcrafted schedule is within the bar on all five tasks, in any view
    assert 100 * analysis["resnet-fmnist"]["optimism"] == pytest.approx(0.64, abs=0.005)
    assert 100 * analysis["vit-fmnist"]["optimism"] == pytest.approx(0.47, abs=0.005)
    for view in tr.VIEWS:
        passes = {m: sum(a["gaps"][m]["within"][view] for a in analysis.values()) for m in analysis["mlp-mnist5k"]["gaps"]}
        assert max(passes[m] for m in passes if m != "candidate_greedy") == 3, (view, passes)


def test_the_markdown_names_every_task_and_method(tr, capsys):
    assert tr.main([str(BENCH)]) == 0
    out = capsys.readouterr().out
    assert "| resnet-fmnist | Warm-up-stable-decay (WSD) 83.68 |" in out
    assert out.count("| candidate (greedy) |") == 3


def test_bad_inputs_are_refused_by_name(tr, tmp_path):
    with pytest.raises(ValueError, match=r"methods \['nope'\] are not in the task"):
        tr.task_analysis(_task(), "accuracy", ["nope"])
    one_seed = [MethodResult(m.method, m.label, m.group, True, m.lrs, (0,), m.test[:, :1], m.val[:, :1], m.val_loss[:, :1],
                             m.diverged[:, :1], m.steps) for m in _task()]  # fmt: skip
    with pytest.raises(ValueError, match="at least 2 seeds, the task has 1"):
        tr.task_analysis(one_seed, "accuracy", ["p"])
    with pytest.raises(FileNotFoundError, match="leaderboard.json not found"):
        tr.analyse(str(tmp_path))
    with pytest.raises(ValueError, match=r"methods \['nope'\] are not in .* choose from"):
        tr.analyse(str(BENCH), ["nope"])
    assert tr.main([]) == 2
