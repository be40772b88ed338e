"""The benchmark: Fashion-MNIST's IDX reader, the held-out data check, the metrics (tuned LR,
speed-up, normalisation), the IQM aggregation, ``ganno bench``'s fail-early checks and resume."""

from __future__ import annotations

import gzip
import json
import math
import os
import shutil

import numpy as np
import pytest
from scipy import stats

from mava_ganno.backend import datasets as D
from mava_ganno.backend.task import Task
from mava_ganno.backend.task_pool import check_training_pool, is_evaluation_dataset
from mava_ganno.bench import cli as BC
from mava_ganno.bench import metrics as M
from mava_ganno.bench.cli import TASK_FILE
from mava_ganno.bench.tasks import SUITES, Suite, get_suite, task
from mava_ganno.evaluation.records import Evaluation, RunSet


# ============================================================================ IDX files
def _idx_bytes(a: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, a.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in a.shape)
    return header + a.astype(np.uint8).tobytes()


def _write_fashion(folder, n_train=50, n_test=20, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)).astype(np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)).astype(np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    for stem, a in arrays.items():
        data = _idx_bytes(a)
        if gz:
            with gzip.open(os.path.join(folder, stem + ".gz"), "wb") as f:
                f.write(data)
        else:
            with open(os.path.join(folder, stem), "wb") as f:
                f.write(data)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
def test_idx_reader_reads_what_was_written(tmp_path, gz):
    arrays = _write_fashion(str(tmp_path), gz=gz)
    parts = D.load_fashion_mnist(str(tmp_path))
    x, y = parts["train"]
    assert x.shape == (50, 28, 28, 1) and x.dtype == np.uint8 and y.dtype == np.int32
    np.testing.assert_array_equal(x[..., 0], arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(y, arrays["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(parts["test"][1], arrays["t10k-labels-idx1-ubyte"])


def test_fashion_mnist_splits_hold_out_validation_and_keep_the_official_test(tmp_path):
    arrays = _write_fashion(str(tmp_path), n_train=100, n_test=30)
    D.load_dataset.cache_clear()
    ds = D.load_dataset("fashion_mnist:val=0.2", data_dir=str(tmp_path))
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (80, 20, 30)
    np.testing.assert_array_equal(ds.y_test, arrays["t10k-labels-idx1-ubyte"])  # official order, untouched
    train_rows = {r.tobytes() for r in arrays["train-images-idx3-ubyte"]}
    held = {r.tobytes() for r in ds.x_val[..., 0]} | {r.tobytes() for r in ds.x_train[..., 0]}
    assert held == train_rows and not ({r.tobytes() for r in ds.x_val[..., 0]} & {r.tobytes() for r in ds.x_train[..., 0]})
    assert len(D.load_dataset("fashion_mnist", data_dir=str(tmp_path)).x_val) == 10  # default 10%
    with pytest.raises(ValueError, match=r"unknown option 'size'"):
        D.load_dataset("fashion_mnist:size=14", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match=r"val='1.5'"):
        D.load_dataset("fashion_mnist:val=1.5", data_dir=str(tmp_path))


def test_corrupt_or_missing_idx_files_are_clear_errors(tmp_path):
    _write_fashion(str(tmp_path), gz=False)
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-3])  # truncated
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte: IDX data holds 17 bytes, its header \(20,\) says 20"):
        D.load_fashion_mnist(str(tmp_path))
    path.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        D.load_fashion_mnist(str(tmp_path))
    path.unlink()
    with pytest.raises(D.MissingDataError, match=r"apt-get install dataset-fashion-mnist") as e:
        D.load_fashion_mnist(str(tmp_path))
    assert e.value.package == "dataset-fashion-mnist" and "t10k-labels-idx1-ubyte" in str(e.value)
    with pytest.raises(D.MissingDataError, match=str(tmp_path / "absent")):
        D.load_dataset("fashion_mnist", data_dir=str(tmp_path / "absent"))


def test_the_real_fashion_mnist_files():
    if not os.path.isdir(D.FASHION_MNIST_DIR):
        pytest.skip(f"{D.FASHION_MNIST_DIR} is absent (apt-get install dataset-fashion-mnist)")
    parts = D.load_fashion_mnist()
    assert parts["train"][0].shape == (60000, 28, 28, 1) and parts["test"][0].shape == (10000, 28, 28, 1)
    np.testing.assert_array_equal(parts["test"][1][:10], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])  # the dataset's first test labels
    assert np.bincount(parts["train"][1]).tolist() == [6000] * 10


# ============================================================================ held-out data
@pytest.mark.parametrize("name", ["fashion_mnist", "fashion_mnist:val=0.2", "fortunes", "fortunes:seq=32,val=0.02", "mnist_5k"])
def test_training_refuses_every_benchmark_dataset(name):
    assert is_evaluation_dataset(name)
    with pytest.raises(ValueError, match="must stay out of the training pool"):
        check_training_pool(["digits", name])
    for suite in SUITES.values():
        for t in suite.tasks:
            assert is_evaluation_dataset(t.dataset), t


def test_training_entry_points_call_the_pool_check():
    from mava_ganno.train import compose_config
    from mava_ganno.utils.config import ConfigError
    from mava_ganno.utils.make_env import make_groups

    cfg = compose_config(["env.scenario.env_kwargs.dataset=mnist_5k"])
    with pytest.raises(ConfigError, match="trains on held-out data.*mnist_5k"):
        make_groups(cfg)
    assert len(make_groups(compose_config([]))) == 1  # digits trains


# ============================================================================ metrics
STEPS = np.arange(5) * 100


def _runset(method, group, lrs, val, test, val_loss, seeds=(0, 1), takes_lr=True, diverged=None):
    """val/test: (L, S) finals; val_loss: (L, S, 5) curves. Runs are LR-major."""
    L, S = len(lrs), len(seeds)
    lr = np.repeat(np.asarray(lrs, float), S) if takes_lr else np.full(S, np.nan)
    seed = np.tile(np.asarray(seeds), L)
    flat = lambda a: np.asarray(a, float).reshape(L * S, *np.shape(a)[2:])  # noqa: E731
    curve = lambda fin: np.repeat(flat(fin)[:, None], 5, axis=1)  # noqa: E731
    return RunSet(
        method, method.title(), group, "", lr, np.full(L * S, 0.1), seed, STEPS,
        test_accuracy=curve(test), val_accuracy=curve(val), train_loss=flat(val_loss),
        lrs=np.zeros((L * S, 4, 1)), diverged=np.zeros(L * S, bool) if diverged is None else flat(diverged).astype(bool),
        takes_lr=takes_lr, val_loss=flat(val_loss), test_loss=flat(val_loss),
    )  # fmt: skip


def _curves(final_steps_to_target):
    """val-loss curves reaching 1.0 at the given step index and staying there."""
    return [1.0 + np.maximum(0, k - np.arange(5)) * 0.5 for k in final_steps_to_target]


LRS3 = (3e-4, 1e-3, 3e-3)


def _evaluation():
    flat_loss = np.ones((3, 2, 5)) * 2.0
    runsets = [
        # constant: val picks 3e-3 (0.90), where test is 0.80; test would pick 1e-3 (0.85)
        _runset("constant", "handcrafted", LRS3, [[0.5, 0.5], [0.8, 0.8], [0.9, 0.9]], [[0.5, 0.5], [0.85, 0.85], [0.8, 0.8]], flat_loss),
        # cosine: best at 1e-3; reaches its final val loss (1.0) at step 400
        _runset("cosine", "handcrafted", LRS3, [[0.6, 0.6], [0.95, 0.95], [0.7, 0.7]], [[0.6, 0.6], [0.9, 0.9], [0.7, 0.7]],
                [[_curves([4])[0]] * 2, _curves([4, 4]), [_curves([4])[0]] * 2]),
        # the policy: reaches the target at step 200 (seed 0) and never (seed 1, stays at 1.5)
        _runset("ganno", "ganno", LRS3, [[0.7, 0.7], [0.96, 0.96], [0.7, 0.7]], [[0.7, 0.7], [0.95, 0.85], [0.6, 0.6]],
                [flat_loss[0], [_curves([2])[0], np.full(5, 1.5)], flat_loss[0]],
                diverged=[[False, False], [False, False], [True, False]]),
        _runset("prodigy", "optimizer", (float("nan"),), [[0.5, 0.5]], [[0.875, 0.875]], [[_curves([1])[0]] * 2], takes_lr=False),
    ]  # fmt: skip
    return Evaluation(Task("mlp1", "digits", name="t"), LRS3, (0.1,), (0, 1), runsets, {})


def test_tuned_lr_is_picked_on_validation_and_scored_on_test():
    scores = M.task_scores("t", M.method_results(_evaluation(), "accuracy"), "accuracy", 1e-3)
    c = scores.methods["constant"]
    assert c["tuned_lr"] == 3e-3 and c["tuned"].tolist() == [0.8, 0.8]  # not 1e-3, where test is higher
    assert c["default"].tolist() == [0.85, 0.85]
    np.testing.assert_allclose(c["grid"], [(0.5 + 0.85 + 0.8) / 3] * 2)
    p = scores.methods["prodigy"]  # LR-free: one run per seed is every view
    assert p["tuned_lr"] is None and p["tuned"].tolist() == p["default"].tolist() == p["grid"].tolist() == [0.875] * 2
    assert scores.methods["ganno"]["divergences"] == 1 and scores.methods["ganno"]["runs"] == 6


def test_normalised_scores_are_zero_at_tuned_constant_and_one_at_best_schedule():
    scores = M.task_scores("t", M.method_results(_evaluation(), "accuracy"), "accuracy", 1e-3)
    assert scores.best_schedule == ("cosine", pytest.approx(0.9)) and scores.constant == pytest.approx(0.8)
    np.testing.assert_allclose(scores.methods["constant"]["normalised"]["tuned"], [0, 0], atol=1e-12)
    np.testing.assert_allclose(scores.methods["cosine"]["normalised"]["tuned"], [1, 1])
    np.testing.assert_allclose(scores.methods["ganno"]["normalised"]["tuned"], [1.5, 0.5])  # (0.95-0.8)/0.1, (0.85-0.8)/0.1
    np.testing.assert_allclose(scores.methods["prodigy"]["normalised"]["default"], [0.75, 0.75])
    # a loss task turns the sign: lower is better, the same picks mean the same scores
    ev = _evaluation()
    for rs in ev.runsets:
        rs.test_loss = (1.0 - rs.test_accuracy) * M.LN2
        rs.val_loss = (1.0 - rs.val_accuracy) * M.LN2
    loss = M.task_scores("t", M.method_results(ev, "loss"), "loss", 1e-3)
    assert loss.methods["constant"]["tuned_lr"] == 3e-3
    np.testing.assert_allclose(loss.methods["ganno"]["normalised"]["tuned"], [1.5, 0.5])
    # when no schedule beats the constant LR by the minimum scale, that is the scale (no blow-up)
    ev = _evaluation()
    ev.runsets[1].test_accuracy[:] = 0.8 + 0.002  # cosine: 0.2 points above the tuned constant LR
    flat = M.task_scores("t", M.method_results(ev, "accuracy"), "accuracy", 1e-3)
    np.testing.assert_allclose(flat.methods["cosine"]["normalised"]["tuned"], [0.2, 0.2])  # 0.002 / minimum scale 0.01
    np.testing.assert_allclose(flat.methods["ganno"]["normalised"]["tuned"], [15.0, 5.0])


def test_speedup_is_celos_steps_ratio_at_tuned_lrs():
    scores = M.task_scores("t", M.method_results(_evaluation(), "accuracy"), "accuracy", 1e-3)
    assert scores.reference_lr == 1e-3
    np.testing.assert_allclose(scores.methods["cosine"]["speedup"], [1.0, 1.0])
    sp = scores.methods["ganno"]["speedup"]  # target 1.0 reached at step 200 vs the reference's 400; never
    assert sp[0] == pytest.approx(2.0) and math.isnan(sp[1])
    np.testing.assert_allclose(scores.methods["prodigy"]["speedup"], [4.0, 4.0])  # step 100 vs 400
    assert M.steps_to_reach(np.array([3.0, 2.0, 1.0, 2.0, 1.0]), STEPS, 1.0) == 200.0  # first time, not last


def test_iqm_aggregation_and_bootstrap_interval():
    rng = np.random.default_rng(0)
    tasks = []
    for k in range(5):
        methods = {m: {"label": m, "group": g, "normalised": {v: rng.normal(mu, 0.3, 3) for v in M.VIEWS},
                       "speedup": np.array([1.0, np.nan, 2.0]), "divergences": 1, "runs": 9}
                   for m, g, mu in (("a", "ganno", 1.0), ("b", "handcrafted", 0.0))}  # fmt: skip
        tasks.append(M.TaskScores(f"t{k}", "accuracy", (0, 1, 2), 0.5, ("b", 0.6), 1e-3, methods))
    agg = M.aggregate(tasks, reps=300)
    for m in ("a", "b"):
        flat = np.concatenate([t.methods[m]["normalised"]["tuned"] for t in tasks])
        assert agg[m]["tuned"]["iqm"] == pytest.approx(stats.trim_mean(flat, 0.25))
        lo, hi = agg[m]["tuned"]["ci"]
        assert lo < agg[m]["tuned"]["iqm"] < hi
        assert agg[m]["divergences"] == 5 and agg[m]["runs"] == 45
    assert agg["a"]["tuned"]["ci"][0] > agg["b"]["tuned"]["ci"][1]  # clearly separated means
    assert agg["a"]["speedup"]["iqm"] == pytest.approx(stats.trim_mean(np.tile([1.0, 0.0, 2.0], 5), 0.25))  # never = 0
    assert M.aggregate(tasks, reps=300) == agg  # a fixed random state: the same CIs every time


# ============================================================================ the command
def test_suites_cover_the_named_tasks_and_grids():
    quick, full = get_suite("quick"), get_suite("full")
    assert [t.scenario.network for t in quick.tasks] == ["mlp3", "cnn3", "resnet7", "vit2", "lm2"]
    assert {t.dataset.split(":")[0] for t in quick.tasks} == {"mnist_5k", "fashion_mnist", "fortunes"}
    assert full.seeds >= 3 and 1e-3 in full.lrs and 1e-3 in quick.lrs and len(full.lrs) == 5
    assert all(f.scenario.sl_steps > q.scenario.sl_steps for f, q in zip(full.tasks, quick.tasks))
    assert [t.metric for t in quick.tasks].count("loss") == 1


def test_missing_data_stops_before_any_compute_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(BC, "evaluate", lambda *a, **k: pytest.fail("computed without its data"))
    with pytest.raises(SystemExit) as e:
        BC.main(["--data-dir", str(tmp_path), "--policy", "none", "--out", str(tmp_path / "out")])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "apt-get install dataset-fashion-mnist" in err[0] and f"{tmp_path}/fashion-mnist" in err[0]
    assert not os.path.exists(tmp_path / "out")
    os.makedirs(tmp_path / "fashion-mnist")
    _write_fashion(str(tmp_path / "fashion-mnist"))
    with pytest.raises(SystemExit):
        BC.main(["--data-dir", str(tmp_path), "--policy", "none", "--tasks", "cnn-fmnist,lm-fortunes", "--out", str(tmp_path / "o")])
    assert "apt-get install fortunes" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--methods", "constant,cosine,nope"], r"unknown methods \['nope'\]"),
        (["--methods", "cosine,wsd"], r"must include \['constant', 'cosine'\].*missing \['constant'\]"),
        (["--tasks", "cnn-cifar"], r"no task 'cnn-cifar'"),
        (["--policy", "default", "--policy", "default"], "two policies have the label .GANNO \\(shipped default\\)."),
    ],
)
def test_bad_arguments_exit_2_naming_the_value(argv, match, capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        BC.main(argv + ["--tasks", "mlp-mnist5k"] * ("--tasks" not in argv) + ["--out", str(tmp_path)])
    assert e.value.code == 2
    import re

    assert re.search(match, capsys.readouterr().err)


TINY_SUITE = Suite("tiny", (task("a", "mlp", "mlp1", "digits", 40, tau=20, hidden=8),
                            task("b", "mlp", "mlp2", "digits", 40, tau=20, hidden=8)), (1e-3, 1e-2), 1)  # fmt: skip


def test_finished_tasks_are_kept_and_reused_on_a_rerun(tmp_path, monkeypatch):
    out = str(tmp_path / "bench")
    real = BC.evaluate
    calls = []

    def interrupted_on_b(scenario, *a, **k):
        calls.append(scenario.name)
        if scenario.name == "b":
            raise KeyboardInterrupt
        return real(scenario, *a, **k)

    monkeypatch.setattr(BC, "evaluate", interrupted_on_b)
    with pytest.raises(KeyboardInterrupt):
        BC.run_bench(TINY_SUITE, out, methods=("constant", "cosine"), figures=False)
    assert calls == ["a", "b"] and sorted(os.listdir(os.path.join(out, "tasks"))) == ["a"]  # no partial folder of b
    partial = json.load(open(os.path.join(out, "leaderboard.json")))
    assert partial["complete"] is False and partial["tasks_done"] == ["a"]
    assert partial["aggregate"]["cosine"]["tuned"]["ci"] is None  # intervals come with the last task
    assert "PARTIAL: 1 of 2 tasks" in open(os.path.join(out, "leaderboard.md")).read()

    def counted(scenario, *a, **k):
        calls.append(scenario.name)
        return real(scenario, *a, **k)

    monkeypatch.setattr(BC, "evaluate", counted)
    calls.clear()
    done = BC.run_bench(TINY_SUITE, out, methods=("constant", "cosine"), figures=False)
    assert calls == ["b"] and [t.task for t in done] == ["a", "b"]  # a reused, b computed
    board = json.load(open(os.path.join(out, "leaderboard.json")))
    assert board["complete"] is True and set(board["aggregate"]) == {"constant", "cosine"}
    recorded, kept = board["task_seconds"], json.load(open(os.path.join(out, "tasks", "a", TASK_FILE)))["seconds"]
    assert sorted(recorded) == ["a", "b"] and recorded["a"] == kept  # a's own time, read back from its first run
    md = open(os.path.join(out, "leaderboard.md")).read()
    assert "| Constant |" in md and "Compute: " in md and len(board["aggregate"]["cosine"]["tuned"]["ci"]) == 2
    calls.clear()
    BC.run_bench(TINY_SUITE, out, methods=("constant", "cosine", "wsd"), figures=False)  # other inputs: recomputed
    assert calls == ["a", "b"]


def test_finished_groups_are_kept_for_a_resume_and_for_another_policy(tmp_path, monkeypatch, capsys):
    """Stopped inside a task (after its first group of runs), the rerun reuses that group and
    computes only the other; a later run with a policy added computes only the policy's group."""
    from mava_ganno.evaluation import store
    from mava_ganno.evaluation.policies import policy_source

    out, methods = str(tmp_path / "bench"), ("constant", "cosine", "prodigy")  # two groups: schedules, Prodigy
    suite = Suite("tiny", TINY_SUITE.tasks[:1], TINY_SUITE.lrs, 1)
    real_put = store.RunCache.put

    def put_then_stop(self, *a, **k):
        real_put(self, *a, **k)
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(store.RunCache, "put", put_then_stop)
        with pytest.raises(KeyboardInterrupt):
            BC.run_bench(suite, out, methods=methods, figures=False)
    assert os.listdir(os.path.join(out, "tasks")) == [] and len(os.listdir(os.path.join(out, BC.RUNS_DIR))) == 1
    capsys.readouterr()
    runs = os.path.join(out, BC.RUNS_DIR)
    BC.run_bench(suite, out, methods=methods, figures=False, log=print)
    assert "reused 1 of 2 groups" in capsys.readouterr().out and os.listdir(os.path.join(out, "tasks")) == ["a"]
    # A task's compute is the sum of its groups' stored times, however many were reused: with
    # known times planted on both groups and the task's folder gone, the rerun reuses both and
    # records exactly their sum (the finishing run's own clock would give about nothing).
    planted_seconds = (1000.0, 250.0)
    for path, planted in zip(sorted(os.path.join(runs, f) for f in os.listdir(runs)), planted_seconds):
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        np.savez(path, **{**arrays, "seconds": np.array(planted)})
    shutil.rmtree(os.path.join(out, "tasks", "a"))
    BC.run_bench(suite, out, methods=methods, figures=False, log=print)
    assert "reused 2 of 2 groups" in capsys.readouterr().out
    recorded = json.load(open(os.path.join(out, "tasks", "a", BC.TASK_FILE)))
    assert recorded["seconds"] == sum(planted_seconds)  # stored bookkeeping, not a clock
    BC.run_bench(suite, out, [policy_source("default")], methods=methods, figures=False, log=print)
    log = capsys.readouterr().out
    assert "reused 2 of 3 groups" in log and "GANNO (shipped default) (greedy): 2 runs in" in log


def test_task_key_follows_the_policy_files_not_its_model_card(tmp_path):
    """A finished task is reused while the policy's weights and settings are the same; editing
    the folder's model card must not throw results away, retraining it must."""
    from mava_ganno.evaluation.policies import PolicySource
    from mava_ganno.policy.io import PARAMS_FILE, resolve_policy_dir

    folder = str(tmp_path / "pol")
    shutil.copytree(resolve_policy_dir("default"), folder)
    t, suite = TINY_SUITE.tasks[0], TINY_SUITE

    def key(label="P"):
        return BC.task_key(t, suite, ("constant",), [PolicySource(label, "ganno", None, folder)])

    before = key()
    with open(os.path.join(folder, "MODEL_CARD.md"), "a") as f:
        f.write("\nAn edited note.\n")
    assert key() == before
    assert key("Q") != before  # the label names the method's rows
    with open(os.path.join(folder, PARAMS_FILE), "r+b") as f:
        b = bytearray(f.read())
        b[-1] ^= 1
        f.seek(0)
        f.write(b)
    assert key() != before


def test_results_page_numbers_come_from_the_committed_leaderboard():
    """docs/bench.md's results tables are rows of the committed leaderboard.md, which is what
    leaderboard.json renders to."""
    from mava_ganno.bench.report import leaderboard_markdown

    root = os.path.join(os.path.dirname(__file__), "..", "docs")
    lines = set()
    for suite in ("quick", "full"):
        folder = os.path.join(root, "results", "bench", suite)
        board = json.load(open(os.path.join(folder, "leaderboard.json")))
        committed = open(os.path.join(folder, "leaderboard.md")).read()
        assert leaderboard_markdown(board) == committed and board["complete"] is True, suite
        assert board["suite"] == suite and len(board["tasks_done"]) == 5
        lines |= set(committed.splitlines())
    # the shipped policy, benchmarked into a folder of its own
    folder = os.path.join(root, "results", "study-wsd-decay-28-input-anchor-eval", "bench")
    committed = open(os.path.join(folder, "leaderboard.md")).read()
    assert leaderboard_markdown(json.load(open(os.path.join(folder, "leaderboard.json")))) == committed
    lines |= set(committed.splitlines())
    page = open(os.path.join(root, "bench.md")).read()
    results = page[page.index("## Results") :]
    rows = [line for line in results.splitlines() if line.startswith("| ")]
    assert len(rows) >= 2 * (1 + len(board["aggregate"]))  # both suites: the header and one row per method
    assert [r for r in rows if r not in lines] == []


def test_the_results_page_quotes_committed_files_only():
    """docs/results.md (the page a user reads, <= 150 lines): every table row is a row of the
    committed leaderboard or evaluation table it cites."""
    root = os.path.join(os.path.dirname(__file__), "..", "docs")
    page = open(os.path.join(root, "results.md")).read()
    assert len(page.splitlines()) <= 150
    sources = [os.path.join(root, "results", "bench", "full", "leaderboard.md"),
               os.path.join(root, "results", "study-wsd-decay-28-input-anchor-eval", "bench", "leaderboard.md"),
               os.path.join(root, "results", "study-wsd-decay-28-input-anchor-eval", "named-grid-summary.md"),
               os.path.join(root, "results", "cnn2-digits_to_cnn5-fashion_mnist", "table.md")]  # fmt: skip
    lines = set().union(*(open(p).read().splitlines() for p in sources))
    rows = [line for line in page.splitlines() if line.startswith("| ")]
    assert len(rows) >= 20 and [r for r in rows if r not in lines] == []


# ============================================================================ one writer, clean ends
def test_folder_lock_one_writer_and_stale_takeover(tmp_path):
    import subprocess
    import sys

    from mava_ganno.utils.files import FolderLock, FolderLockedError

    folder = str(tmp_path / "out")
    with FolderLock(folder):
        assert open(os.path.join(folder, ".lock")).read().strip() == str(os.getpid())
        with pytest.raises(FolderLockedError, match=rf"another run \(PID {os.getppid()}\)"):
            os.rename(os.path.join(folder, ".lock"), os.path.join(folder, ".mine"))
            open(os.path.join(folder, ".lock"), "w").write(f"{os.getppid()}\n")  # a live other process
            FolderLock(folder).__enter__()
        os.rename(os.path.join(folder, ".mine"), os.path.join(folder, ".lock"))
    assert not os.path.exists(os.path.join(folder, ".lock"))  # released
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    open(os.path.join(folder, ".lock"), "w").write(f"{dead.pid}\n")
    warnings = []
    with FolderLock(folder, warn=warnings.append):
        pass
    assert len(warnings) == 1 and f"PID {dead.pid}" in warnings[0] and "no longer running" in warnings[0]


def _bench_cmd(out):
    import sys

    return [sys.executable, "-m", "mava_ganno.bench.cli", "--suite", "quick", "--tasks", "mlp-mnist5k", "--policy", "none",
            "--methods", "constant,cosine", "--no-figures", "--out", out]  # fmt: skip


def test_second_run_on_a_locked_folder_exits_2_naming_the_holder(tmp_path):
    import subprocess

    out = str(tmp_path / "out")
    os.makedirs(out)
    open(os.path.join(out, ".lock"), "w").write(f"{os.getpid()}\n")  # this test process: alive
    r = subprocess.run(_bench_cmd(out), capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr
    assert f"PID {os.getpid()}" in r.stderr and out in r.stderr and "Traceback" not in r.stderr
    assert not os.path.exists(os.path.join(out, "tasks"))


def test_sigterm_ends_the_bench_with_one_line_and_exit_143(tmp_path):
    import signal
    import subprocess
    import time

    out = str(tmp_path / "out")
    p = subprocess.Popen(_bench_cmd(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    line = ""
    while "[evaluate] mlp-mnist5k" not in line and time.time() - t0 < 240:  # the task is computing
        line = p.stdout.readline()
        assert line or p.poll() is None, p.stderr.read()
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 143, err
    assert "SIGTERM: the finished tasks are kept" in err and "--tasks mlp-mnist5k" in err and "Traceback" not in err
    assert not os.path.exists(os.path.join(out, ".lock"))  # released on the way out
    assert os.listdir(os.path.join(out, "tasks")) == []  # nothing half-written


def test_baselines_of_a_finished_benchmark_are_reused_from_its_csv_files(tmp_path, capsys):
    """A benchmark written without its group cache (as results committed before the cache
    existed) lends its baseline runs to another one: they are rebuilt from its CSV files, not
    run again, and score the same; a task of another grid reuses nothing."""
    suite = Suite("tiny", TINY_SUITE.tasks[:1], TINY_SUITE.lrs, 2)
    methods = ("constant", "cosine", "prodigy")
    first = str(tmp_path / "first")
    BC.run_bench(suite, first, methods=methods, figures=False, log=print)
    shutil.rmtree(os.path.join(first, BC.RUNS_DIR))  # as the committed legacy results: CSV files only
    capsys.readouterr()
    second = str(tmp_path / "second")
    (done,) = BC.run_bench(suite, second, methods=methods, figures=False, log=print, reuse=[first])
    log = capsys.readouterr().out
    assert "2 group(s) of baseline runs taken from" in log and "reused 2 of 2 groups" in log
    ref = json.load(open(os.path.join(first, "tasks", "a", TASK_FILE)))["scores"]
    got, want = _leaves(done.to_json()), _leaves(ref)
    assert got.keys() == want.keys() and len(got) > 60
    for k, v in want.items():  # curves come back at 7 significant digits
        assert got[k] == (pytest.approx(v, rel=1e-6) if isinstance(v, float) else v), k
    from mava_ganno.evaluation.harness import reuse_finished_baselines
    from mava_ganno.evaluation.store import RunCache

    done_task, sc = os.path.join(first, "tasks", "a"), suite.tasks[0].scenario
    take = lambda sc, lrs, seeds: reuse_finished_baselines(  # noqa: E731
        done_task, RunCache(str(tmp_path / "cache" / str(len(os.listdir(tmp_path))))), sc, lrs=lrs, weight_decays=(0.1,),
        seeds=seeds, methods=methods, log=print)  # fmt: skip
    assert take(sc, suite.lrs, 2) == 2
    assert take(sc, (1e-3, 3e-3), 2) == 1  # 3e-3 was never run; Prodigy takes no LR: its runs still fit
    assert take(sc, suite.lrs, 3) == 0  # seed 2 was never run
    assert take(Task(**{**sc.__dict__, "sl_steps": 60}), suite.lrs, 2) == 0  # another budget


def test_reuse_needs_a_benchmark_folder(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        BC.main(["--suite", "quick", "--policy", "none", "--reuse", str(tmp_path), "--out", str(tmp_path / "o")])
    assert e.value.code == 2 and "not a benchmark's output folder" in capsys.readouterr().err


def _leaves(tree, prefix=""):
    """A JSON tree as {path: leaf}."""
    if isinstance(tree, dict):
        return {k: v for key, sub in tree.items() for k, v in _leaves(sub, f"{prefix}/{key}").items()}
    if isinstance(tree, list):
        return {k: v for i, sub in enumerate(tree) for k, v in _leaves(sub, f"{prefix}/{i}").items()}
    return {prefix: tree}
