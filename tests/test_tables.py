"""The paper's tables (mava_ganno.evaluation.tables), on hand-built rows and a hand-built
Evaluation whose numbers are known, so every cell can be checked."""

from __future__ import annotations

import numpy as np
import pytest

from mava_ganno.backend.task import Task
from mava_ganno.evaluation import records as REC
from mava_ganno.evaluation import tables as T


# ----------------------------------------------------------------------------- table_markdown
def _row(label, lr, seed, acc, group="handcrafted", diverged=False, wd=0.1):
    return dict(
        method=label.lower(), label=label, group=group, mode="", initial_lr=lr, weight_decay=wd,
        seed=seed, final_test_accuracy=acc, best_test_accuracy=acc, final_train_loss=0.1,
        diverged=diverged, final_val_accuracy=acc, policy="",
    )  # fmt: skip


def test_cell_stats_and_format():
    m, s = T.cell_stats([0.5, 0.7])
    assert m == pytest.approx(0.6) and s == pytest.approx(np.sqrt(0.02))  # sample std, ddof=1
    assert T.cell_stats([0.3]) == (0.3, 0.0)
    assert T.format_cell(0.6, 0.1414) == "60.00 ± 14.14"
    assert T.format_cell(0.6, 0.0, bold=True, dagger=True) == "**60.00 ± 0.00** †"


def test_table_mean_std_average_and_bold():
    rows = [
        _row("A", 1e-3, 0, 0.50), _row("A", 1e-3, 1, 0.70),
        _row("A", 1e-2, 0, 0.90), _row("A", 1e-2, 1, 0.90),
        _row("B", 1e-3, 0, 0.65), _row("B", 1e-3, 1, 0.65),
        _row("B", 1e-2, 0, 0.10, diverged=True), _row("B", 1e-2, 1, 0.30),
        _row("P", None, 0, 0.80, group="optimizer"), _row("P", None, 1, 0.60, group="optimizer"),
    ]  # fmt: skip
    md = T.table_markdown(rows, ["A", "B", "P", "V"], [1e-3, 1e-2], notes={"V": "offline"})
    lines = md.splitlines()
    assert lines[2] == "| Method | 0.001 | 0.01 | Average |"
    # A: 1e-3 -> 60 +- 14.14 (sample std of 50, 70); 1e-2 -> 90 +- 0, the column's best;
    # Average per seed (70, 80) -> 75 +- 7.07, the best Average (P's is 70).
    assert lines[4] == "| A | 60.00 ± 14.14 | **90.00 ± 0.00** | **75.00 ± 7.07** |"
    # B: 65 +- 0 is the best at 1e-3; a diverged seed puts a dagger on the cell and Average.
    assert lines[5] == "| B | **65.00 ± 0.00** | 20.00 ± 14.14 † | 42.50 ± 7.07 † |"
    # LR-free: only an Average; an unavailable method is listed with its reason.
    assert lines[6] == "| P | / | / | 70.00 ± 14.14 |"
    assert lines[7] == "| V | / | / | not run: offline |"


def test_table_bolds_ties_and_single_seed_has_zero_std():
    rows = [_row("A", 1e-3, 0, 0.5), _row("B", 1e-3, 0, 0.5), _row("C", 1e-3, 0, 0.4)]
    lines = T.table_markdown(rows, ["A", "B", "C"], [1e-3]).splitlines()
    assert lines[4].startswith("| A | **50.00 ± 0.00** |")
    assert lines[5].startswith("| B | **50.00 ± 0.00** |")
    assert lines[6] == "| C | 40.00 ± 0.00 | 40.00 ± 0.00 |"


def test_average_uses_only_seeds_present_in_every_column():
    # Seed 1 is missing at 1e-2: the Average is over seed 0 alone (mean of 40 and 60).
    rows = [_row("A", 1e-3, 0, 0.4), _row("A", 1e-3, 1, 0.8), _row("A", 1e-2, 0, 0.6)]
    line = T.table_markdown(rows, ["A"], [1e-3, 1e-2]).splitlines()[4]
    assert line == "| A | **60.00 ± 28.28** | **60.00 ± 0.00** | **50.00 ± 0.00** |"


# ----------------------------------------------------------------------------- a whole evaluation
LRS = (0.0, 1e-3, 1e-2)
SEEDS = (0, 1)
C = 2  # chunks


def _runset(label, group, accs, takes_lr=True, lrs=LRS, mode=""):
    """A RunSet whose final test accuracy of (lr, seed) is accs[lr][seed] (2 seeds)."""
    grid = [(lr, s) for lr in (lrs if takes_lr else (np.nan,)) for s in SEEDS]
    final = np.array([accs[lr if takes_lr else None][s] for lr, s in grid])
    acc = np.stack([np.full_like(final, 0.1), final / 2, final], axis=1)  # (R, C+1)
    n = len(grid)
    return REC.RunSet(
        method=label.lower(), label=label, group=group, mode=mode,
        lr=np.array([g[0] for g in grid]), weight_decay=np.full(n, 0.1), seed=np.array([g[1] for g in grid]),
        steps=np.arange(C + 1) * 10, test_accuracy=acc, val_accuracy=acc, train_loss=np.ones((n, C + 1)),
        lrs=np.full((n, C, 3), 1e-3), diverged=np.zeros(n, bool), takes_lr=takes_lr,
    )  # fmt: skip


