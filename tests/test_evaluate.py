"""The evaluation harness (mava_ganno.evaluation.harness) and its outputs (mava_ganno.evaluation.store)."""

from __future__ import annotations

import csv
import json
import math
import os

import jax
import numpy as np
import pytest

from mava_ganno.env import Ganno, make_ganno
from mava_ganno.env import observations as OBS
from mava_ganno.env.generator import InitialConditionsGenerator
from mava_ganno.env.rewards import HoldOutAccuracy
from mava_ganno.evaluation import baselines as B
from mava_ganno.evaluation import batching as BAT
from mava_ganno.evaluation import cli as CLI
from mava_ganno.evaluation import figures as FIG
from mava_ganno.evaluation import harness as E
from mava_ganno.evaluation import policies as P
from mava_ganno.evaluation import records as REC
from mava_ganno.evaluation import rollouts as RO
from mava_ganno.evaluation import store as R
from mava_ganno.evaluation.compiles import count_compiles
from mava_ganno.policy import init_policy, init_policy_for_env, save_policy

TINY_SCENARIO = dict(tau=5, sl_steps=20, hidden=16)  # = conftest.TINY: mlp2 on digits
LRS = (0.0, 1e-3, 1e30)  # 1e30 makes every baseline that takes an LR diverge
METHODS = ("constant", "onecycle", "warmup_cosine", "prodigy", "velo")


