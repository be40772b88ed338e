"""The evaluation's figures (mava_ganno.evaluation.figures), on a hand-built Evaluation: which
figures are written, and what each one plots."""

from __future__ import annotations

import os

import numpy as np
import pytest

from mava_ganno.backend.task import Task
from mava_ganno.evaluation import figures as FIG
from mava_ganno.evaluation import records as REC

LRS, WDS, SEEDS = (0.0, 1e-3, 1e-2), (0.1, 1e-4), (0, 1, 2)
C, TAU, LAYERS = 4, 10, 3
KINDS = ("fig_layer_schedules.png", "fig_ganno_vs_onecycle.png", "fig_test_accuracy.png")


def _runset(label, group, level, takes_lr=True, lrs=LRS, layers=1, mode=""):
    """Test accuracy of run i: ``level`` + 0.01 * seed, rising linearly over the chunks."""
    grid = [(lr, wd, s) for lr in (lrs if takes_lr else (np.nan,)) for wd in WDS for s in SEEDS]
    n = len(grid)
    seed = np.array([g[2] for g in grid])
    acc = (level + 0.01 * seed)[:, None] * np.linspace(0.5, 1.0, C + 1)[None, :]
    lr = np.array([g[0] for g in grid])
    layer_lrs = np.nan_to_num(lr, nan=1e-3)[:, None, None] * (1 + np.arange(layers))[None, None, :] * np.ones((1, C, 1))
    return REC.RunSet(
        method=label.lower(), label=label, group=group, mode=mode, lr=lr,
        weight_decay=np.array([g[1] for g in grid]), seed=seed, steps=np.arange(C + 1) * TAU,
        test_accuracy=acc, val_accuracy=acc, train_loss=np.ones((n, C + 1)), lrs=layer_lrs,
        diverged=np.zeros(n, bool), takes_lr=takes_lr,
    )  # fmt: skip


def hand_built_evaluation(policies=True, onecycle=True) -> REC.Evaluation:
    positive = tuple(x for x in LRS if x > 0)
    runsets = [
        _runset("Constant", "handcrafted", 0.80, lrs=positive),
        _runset("Prodigy", "optimizer", 0.70, takes_lr=False),
    ]
    if onecycle:
        runsets.append(_runset("Cosine one-cycle", "warmup", 0.85, lrs=positive))
    if policies:
        runsets += [
            _runset("Random layerwise agent", "random", 0.60, layers=LAYERS),
            _runset("GANNO-LR-only (greedy)", "ablation", 0.75, layers=LAYERS),
            _runset("GANNO (greedy)", "ganno", 0.90, layers=LAYERS, mode="greedy"),
        ]
    sc = Task("mlp2", "digits", tau=TAU, sl_steps=C * TAU)
    return REC.Evaluation(sc, LRS, WDS, SEEDS, runsets, {})


@pytest.fixture
def captured(monkeypatch):
    """Every figure write_figures saves, by file name (saved to disk as usual)."""
    figs = {}
    save = FIG._save

    def spy(fig, out_dir, name):
        figs[name] = fig
        return save(fig, out_dir, name)

    monkeypatch.setattr(FIG, "_save", spy)
    return figs


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_every_figure_is_written_with_its_content(tmp_path, captured):
    files = FIG.write_figures(hand_built_evaluation(), str(tmp_path), figure_lr=1e-3)
    assert [os.path.basename(f) for f in files] == list(KINDS)
    for f in files:
        with open(f, "rb") as fh:
            head = fh.read(8)
        assert head == b"\x89PNG\r\n\x1a\n" and os.path.getsize(f) > 5000

    # Per-layer schedules: one column per policy (random agent, GANNO; not the ablation).
    axes = captured["fig_layer_schedules.png"].axes
    assert len(axes) == 2 * 2
    top = [ax for ax in axes if ax.get_ylabel() == "learning rate"]
    assert [ax.get_title().splitlines()[0] for ax in top] == ["Random layerwise agent", "GANNO (greedy)"]
    assert _legend(top[1]) == [f"layer {k + 1}" for k in range(LAYERS)]
    # Layer k's LR (1e-3 * (k + 1)) drawn as stairs over the chunks.
    np.testing.assert_allclose(top[1].lines[2].get_ydata(), np.full(2 * C, 3e-3))

    # GANNO against cosine one-cycle: the schedule peaks at the figure LR; GANNO starts at LR 0.
    left, right = captured["fig_ganno_vs_onecycle.png"].axes
    onecycle = left.lines[0]
    assert onecycle.get_label() == "cosine one-cycle (peak 0.001)"
    assert max(onecycle.get_ydata()) == pytest.approx(1e-3, rel=1e-3) and len(onecycle.get_ydata()) == C * TAU + 1
    assert _legend(right) == ["cosine one-cycle", "GANNO (greedy) from LR 0"]

    # Test accuracy: one panel per weight decay; every method but the ablation, mean over seeds.
    panels = captured["fig_test_accuracy.png"].axes
    assert len(panels) == len(WDS)
    labels = [line.get_label() for line in panels[0].lines]
    assert labels == ["Constant", "Prodigy", "Cosine one-cycle", "Random layerwise agent", "GANNO (greedy)"]
    constant = panels[0].lines[0].get_ydata()
    np.testing.assert_allclose(constant, 100 * 0.81 * np.linspace(0.5, 1.0, C + 1))  # seeds 0.80, 0.81, 0.82
    assert _legend(panels[-1]) == labels


def test_figures_without_policies_or_onecycle(tmp_path, captured):
    files = FIG.write_figures(hand_built_evaluation(policies=False, onecycle=False), str(tmp_path))
    assert [os.path.basename(f) for f in files] == ["fig_test_accuracy.png"]
    assert sorted(os.listdir(tmp_path)) == ["fig_test_accuracy.png"]
    assert [line.get_label() for line in captured["fig_test_accuracy.png"].axes[0].lines] == ["Constant", "Prodigy"]


def test_the_figure_lr_is_the_nearest_positive_grid_lr(tmp_path, captured):
    FIG.write_figures(hand_built_evaluation(), str(tmp_path), figure_lr=2e-2)
    title = captured["fig_test_accuracy.png"].axes[0].get_title()
    assert "LR 0.01 " in title
    ev = hand_built_evaluation()
    ev.lrs = (0.0,)
    assert FIG.write_figures(ev, str(tmp_path / "none")) == []
