"""experiments/ship_policy.py: a policy that passed the shipping rule is copied into a shipped
folder with its selection in its metadata, parameters byte-identical; one that failed is refused."""

from __future__ import annotations

import json

import jax
import pytest

from mava_ganno.env.observations import FEATURE_SETS
from mava_ganno.policy import CONFIG_FILE, PARAMS_FILE, init_policy, load_policy, save_policy


def _split_output(path, policy, score, worst, at_default=1.0, tuned=-0.5, advantage=5.0):
    row = {"seeds": "26,27", "validation_score": score, "validation_advantage": advantage, "validation_at_default": at_default,
           "validation_tuned": tuned, "validation_worst": worst}  # fmt: skip
    path.write_text(f"note\n\n{json.dumps({'mode': 'greedy', 'policy': policy, 'rows': [row, dict(row, seeds='26')]})}\n\n| table |\n")
    return str(path)


@pytest.fixture()
def study(tmp_path):
    cand = tmp_path / "results" / "round" / "clone_s0"
    meta = {"source": "behaviour_cloning", "seed": 0, "demonstrations_file": "/elsewhere/demos.npz"}
    pol = init_policy(jax.random.PRNGKey(3), FEATURE_SETS["robust"], ("+0", "*2", "/2"), 0.1)
    save_policy(str(cand), pol.replace(metadata_json=json.dumps(meta)))
    scores = tmp_path / "rescore.jsonl"
    rows = [{"policy": f"results/round/clone_s{s}", "validation_mode": "greedy", "validation_score": 3.0 - s,
             "validation_advantage": 7.0, "validation_at_default": 2.0, "validation_tuned": -0.2, "validation_worst": -1.6}
            for s in (0, 1)]  # fmt: skip
    scores.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "shipped"
    old = init_policy(jax.random.PRNGKey(4), FEATURE_SETS["robust"], ("+0", "*2", "/2"), 0.1)
    save_policy(str(out), old.replace(metadata_json=json.dumps({"run": "old-run"})))
    (out / "MODEL_CARD.md").write_text("card\n")
    return cand, str(scores), out, tmp_path


def test_a_passing_candidate_ships_with_its_selection_and_unchanged_parameters(experiment_script, study, capsys):
    ship = experiment_script("ship_policy")
    cand, scores, out, tmp = study
    fresh, bar = _split_output(tmp / "c.md", str(cand), 3.26, -1.49), _split_output(tmp / "d.md", "default", 2.92, -1.70)
    args = [str(cand), "--scores", scores, "--fresh", fresh, "--bar", bar, "--scenario", "pool-deep", "--run", "round/clone_s0"]
    assert ship.main([*args, "--out", str(out)]) == 0
    assert (out / PARAMS_FILE).read_bytes() == (cand / PARAMS_FILE).read_bytes()
    assert (out / "MODEL_CARD.md").read_text() == "card\n"  # the card is kept, rewritten by hand
    meta = load_policy(str(out)).metadata
    provenance = (meta["scenario"], meta["run"], meta["validation_mode"], meta["source"])
    assert provenance == ("pool-deep", "round/clone_s0", "greedy", "behaviour_cloning")
    assert meta["validation_score"] == 3.0 and meta["validation_worst"] == -1.6  # clone_s0's rule-1' row, not clone_s1's
    sel = meta["selection"]
    assert sel["passed"] and sel["rule_1_scores"] == scores and sel["rule_3"]["score"] == "suite"
    assert sel["rule_3"]["margin"] == 0 and sel["rule_3"]["lead"] == pytest.approx(0.34)
    assert sel["rule_3_candidate"]["validation_score"] == 3.26 and sel["rule_3_candidate"]["seeds"] == "26,27"  # all seeds
    assert sel["rule_3_incumbent"]["policy"] == "default (old-run)" and sel["rule_3_incumbent"]["validation_worst"] == -1.70
    assert meta["demonstrations_file"] == "/elsewhere/demos.npz"  # outside the repository: left as recorded
    assert "passed" in capsys.readouterr().out
    assert ship.main([*args, "--out", str(out), "--checkout", "/elsewhere/"]) == 0  # a worktree the study ran in
    assert load_policy(str(out)).metadata["demonstrations_file"] == "demos.npz"


@pytest.mark.parametrize("score, worst, why", [(2.90, -1.49, "suite score 2.90 (incumbent 2.92, lead -0.02, needed > 0)"),
                                               (3.26, -1.80, "worst -1.80")])
