"""experiments/grid_summary.py: the tuned cell is picked on validation and reports test."""

import csv
import importlib.util
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("grid_summary", os.path.join(HERE, "..", "experiments", "grid_summary.py"))
grid_summary = importlib.util.module_from_spec(spec)
spec.loader.exec_module(grid_summary)

FIELDS = ["method", "label", "group", "mode", "initial_lr", "weight_decay", "seed", "final_test_accuracy",
          "best_test_accuracy", "final_train_loss", "diverged", "final_val_accuracy"]


def _write(folder, runs):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "table.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, FIELDS, extrasaction="ignore")
        w.writeheader()
        for label, mode, lr, seed, test, val, div in runs:
            w.writerow(dict(method=label.lower(), label=label, group="g", mode=mode, initial_lr=lr, weight_decay=0.1,
                            seed=seed, final_test_accuracy=test, best_test_accuracy=test, final_train_loss=0.1,
                            diverged="true" if div else "false", final_val_accuracy=val))


def test_tuned_is_picked_on_validation_and_a_divergence_counts_as_ten_percent(tmp_path, capsys):
    runs = [
        # cosine: LR 1e-3 has the better test, LR 1e-2 the better validation -> tuned reports 1e-2's test
        ("Cosine", "", 1e-3, 0, 0.95, 0.90, False), ("Cosine", "", 1e-3, 1, 0.93, 0.90, False),
        ("Cosine", "", 1e-2, 0, 0.91, 0.97, False), ("Cosine", "", 1e-2, 1, 0.89, 0.95, False),
        # the policy: one seed diverges at 1e-2 (its recorded accuracies are ignored: 10%)
        ("P (greedy)", "greedy", 1e-3, 0, 0.92, 0.92, False), ("P (greedy)", "greedy", 1e-3, 1, 0.94, 0.92, False),
        ("P (greedy)", "greedy", 1e-2, 0, 0.99, 0.99, True), ("P (greedy)", "greedy", 1e-2, 1, 0.90, 0.90, False),
        ("Prodigy", "", "nan", 0, 0.80, 0.80, False), ("Prodigy", "", "nan", 1, 0.82, 0.80, False),
    ]
    _write(tmp_path, runs)
    rows = {r[0]: r for r in grid_summary.summarise(grid_summary.load(str(tmp_path)), 1e-3)[0.1]}
    label, avg, at, tuned, lr = rows["Cosine"]
    assert (avg, at, tuned, lr) == pytest.approx((92.0, 94.0, 90.0, 1e-2))
    _, avg, at, tuned, lr = rows["P (greedy)"]
    assert (avg, at, tuned, lr) == pytest.approx(((93.0 + 50.0) / 2, 93.0, 93.0, 1e-3))  # (10% + 90%) / 2 at 1e-2
    _, avg, at, tuned, _ = rows["Prodigy"]
    assert avg == at == tuned == pytest.approx(81.0)
    assert grid_summary.main([str(tmp_path)]) == 0
    assert "| P (greedy) | 71.50 | 93.00 | 93.00 (LR 0.001) |" in capsys.readouterr().out


def test_a_folder_without_table_csv_is_refused(tmp_path, capsys):
    assert grid_summary.main([str(tmp_path)]) == 2
    assert "table.csv not found" in capsys.readouterr().err