def hand_built_evaluation() -> REC.Evaluation:
    sc = Task("mlp2", "digits", tau=10, sl_steps=20)
    runsets = [
        _runset("Constant", "handcrafted", {1e-3: (0.80, 0.90), 1e-2: (0.50, 0.70)}, lrs=(1e-3, 1e-2)),
        _runset("Cosine one-cycle", "warmup", {1e-3: (0.90, 0.90), 1e-2: (0.60, 0.60)}, lrs=(1e-3, 1e-2)),
        _runset("Prodigy", "optimizer", {None: (0.70, 0.75)}, takes_lr=False),
        _runset("Random layerwise agent", "random", {0.0: (0.2, 0.3), 1e-3: (0.6, 0.6), 1e-2: (0.4, 0.4)}),
        _runset("GANNO-LR-only (greedy)", "ablation", {0.0: (0.5, 0.5), 1e-3: (0.7, 0.7), 1e-2: (0.7, 0.7)}),
        _runset("GANNO (greedy)", "ganno", {0.0: (0.85, 0.95), 1e-3: (0.95, 0.95), 1e-2: (0.8, 0.8)}, mode="greedy"),
    ]
    return REC.Evaluation(sc, LRS, (0.1,), SEEDS, runsets, {"velo": "offline"})


def _section(md: str, title: str) -> list:
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("## ") and title in line)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return [line for line in lines[start:end] if line.startswith("| ") and not line.startswith("| Method")]


def test_tables_of_an_evaluation():
    ev = hand_built_evaluation()
    md = T.tables_markdown(ev.rows(), {"title": "Hand-built", "unavailable": {"velo": "offline"}, "labels": {"velo": "VeLO"}})
    assert md.startswith("# Hand-built\n")
    assert "over 2 seed(s)" in md
    # Table 1: positive LRs only; rows in group order, VeLO right after the optimisers.
    t1 = _section(md, "Table 1 analogue")
    assert [r.split(" | ")[0][2:] for r in t1] == [
        "Constant", "Cosine one-cycle", "Prodigy", "VeLO", "Random layerwise agent", "GANNO (greedy)",
    ]  # fmt: skip
    assert t1[0] == "| Constant | 85.00 ± 7.07 | 60.00 ± 14.14 | 72.50 ± 10.61 |"
    assert t1[2] == "| Prodigy | / | / | 72.50 ± 3.54 |"
    assert t1[3] == "| VeLO | / | / | not run: offline |"
    assert t1[5] == "| GANNO (greedy) | **95.00 ± 0.00** | **80.00 ± 0.00** | **87.50 ± 0.00** |"
    # Table 2: the policies (random agent, ablation, GANNO) on every LR, 0 included.
    t2 = _section(md, "Table 2 analogue")
    assert t2[0] == "| Random layerwise agent | 25.00 ± 7.07 | 60.00 ± 0.00 | 40.00 ± 0.00 | 41.67 ± 2.36 |"
    assert t2[1] == "| GANNO-LR-only (greedy) | 50.00 ± 0.00 | 70.00 ± 0.00 | 70.00 ± 0.00 | 63.33 ± 0.00 |"
    # GANNO per seed: (85 + 95 + 80) / 3 and (95 + 95 + 80) / 3 -> 88.33 +- 2.36.
    assert t2[2] == "| GANNO (greedy) | **90.00 ± 7.07** | **95.00 ± 0.00** | **80.00 ± 0.00** | **88.33 ± 2.36** |"
    # Table 3: the warm-up schedule against GANNO started from LR 0 (Average only).
    t3 = _section(md, "Table 3 analogue")
    assert t3 == [
        "| Cosine one-cycle | **90.00 ± 0.00** | **60.00 ± 0.00** | 75.00 ± 0.00 |",
        "| GANNO from LR = 0 (greedy) | / | / | **90.00 ± 7.07** |",
    ]
    assert "GANNO-LR-only" not in "\n".join(t3)


@pytest.mark.parametrize(
    "label, expected",
    [
        ("GANNO (greedy)", "GANNO from LR = 0 (greedy)"),
        ("GANNO-cnn2-digits (sampled)", "GANNO-cnn2-digits from LR = 0 (sampled)"),
        ("GANNO (shipped default) (greedy)", "GANNO (shipped default) from LR = 0 (greedy)"),
        ("Random layerwise agent", "Random layerwise agent from LR = 0"),
    ],
)
def test_table_3_names_the_policy_before_its_start(label, expected):
    assert T._from_zero(label) == expected
