"""Copy a policy that passed the shipping rule into a shipped-policy folder, with its selection
recorded in its metadata.

The parameters and everything but the metadata are copied unchanged (``params.msgpack`` is
byte-identical; checked). The metadata gains what the model card and the tests read:

- ``scenario``, ``run``: the training pool and the run (or clone) the policy comes from;
- ``validation_mode`` and the ``validation_*`` scores of the row of ``--scores`` (a
  ``rescore_validation.py`` JSON-lines file, rule 1') whose ``policy`` is the source folder;
- ``selection``: the rule-1' scores file, the rule-3 rows (all seeds together) of ``--fresh`` (the candidate) and
  ``--bar`` (the incumbent), both ``rescore_validation.py --split`` outputs, the rule and
  whether the candidate passed; an incumbent scored as ``default`` is named by the ``run`` of
  the policy in ``--out`` it replaces. A candidate that did not pass is refused and nothing is
  written.

The rule (``--score``, ``--margin``, ``--worst-tolerance``): the candidate passes when its score
is above the incumbent's, by at least ``--margin`` when that is above 0, and its worst cell is not
lower than the incumbent's by more than ``--worst-tolerance`` (default 0: not lower).
``--score suite`` (default) compares ``validation_score``; ``--score bar`` compares the bar
score ``(validation_at_default + validation_tuned) / 2`` and also needs the candidate's
``validation_advantage`` >= 0 (its grid mean not below the best schedule's).

A path under the repository's checkout, or under another checkout named by ``--checkout`` (a
worktree the study ran in), is made relative to it (``demonstrations_file``). Usage::

    python experiments/ship_policy.py docs/results/study-wsd-decay-clone-above/clone_s0 \\
        --scores docs/results/study-wsd-decay-clone-above/rescore_clones.jsonl \\
        --fresh docs/results/fresh-seeds/clone-above_26-29.md \\
        --bar docs/results/fresh-seeds/default_26-29.md \\
        --scenario pool-deep --run study-wsd-decay-clone-above/clone_s0 --out mava_ganno/policies/default
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, List, Optional

SCORE_KEYS = ("validation_score", "validation_advantage", "validation_at_default", "validation_tuned", "validation_worst")
SCORES = ("suite", "bar")


def rule_score(row: Dict[str, Any], score: str) -> float:
    """The score rule 3 compares: ``validation_score`` (suite) or the bar score (bar)."""
    if score == "suite":
        return float(row["validation_score"])
    if score == "bar":
        return (float(row["validation_at_default"]) + float(row["validation_tuned"])) / 2
    raise ValueError(f"unknown score {score!r}; one of {SCORES}")


def _json_rows(path: str) -> List[Dict[str, Any]]:
    """Every line of ``path`` that is a JSON object (rescore outputs mix them with tables)."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def scores_row(path: str, policy: str) -> Dict[str, Any]:
    """The rule-1' row of ``path`` for ``policy`` (matched on the folder's last two parts)."""
    want = os.path.normpath(policy).split(os.sep)[-2:]
    rows = [r for r in _json_rows(path) if os.path.normpath(r["policy"]).split(os.sep)[-2:] == want]
    if len(rows) != 1:
        raise ValueError(f"{path} has {len(rows)} rows for {'/'.join(want)} (need exactly one); pass the rescore file of its round")
    return rows[0]


def fresh_row(path: str) -> Dict[str, Any]:
    """The all-seeds row (the first) of a ``rescore_validation.py --split`` output."""
    rows = _json_rows(path)
    if len(rows) != 1 or "rows" not in rows[0]:
        raise ValueError(f"{path} is not a rescore_validation.py --split output (one JSON line with 'rows')")
    first = rows[0]["rows"][0]
    return {"policy": rows[0]["policy"], "mode": rows[0]["mode"], "seeds": first["seeds"],
            **{k: first[k] for k in SCORE_KEYS}}  # fmt: skip