def test_a_candidate_that_failed_the_rule_is_refused_and_nothing_is_written(experiment_script, study, capsys, score, worst,
                                                                            why):  # fmt: skip
    ship = experiment_script("ship_policy")
    cand, scores, out, tmp = study
    before = {f: (out / f).read_bytes() for f in (CONFIG_FILE, PARAMS_FILE)}
    fresh, bar = _split_output(tmp / "c.md", str(cand), score, worst), _split_output(tmp / "d.md", "default", 2.92, -1.70)
    args = [str(cand), "--scores", scores, "--fresh", fresh, "--bar", bar, "--scenario", "pool-deep", "--run", "r"]
    assert ship.main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "did not pass rule 3" in err and why in err and "must not ship" in err
    assert {f: (out / f).read_bytes() for f in before} == before
    # a passing candidate with a scores file without its row, or a rescore output that is not a split one
    fresh = _split_output(tmp / "c.md", str(cand), 3.26, -1.49)
    rest = ["--bar", bar, "--scenario", "p", "--run", "r", "--out", str(out)]
    assert ship.main([str(cand), "--scores", bar, "--fresh", fresh, *rest]) == 2
    assert "0 rows for round/clone_s0" in capsys.readouterr().err
    assert ship.main([str(cand), "--scores", scores, "--fresh", scores, *rest]) == 2
    assert "not a rescore_validation.py --split output" in capsys.readouterr().err
    assert {f: (out / f).read_bytes() for f in before} == before


def test_a_margin_and_the_bar_score_decide_when_asked(experiment_script, study, capsys):
    """``--margin``: a lead below it fails; ``--score bar``: (at_default + tuned) / 2 decides, and
    a candidate whose grid mean is below the best schedule's (advantage < 0) fails."""
    ship = experiment_script("ship_policy")
    cand, scores, out, tmp = study
    bar = _split_output(tmp / "d.md", "default", 3.45, -1.57, at_default=2.59, tuned=-0.15)
    rest = ["--bar", bar, "--scenario", "p", "--run", "r", "--out", str(out)]

    def ship_with(extra, **row):
        fresh = _split_output(tmp / "c.md", str(cand), **{"score": 3.53, "worst": -0.54, "at_default": 2.75, "tuned": -0.21, **row})
        return ship.main([str(cand), "--scores", scores, "--fresh", fresh, *rest, *extra])

    assert ship_with(["--margin", "0.2"]) == 2  # +0.08 < 0.2
    assert "lead +0.08, needed > 0 and >= 0.2" in capsys.readouterr().err
    assert ship_with(["--score", "bar"]) == 0  # bar score 1.27 against 1.22
    rule = {"score": "bar", "margin": 0.0, "worst_tolerance": 0.0, "lead": 0.05}
    assert load_policy(str(out)).metadata["selection"]["rule_3"] == pytest.approx(rule)
    assert ship_with(["--score", "bar", "--margin", "0.2"], at_default=3.0) == 2  # 1.395 against 1.22: +0.18
    assert ship_with(["--score", "bar", "--margin", "0.2"], at_default=3.2) == 0  # 1.495 against 1.22: +0.28
    assert ship_with(["--score", "bar"], at_default=3.0, advantage=-0.1) == 2
    assert "advantage -0.10 (needed >= 0)" in capsys.readouterr().err
    assert ship_with(["--score", "bar"], score=9.0, at_default=2.0) == 2  # the suite score does not count here
    assert "bar score 0.90 (incumbent 1.22" in capsys.readouterr().err
    assert ship_with(["--margin", "-1"]) == 2
    assert "margin -1.0 must be a number >= 0" in capsys.readouterr().err


def test_a_worst_tolerance_lets_a_worst_cell_be_that_much_lower_and_no_more(experiment_script, study, capsys):
    """``--worst-tolerance``: the worst cell may be below the incumbent's by at most that much
    (a candidate 0.017 lower is refused without it and ships with 0.1; one 0.14 lower does not)."""
    ship = experiment_script("ship_policy")
    cand, scores, out, tmp = study
    bar = _split_output(tmp / "d.md", "default", 3.76, -0.558)
    rest = ["--bar", bar, "--scenario", "p", "--run", "r", "--out", str(out), "--margin", "0.2"]

    def ship_with(extra, worst):
        fresh = _split_output(tmp / "c.md", str(cand), 4.07, worst)
        return ship.main([str(cand), "--scores", scores, "--fresh", fresh, *rest, *extra])

    assert ship_with([], -0.575) == 2
    assert "worst -0.57 (incumbent -0.56); it must not ship" in capsys.readouterr().err
    assert ship_with(["--worst-tolerance", "0.1"], -0.575) == 0
    assert load_policy(str(out)).metadata["selection"]["rule_3"] == pytest.approx(
        {"score": "suite", "margin": 0.2, "worst_tolerance": 0.1, "lead": 0.31})
    assert ship_with(["--worst-tolerance", "0.1"], -0.70) == 2
    assert "worst -0.70 (incumbent -0.56, needed >= -0.66)" in capsys.readouterr().err
    assert ship_with(["--worst-tolerance", "-0.1"], -0.575) == 2
    assert "worst tolerance -0.1 must be a number >= 0" in capsys.readouterr().err
