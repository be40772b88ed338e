"""experiments/study_table.py: the study tables over RL seeds (no JAX; synthetic evaluation folders)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

FIELDS = ["method", "label", "group", "mode", "initial_lr", "weight_decay", "seed", "final_test_accuracy",
          "best_test_accuracy", "final_train_loss", "diverged", "final_val_accuracy", "policy"]


@pytest.fixture(scope="module")
def study_table(experiment_script):
    return experiment_script("study_table")


def _row(method, label, group, mode, lr, seed, acc, policy=""):
    return dict(method=method, label=label, group=group, mode=mode, initial_lr=lr, weight_decay=0.1, seed=seed,
                final_test_accuracy=acc, best_test_accuracy=acc, final_train_loss=0.1, diverged="false",
                final_val_accuracy=acc, policy=policy)


def _folder(path: Path, policies: dict, warmup_shift: float = 0.0) -> Path:
    """One evaluation folder: constant and one warm-up schedule at LRs 1e-3, 1e-2, and every
    ``label -> {lr: acc}`` policy, 2 evaluation seeds (the second 0.01 higher)."""
    path.mkdir(parents=True)
    rows = []
    for seed in (0, 1):
        for lr, const, warm in ((1e-3, 0.90, 0.92), (1e-2, 0.80, 0.94)):
            rows.append(_row("constant", "Constant", "handcrafted", "", lr, seed, const + 0.01 * seed))
            rows.append(_row("warmup_cosine", "Warm-up", "warmup", "", lr, seed, warm + warmup_shift + 0.01 * seed))
        for label, accs in policies.items():
            for lr, acc in accs.items():
                rows.append(_row(f"{label}_greedy", f"{label} (greedy)", "ganno", "greedy", lr, seed, acc + 0.01 * seed, "p"))
    with open(path / "table.csv", "w", newline="") as f:
        w = csv.DictWriter(f, FIELDS)
        w.writeheader()
        w.writerows(rows)
    return path


def test_from_lr_0_compares_each_variant_with_the_best_warmup_average(study_table, tmp_path):
    folder = _folder(tmp_path / "a", {"v_s0": {0.0: 0.95, 1e-3: 0.93, 1e-2: 0.93},
                                      "v_s1": {0.0: 0.91, 1e-3: 0.93, 1e-2: 0.93}})
    text = study_table.table(study_table.load(folder), "a")
    line = next(x for x in text.splitlines() if x.startswith("| v (greedy, 2 policies) | 93.50"))
    # per policy: mean over evaluation seeds at LR 0 (95.5, 91.5); warm-up's average over its peaks:
    # (92, 93, 94, 95) -> 93.5; so the variant's mean 93.5 is +0.00 against it
    assert "95.50 / 91.50" in line and "+0.00 (Warm-up)" in line and "0 / 4" in line
    assert "Warm-up 93.50" in text


def test_without_lr_0_there_is_no_from_zero_table(study_table, tmp_path):
    folder = _folder(tmp_path / "a", {"v_s0": {1e-3: 0.93, 1e-2: 0.93}})
    assert "From LR 0" not in study_table.table(study_table.load(folder), "a")


def test_merge_takes_the_baselines_once_and_every_policy(study_table, tmp_path):
    a = _folder(tmp_path / "a", {"rl_s0": {0.0: 0.495, 1e-3: 0.93, 1e-2: 0.93}})
    b = _folder(tmp_path / "b", {"clone-rl_s0": {0.0: 0.95, 1e-3: 0.94, 1e-2: 0.94}})
    rows = study_table.merge([a, b])
    assert sum(r["method"] == "constant" for r in rows) == 4  # 2 LRs x 2 seeds, once
    text = study_table.table(rows, "a + b")
    assert "| **rl (greedy, 1 policies)**" in text and "| **clone-rl (greedy, 1 policies)**" in text
    assert "| rl (greedy, 1 policies) | 50.00 ± 0.00 | 50.00 | 1 / 2 |" in text  # from LR 0: 49.5% and 50.5%


def test_merge_refuses_folders_whose_baselines_differ(study_table, tmp_path):
    a = _folder(tmp_path / "a", {"rl_s0": {1e-3: 0.93}})
    b = _folder(tmp_path / "b", {"clone-rl_s0": {1e-3: 0.94}}, warmup_shift=0.001)
    with pytest.raises(SystemExit, match="baseline run\\(s\\) differ between .* first \\('warmup_cosine'"):
        study_table.merge([a, b])


def test_merge_refuses_one_policy_label_in_two_folders(study_table, tmp_path):
    a = _folder(tmp_path / "a", {"rl_s0": {1e-3: 0.93}})
    b = _folder(tmp_path / "b", {"rl_s0": {1e-3: 0.94}})
    with pytest.raises(SystemExit, match="policy label 'rl_s0 \\(greedy\\)' is in several folders"):
        study_table.merge([a, b])


def test_an_alias_counts_a_differently_labelled_seed_with_its_procedure(study_table, tmp_path):
    a = _folder(tmp_path / "a", {"rl_s0": {1e-3: 0.93, 1e-2: 0.93}})
    b = _folder(tmp_path / "b", {"deep-robust-episode_s3": {1e-3: 0.91, 1e-2: 0.91}})
    text = study_table.table(study_table.merge([a, b], {"deep-robust-episode": "rl"}), "a + b")
    assert "| **rl (greedy, 2 policies)** | 92.50 ± 1.41 | 92.50 ± 1.41 | 92.50 ± 1.41 |" in text
    assert "deep-robust-episode" not in text
    c = _folder(tmp_path / "c", {"rl_s0": {1e-3: 0.91, 1e-2: 0.91}})
    with pytest.raises(SystemExit, match="policy label 'rl_s0 \\(greedy\\)' is in several folders"):
        study_table.merge([a, c], {"v": "rl"})
    with pytest.raises(SystemExit, match="--alias needs OLD=NEW"):
        study_table.main(["--alias", "deep-robust-episode", str(a)])


def test_an_aliased_seed_keeps_the_mode_its_suite_chose(study_table, tmp_path):
    """``--runs`` reads suite modes by run name; an aliased seed is found under its new label."""
    meta = tmp_path / "runs" / "deep-robust-episode_s3" / "checkpoints" / "rec_ippo" / "deep-robust-episode_s3" / "policy_best"
    meta.mkdir(parents=True)
    (meta / "policy.json").write_text('{"metadata": {"validation_mode": "greedy"}}')
    modes = study_table.suite_modes(tmp_path / "runs", {"deep-robust-episode": "rl"})
    assert modes == {"rl_s3": "greedy"}
    b = _folder(tmp_path / "b", {"deep-robust-episode_s3": {1e-3: 0.91, 1e-2: 0.91}})
    rows = study_table.with_suite_mode(study_table.load(b, {"deep-robust-episode": "rl"}), modes)
    assert "| **rl (suite mode, 1 policies)** | 91.50 ± 0.00 |" in study_table.table(rows, "b")
    assert study_table.aliased("v_s2", {"w": "rl"}) == "v_s2" and study_table.aliased("Constant", {"Constant": "x"}) == "Constant"