# ----------------------------------------------------------------------------- a tiny evaluation
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A tiny evaluation: two baseline families (the AdamW bank: constant, onecycle,
    warmup_cosine; prodigy), an untrained GANNO policy, a no-op and the random agent; its
    compilations are counted."""
    sc = REC.make_scenario("mlp2-digits", **TINY_SCENARIO)
    env = Ganno(sc, reward_fn=HoldOutAccuracy(), track_test=True)
    policy = P.describe_policy(init_policy_for_env(env, jax.random.PRNGKey(0)), path="untrained")
    noop = P.PolicySource("No-op agent", "random", P.NoopPolicy(env.action_table.entries))
    with count_compiles() as compiles:
        ev = E.evaluate(
            sc, [policy, noop], lrs=LRS, weight_decays=(0.1,), seeds=2, methods=METHODS, log=lambda s: None
        )
    out = str(tmp_path_factory.mktemp("results") / "tiny")
    files = R.write_all(ev, out, command=["pytest"])
    return ev, out, files, compiles


@pytest.fixture(scope="module")
def tiny_eval(tiny_run):
    return tiny_run[:3]


def test_one_baseline_runner_and_one_policy_runner_are_compiled(tiny_run):
    """Two baseline families share one compiled runner (lax.switch on an unbatched family
    index), and GANNO, the no-op agent and the random agent share one policy runner."""
    compiles = tiny_run[3]
    if not compiles.supported:
        pytest.skip(compiles.message)
    assert sorted(name for name, _ in compiles.runners()) == ["jit(baseline_runner)", "jit(policy_runner)"]
    assert compiles.count >= 2  # plus small eager ops; how long they took is benchmarks/eval_grid.py's business


def _read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_evaluation_writes_every_file_with_the_right_columns(tiny_eval):
    ev, out, files = tiny_eval
    expected = {
        "table.csv", "table.md", "curves.csv", "layer_lrs.csv", "config.json",
        "fig_layer_schedules.png", "fig_ganno_vs_onecycle.png", "fig_test_accuracy.png",
    }
    assert {os.path.basename(f) for f in files} == expected
    for name in expected:
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    rows = _read_csv(os.path.join(out, "table.csv"))
    assert tuple(rows[0].keys()) == R.CSV_COLUMNS
    count = {}
    for r in rows:
        count[r["label"]] = count.get(r["label"], 0) + 1
    # LR methods: 2 positive LRs x 2 seeds (a schedule from LR 0 is not run); Prodigy: 2 seeds;
    # policies: 3 LRs (0 included) x 2 seeds, GANNO in both modes; VeLO: no rows.
    assert count == {
        "Constant": 4, "Linear warm-up, cosine decay": 4, "Cosine one-cycle": 4, "Prodigy": 2,
        "GANNO (sampled)": 6, "GANNO (greedy)": 6, "Random layerwise agent": 6, "No-op agent": 6,
    }
    assert {r["initial_lr"] for r in rows if r["label"] == "Prodigy"} == {""}
    curves = _read_csv(os.path.join(out, "curves.csv"))
    assert len(curves) == len(rows) * (ev.scenario.num_chunks + 1)
    lrs_rows = _read_csv(os.path.join(out, "layer_lrs.csv"))
    assert len(lrs_rows) == 4 * 6 * ev.scenario.num_chunks  # 4 policy sets x 6 runs x chunks
    assert [k for k in lrs_rows[0] if k.startswith("layer_")] == ["layer_1", "layer_2", "layer_3"]
    meta = json.load(open(os.path.join(out, "config.json")))
    assert meta["unavailable"] == {"velo": B.BASELINES["velo"].note}


def test_markdown_has_the_paper_tables(tiny_eval):
    _, out, _ = tiny_eval
    md = open(os.path.join(out, "table.md")).read()
    assert "Table 1 analogue" in md and "Table 2 analogue" in md and "Table 3 analogue" in md
    assert "| VeLO | / | / | not run:" in md
    assert "| GANNO from LR = 0 (greedy) | / | / |" in md
    # table.md is rebuilt identically from table.csv + config.json alone.
    R.main([out, "--no-figures"])
    assert open(os.path.join(out, "table.md")).read() == md


def test_results_folder_reloads_for_new_figures(tiny_eval, tmp_path):
    ev, out, _ = tiny_eval
    again = R.load_evaluation(out)
    assert [rs.label for rs in again.runsets] == [rs.label for rs in ev.runsets]
    for a, b in zip(again.runsets, ev.runsets):
        np.testing.assert_allclose(a.test_accuracy, b.test_accuracy, rtol=1e-6)
        for name in ("test_accuracy", "val_accuracy", "train_loss", "val_loss", "test_loss"):  # the final point exactly
            np.testing.assert_array_equal(getattr(a, name)[:, -1], getattr(b, name)[:, -1])
        np.testing.assert_allclose(a.lrs, b.lrs, rtol=1e-6)  # NaN where they are NaN
        assert a.diverged.tolist() == b.diverged.tolist() and a.takes_lr == b.takes_lr
    files = FIG.write_figures(again, str(tmp_path), figure_lr=1e-3)
    assert len(files) == 3 and all(os.path.getsize(f) > 0 for f in files)


def test_divergence_is_recorded_not_raised(tiny_eval):
    ev, out, _ = tiny_eval
    rows = _read_csv(os.path.join(out, "table.csv"))
    for label in ("Constant", "Cosine one-cycle"):
        huge = [r for r in rows if r["label"] == label and float(r["initial_lr"]) > 1]
        assert huge and all(r["diverged"] == "true" for r in huge)
        assert all(float(r["final_test_accuracy"]) == pytest.approx(0.1) for r in huge)
        assert all(r["final_train_loss"] == "inf" for r in huge)
        sane = [r for r in rows if r["label"] == label and float(r["initial_lr"]) == pytest.approx(1e-3)]
        assert all(r["diverged"] == "false" and math.isfinite(float(r["final_train_loss"])) for r in sane)
    rs = ev.get("Constant")
    i = int(np.nonzero(rs.lr > 1)[0][0])
    assert np.isnan(rs.lrs[i, -1]).all()  # no LR is reported after the run diverged


def test_constant_schedule_equals_the_noop_agent(tiny_eval):
    """Baselines see the same init and minibatches as policy runs with the same seed."""
    ev, _, _ = tiny_eval
    const, noop = ev.get("Constant"), ev.get("No-op agent")
    for lr in (1e-3,):  # (above lr_max the env clips the LR at the first action; a schedule can't)
        i = np.nonzero(np.isclose(const.lr, lr))[0]
        j = np.nonzero(np.isclose(noop.lr, lr))[0]
        assert const.seed[i].tolist() == noop.seed[j].tolist() == [0, 1]
        np.testing.assert_allclose(const.test_accuracy[i], noop.test_accuracy[j], atol=1e-6)
        np.testing.assert_allclose(const.val_accuracy[i], noop.val_accuracy[j], atol=1e-6)
        np.testing.assert_allclose(const.train_loss[i], noop.train_loss[j], rtol=1e-4)
        assert const.diverged[i].tolist() == noop.diverged[j].tolist()
    i = np.nonzero(np.isclose(const.lr, 1e-3))[0]
    j = np.nonzero(np.isclose(noop.lr, 1e-3))[0]
    np.testing.assert_allclose(const.lrs[i, :, 0], noop.lrs[j, :, 0], rtol=1e-6)


def test_a_diverging_policy_run_is_recorded():
    gen = InitialConditionsGenerator(lr=1e-3, weight_decay=0.1)
    env = make_ganno(gen, network="mlp2", dataset="digits", tau=5, sl_steps=20, hidden=16,
                difference_reward=False, track_test=True, lr_max=1e30)
    policy = P.RandomPolicy(env.action_table.entries, lr_max=1e30)
    args = [
        BAT.seed_keys(np.array([0, 1])),
        np.array([1e30, 1e-3], np.float32),
        np.array([0.1, 0.1], np.float32),
        np.array([False, False]),
    ]
    run = RO.make_policy_run(env, 0.1)
    out = BAT.vmapped_runs(run, args, 8, shared=(policy,))
    assert out["diverged"].tolist() == [True, False]
    assert out["test_accuracy"][0, -1] == pytest.approx(0.1) and np.isinf(out["train_loss"][0, -1])
    assert np.isfinite(out["train_loss"][1]).all()
    assert np.isnan(out["lrs"][0, -1]).all() and np.isfinite(out["lrs"][1]).all()


def test_sequential_runs_equal_the_vmapped_ones(tiny_eval, tiny_eval_env):
    """The benchmark's reference loop (one jitted run at a time) gives the same numbers."""
    ev, _, _ = tiny_eval
    const = ev.get("Constant")
    i = np.nonzero(np.isclose(const.lr, 1e-3))[0]
    env = tiny_eval_env.env  # the same network, data and budget as the evaluation
    run = B.make_baseline_run(env.trainer, "constant", ev.scenario.num_chunks, 0.1)
    args = [BAT.seed_keys(const.seed[i]), const.lr[i], const.weight_decay[i], np.zeros(len(i), np.int32)]
    seq = BAT.sequential_runs(run, args)
    np.testing.assert_allclose(seq["test_accuracy"], const.test_accuracy[i], atol=1e-6)
    np.testing.assert_allclose(seq["train_loss"], const.train_loss[i], rtol=1e-5)