def shipped_metadata(meta: Dict[str, Any], scores: Dict[str, Any], fresh: Dict[str, Any], bar: Dict[str, Any],
                     scenario: str, run: str, roots: List[str], scores_file: str, score: str = "suite",
                     margin: float = 0.0, worst_tolerance: float = 0.0) -> Dict[str, Any]:  # fmt: skip
    """``meta`` with the selection record added; refuses a candidate that did not pass rule 3."""
    if not margin >= 0:
        raise ValueError(f"margin {margin!r} must be a number >= 0 (the lead rule 3 asks for; 0: any lead)")
    if not worst_tolerance >= 0:
        raise ValueError(f"worst tolerance {worst_tolerance!r} must be a number >= 0 (how much lower the worst cell may be; 0: not lower)")
    cand, inc = rule_score(fresh, score), rule_score(bar, score)
    lead = cand - inc
    worst_floor = bar["validation_worst"] - worst_tolerance
    passed = lead > 0 and lead >= margin and fresh["validation_worst"] >= worst_floor
    if score == "bar":
        passed = passed and fresh["validation_advantage"] >= 0
    if not passed:
        needed = f"> 0 and >= {margin:g}" if margin > 0 else "> 0"
        advantage = f", advantage {fresh['validation_advantage']:.2f} (needed >= 0)" if score == "bar" else ""
        floor = f", needed >= {worst_floor:.2f}" if worst_tolerance > 0 else ""
        raise ValueError(
            f"the candidate did not pass rule 3 on seeds {fresh['seeds']}: {score} score {cand:.2f} "
            f"(incumbent {inc:.2f}, lead {lead:+.2f}, needed {needed}), worst {fresh['validation_worst']:.2f} "
            f"(incumbent {bar['validation_worst']:.2f}{floor}){advantage}; it must not ship"
        )
    if fresh["mode"] != scores["validation_mode"]:
        raise ValueError(f"rule 1' scored mode {scores['validation_mode']!r} and rule 3 {fresh['mode']!r}; use one mode")
    out = dict(meta)
    demos = out.get("demonstrations_file")
    for root in roots:  # a path inside a checkout of the repository: relative to it
        if isinstance(demos, str) and os.path.isabs(demos) and demos.startswith(root.rstrip(os.sep) + os.sep):
            out["demonstrations_file"] = os.path.relpath(demos, root)
            break
    out.update({k: scores[k] for k in SCORE_KEYS}, validation_mode=scores["validation_mode"], scenario=scenario, run=run)
    out["selection"] = {"rule_1_scores": scores_file, "rule_3_candidate": fresh, "rule_3_incumbent": bar,
                        "rule_3": {"score": score, "margin": margin, "worst_tolerance": worst_tolerance, "lead": lead},
                        "passed": True}  # fmt: skip
    return out


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("policy", help="the candidate's folder (policy.json + params.msgpack)")
    p.add_argument("--scores", required=True, help="rule 1': rescore_validation.py JSON lines with the candidate's row")
    p.add_argument("--fresh", required=True, help="rule 3: the candidate's rescore_validation.py --split output")
    p.add_argument("--bar", required=True, help="rule 3: the incumbent's rescore_validation.py --split output")
    p.add_argument("--scenario", required=True, help="the training pool, e.g. pool-deep")
    p.add_argument("--run", required=True, help="the run or clone it comes from, e.g. study-x/clone_s0")
    p.add_argument("--out", required=True, help="the shipped folder (its MODEL_CARD.md is kept)")
    p.add_argument("--score", choices=SCORES, default="suite",
                   help="rule 3 compares validation_score (suite) or (at_default + tuned) / 2 with advantage >= 0 (bar)")
    p.add_argument("--margin", type=float, default=0.0, help="the lead rule 3 asks for (default 0: any lead)")
    p.add_argument("--worst-tolerance", type=float, default=0.0,
                   help="how much lower than the incumbent's the candidate's worst cell may be (default 0: not lower)")
    p.add_argument("--checkout", action="append", default=[],
                   help="another checkout (e.g. a git worktree) the candidate was made in; paths under it become relative")
    a = p.parse_args(argv)
    from mava_ganno.policy import CONFIG_FILE, PARAMS_FILE, load_policy, save_policy

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        policy = load_policy(a.policy)
        bar = fresh_row(a.bar)
        if bar["policy"] == "default" and os.path.exists(os.path.join(a.out, CONFIG_FILE)):  # name the one it replaces
            bar["policy"] = f"default ({load_policy(a.out).metadata.get('run', 'no run recorded')})"
        meta = shipped_metadata(policy.metadata, scores_row(a.scores, a.policy), fresh_row(a.fresh), bar,
                                a.scenario, a.run, [root, *a.checkout], a.scores, a.score, a.margin, a.worst_tolerance)  # fmt: skip
    except (ValueError, KeyError, OSError) as e:
        print(f"ship_policy: {e}", file=sys.stderr)
        return 2
    card = os.path.join(a.out, "MODEL_CARD.md")
    kept = open(card, encoding="utf-8").read() if os.path.exists(card) else None
    save_policy(a.out, policy.replace(metadata_json=json.dumps(meta, sort_keys=True, default=str)))
    if kept is not None:
        with open(card, "w", encoding="utf-8") as f:
            f.write(kept)
    with open(os.path.join(a.policy, PARAMS_FILE), "rb") as f, open(os.path.join(a.out, PARAMS_FILE), "rb") as g:
        assert f.read() == g.read(), "params.msgpack changed on the way"
    print(f"shipped {a.policy} -> {a.out} (rule 3 on seeds {meta['selection']['rule_3_candidate']['seeds']}: passed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