def test_the_shared_policy_runner_equals_the_policy_alone(tiny_eval, tiny_eval_env):
    """GANNO run through the shared runner (SharedPolicy, lax.cond) == the policy on its own."""
    ev, _, _ = tiny_eval
    rs = ev.get("GANNO (greedy)")
    i = np.nonzero(np.isclose(rs.lr, 1e-3))[0]
    env = tiny_eval_env.env
    policy = init_policy_for_env(env, jax.random.PRNGKey(0))  # the evaluation's untrained policy
    args = [BAT.seed_keys(rs.seed[i]), rs.lr[i].astype(np.float32), rs.weight_decay[i].astype(np.float32), np.ones(len(i), bool)]
    alone = BAT.vmapped_runs(RO.make_policy_run(env, 0.1), args, 8, shared=(policy,))
    np.testing.assert_allclose(alone["test_accuracy"], rs.test_accuracy[i], atol=1e-6)
    np.testing.assert_allclose(alone["lrs"], rs.lrs[i], rtol=1e-6)


# ----------------------------------------------------------------------------- inputs
def test_bad_inputs_raise_clear_errors(tmp_path):
    sc = REC.make_scenario("mlp2-digits", **TINY_SCENARIO)
    with pytest.raises(ValueError, match=r"unknown methods \['cosin'\]"):
        E.evaluate(sc, methods=("cosin",))
    with pytest.raises(ValueError, match="initial LR -0.001"):
        E.evaluate(sc, lrs=(-1e-3,))
    with pytest.raises(ValueError, match="policy modes"):
        E.evaluate(sc, policy_modes=("argmax",))
    with pytest.raises(ValueError, match="scenario 'mlp2-digits': sl_steps must be a positive multiple of tau=5, got 22; e.g. sl_steps=20"):
        REC.make_scenario("mlp2-digits", tau=5, sl_steps=22)
    with pytest.raises(ValueError, match="scenario 'transformer' is neither"):
        REC.make_scenario("transformer")
    with pytest.raises(ValueError, match="scenario 'rnn2-digits': unknown network 'rnn2'"):
        REC.make_scenario("rnn2-digits")
    with pytest.raises(SystemExit, match="--lrs must be comma-separated numbers"):
        CLI.main(["--lrs", "1e-3,fast"])
    with pytest.raises(FileNotFoundError, match="policy.json"):
        P.load_policy_any(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        P.load_policy_any(str(tmp_path / "missing"))


def test_policies_load_and_are_labelled(tmp_path):
    table = ("+0", "*1.1", "/1.1")
    full = init_policy(jax.random.PRNGKey(0), OBS.FEATURE_SETS["full"], table, 0.1)
    save_policy(str(tmp_path / "full"), full)
    loaded = P.load_policy_any(str(tmp_path / "full"))
    src = P.describe_policy(loaded)
    assert (src.label, src.group, src.single_agent) == ("GANNO", "ganno", False)
    # Labels come from the feature set (and metadata for the single-agent ablation).
    lr_only = loaded.replace(feature_names=OBS.FEATURE_SETS["lr_only"])
    assert (P.describe_policy(lr_only).label, P.describe_policy(lr_only).group) == ("GANNO-LR-only", "ablation")
    for name, label in (("robust", "GANNO-robust"), ("robust_input", "GANNO-robust-input")):  # GANNO sets, not ablations
        other = P.describe_policy(loaded.replace(feature_names=OBS.FEATURE_SETS[name]))
        assert (other.label, other.group) == (label, "ganno")
    custom = loaded.replace(feature_names=OBS.FEATURE_SETS["full"][:5])
    assert (P.describe_policy(custom).label, P.describe_policy(custom).group) == ("GANNO-custom-features", "ablation")
    step_only = loaded.replace(feature_names=OBS.FEATURE_SETS["timestep_only"])
    assert P.describe_policy(step_only).label == "GANNO-timestep-only"
    single = loaded.replace(feature_names=OBS.FEATURE_SETS["single_agent"], metadata_json='{"env": {"single_agent": true}}')
    src = P.describe_policy(single)
    assert (src.label, src.single_agent) == ("GANNO-single-agent", True)
    assert P.describe_policy(loaded, label="Mine").label == "Mine"
    assert P.parse_policy_arg(f"Mine={tmp_path / 'full'}") == ("Mine", str(tmp_path / "full"))
    assert P.parse_policy_arg(str(tmp_path / "full")) == (None, str(tmp_path / "full"))


def test_the_cli_keeps_the_runs_finished_before_a_failure(tmp_path, monkeypatch, capsys):
    """ganno evaluate keeps every finished job: when the third job (the random agent) fails, the
    two baseline jobs' runs are in ``<name>.partial/`` beside the (never written) results folder,
    marked partial; a rerun reuses them, runs the third and writes the complete folder."""
    calls = []
    real = E.vmapped_runs

    def failing_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("simulated failure in the third job")
        return real(*args, **kwargs)

    argv = ["--scenario", "mlp2-digits", "--tau", "5", "--sl-steps", "20", "--hidden", "16", "--lrs", "1e-3",
            "--weight-decays", "0.1", "--seeds", "1", "--methods", "constant,prodigy", "--no-figures",
            "--out", str(tmp_path), "--name", "run"]
    monkeypatch.setattr(E, "vmapped_runs", failing_third)
    with pytest.raises(RuntimeError, match="simulated"):
        CLI.main(argv)
    assert not (tmp_path / "run").exists()
    partial = tmp_path / "run.partial"
    meta = json.load(open(partial / "config.json"))
    assert meta["complete"] is False and "partial" in meta["title"]
    labels = {r["label"] for r in csv.DictReader(open(partial / "table.csv"))}
    assert labels == {"Constant", "Prodigy"}
    assert R.load_evaluation(str(partial)).complete is False
    monkeypatch.setattr(E, "vmapped_runs", real)
    capsys.readouterr()
    CLI.main(argv)
    assert "reused 2 of 3 groups" in capsys.readouterr().out
    out = tmp_path / "run"
    meta = json.load(open(out / "config.json"))
    assert meta["complete"] is True and not partial.exists()
    assert "Random layerwise agent" in {r["label"] for r in csv.DictReader(open(out / "table.csv"))}


def test_a_policy_trained_with_an_lr_decay_is_evaluated_with_it():
    """The evaluation env of a policy takes the policy's ``lr_decay`` (its metadata): a policy
    that always takes the no-op anneals along the cosine decay from its initial LR."""
    sc = REC.make_scenario("mlp2-digits", **TINY_SCENARIO)
    decay_env = Ganno(sc, reward_fn=HoldOutAccuracy(), lr_decay="cosine")
    policy = init_policy_for_env(decay_env, jax.random.PRNGKey(0))
    assert policy.metadata["lr_decay"] == "cosine"
    head = policy.params["params"]["action_head"]["Dense_0"]  # always the no-op: only its bias is large
    head["kernel"] = head["kernel"] * 0.0
    head["bias"] = (head["bias"] * 0.0).at[decay_env.action_table.noop_index].set(100.0)
    ev = E.evaluate(sc, [P.describe_policy(policy, path="noop-decay")], lrs=(1e-3,), weight_decays=(0.1,), seeds=1,
                    methods=(), policy_modes=("greedy",), log=lambda s: None)
    lrs = ev.get("GANNO (greedy)").lrs[0, :, 0]  # (the random agent runs beside it, in the same env)
    cosine = 1e-3 * (1 + np.cos(np.pi * np.arange(decay_env.time_limit) / decay_env.time_limit)) / 2
    np.testing.assert_allclose(lrs, cosine, rtol=1e-5)
