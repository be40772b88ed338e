"""How much of a method's tuned gap to "the best tuned schedule" is the reference's own choice?
Read from a finished `ganno bench` folder; no run is made.

The benchmark's tuned view picks each method's LR on validation, but its normalisation's 1 (and
the policy bar's "within 0.1 points of the best tuned schedule on every task",
``experiments/policy_criteria.py``) is the handcrafted schedule whose tuned *test* mean is the
highest: a maximum over the schedules on the numbers it is then compared on. Even a method as
good as the best schedule in expectation falls below that maximum by the noise the maximum
selects. Per task this prints:

- ``benchmark``: the reference as the benchmark picks it (tuned LR on validation, schedule on
  its tuned test mean), its test mean over seeds;
- ``on validation``: the schedule picked on its tuned *validation* mean instead, its test mean;
- ``held out``: for each seed, the reference picked as the benchmark does on the other seeds
  (their validation for the LR, their test for the schedule), measured on the held-out seed;
  the mean over seeds. ``optimism`` = benchmark - held out (in accuracy points or bits);
- per method (every handcrafted schedule and the methods asked for): its gap to the reference
  three ways: to the benchmark's, to the validation-picked one, and held out (its own tuned LR
  picked on the other seeds' validation too, both measured on the held-out seed); the
  standard error of the benchmark gap from its per-seed differences; and on how many tasks
  the gap passes the policy bar (0.1 accuracy points or 0.01 normalised; loss tasks the
  normalised bar; every normalisation with the benchmark's constant and best-schedule scale).

Usage: python experiments/tuned_reference.py BENCH_FOLDER [METHOD ...]
  METHOD: method keys of leaderboard.json (default: every GANNO policy in it).
Prints markdown.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, List, Sequence

import numpy as np

from mava_ganno.bench.metrics import MIN_SCALE, SCHEDULE_GROUPS, MethodResult, method_results
from mava_ganno.evaluation.store import load_evaluation

TUNED_POINTS, TUNED_NORMALISED = 0.001, 0.01  # the policy bar: 0.1 accuracy points (a fraction); normalised
VIEWS = ("benchmark", "validation", "held_out")


def _best(values: np.ndarray, metric: str) -> int:
    """Index of the best value; ties to the first (as the benchmark's ``_best_index``)."""
    return int(np.argmax(values) if metric == "accuracy" else np.argmin(values))


def _tuned(m: MethodResult, seeds: np.ndarray, metric: str) -> int:
    """The grid row with the best mean validation metric over ``seeds``."""
    return _best(m.val[:, seeds].mean(axis=1), metric)


def task_analysis(results: Sequence[MethodResult], metric: str, methods: Sequence[str]) -> Dict[str, Any]:
    """The three references of one task and every schedule's and ``methods``' gaps to them.

    Returns ``reference`` {view: (method, value)} (held out: the methods picked per held-out
    seed, joined, and the mean of their held-out values), ``optimism`` and ``gaps`` {method:
    {view: gap, "se": standard error of the benchmark gap, "within": {view: bool}}}, gaps signed
    so that negative is worse, in the metric's units (accuracy as a fraction, loss in bits)."""
    by = {m.method: m for m in results}
    missing = [m for m in list(methods) + ["constant"] if m not in by]
    if missing:
        raise ValueError(f"methods {missing} are not in the task; it has {sorted(by)}.")
    schedules = [m for m in results if m.group in SCHEDULE_GROUPS]  # the constant LR among them
    n = schedules[0].test.shape[1]
    if n < 2:
        raise ValueError(f"held-out references need at least 2 seeds, the task has {n}.")
    sign = 1.0 if metric == "accuracy" else -1.0
    every = np.arange(n)

    def tuned_test(m: MethodResult) -> np.ndarray:  # (S,) at the LR picked on all seeds' validation
        return m.test[_tuned(m, every, metric)]

    bench_i = _best(np.array([tuned_test(m).mean() for m in schedules]), metric)
    val_i = _best(np.array([m.val[_tuned(m, every, metric)].mean() for m in schedules]), metric)
    bench_ref, val_ref = schedules[bench_i], schedules[val_i]
    const = float(tuned_test(by["constant"]).mean())
    scale = max(sign * (float(tuned_test(bench_ref).mean()) - const), MIN_SCALE[metric])

    held_ref = np.empty(n)
    held_names: List[str] = []
    for s in range(n):
        rest = np.delete(every, s)
        picks = [m.test[_tuned(m, rest, metric), rest].mean() for m in schedules]
        chosen = schedules[_best(np.array(picks), metric)]
        held_ref[s] = chosen.test[_tuned(chosen, rest, metric), s]
        held_names.append(chosen.method)

    def held_value(m: MethodResult) -> np.ndarray:  # (S,) each seed at the LR picked on the others
        return np.array([m.test[_tuned(m, np.delete(every, s), metric), s] for s in range(n)])

    gaps: Dict[str, Dict[str, Any]] = {}
    for m in list(dict.fromkeys([s.method for s in schedules] + list(methods))):
        x = tuned_test(by[m])
        per_seed = sign * (x - tuned_test(bench_ref))
        g = {"benchmark": float(per_seed.mean()),
             "validation": float(sign * (x.mean() - tuned_test(val_ref).mean())),
             "held_out": float(sign * (held_value(by[m]) - held_ref).mean()),
             "se": float(per_seed.std(ddof=1) / np.sqrt(n))}  # fmt: skip
        g["within"] = {
            v: bool(g[v] / scale >= -TUNED_NORMALISED or (metric == "accuracy" and g[v] >= -TUNED_POINTS)) for v in VIEWS
        }
        gaps[m] = g
    reference = {
        "benchmark": (bench_ref.method, float(tuned_test(bench_ref).mean())),
        "validation": (val_ref.method, float(tuned_test(val_ref).mean())),
        "held_out": ("/".join(held_names), float(held_ref.mean())),
    }
    optimism = sign * (reference["benchmark"][1] - reference["held_out"][1])
    return {"metric": metric, "reference": reference, "optimism": float(optimism), "gaps": gaps}


def analyse(folder: str, methods: Sequence[str] = ()) -> Dict[str, Dict[str, Any]]:
    """``task_analysis`` of every finished task of the bench folder, by task name."""
    path = os.path.join(folder, "leaderboard.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} not found: give the --out folder of a finished `ganno bench`.")
    with open(path) as f:
        board = json.load(f)
    if not methods:
        methods = [m for m, a in board["aggregate"].items() if a["group"] == "ganno"]
    unknown = [m for m in methods if m not in board["aggregate"]]
    if unknown:
        raise ValueError(f"methods {unknown} are not in {folder}; choose from {sorted(board['aggregate'])}.")
    out = {}
    for name in board["tasks_done"]:
        metric = board["per_task"][name]["metric"]
        out[name] = task_analysis(method_results(load_evaluation(os.path.join(folder, "tasks", name)), metric), metric, methods)
    return out


def _units(x: float, metric: str) -> str:
    return f"{100 * x:+.2f}" if metric == "accuracy" else f"{x:+.3f}"


def _value(x: float, metric: str) -> str:
    return f"{100 * x:.2f}" if metric == "accuracy" else f"{x:.3f}"


def markdown(analysis: Dict[str, Dict[str, Any]], folder: str, labels: Dict[str, str]) -> str:
    tasks = list(analysis)
    lines = [f"Tuned references of `{folder}` (accuracy in %, loss in bits; gaps negative = worse).", "",
             "| task | benchmark (test-picked) | picked on validation | held out (per seed) | optimism |",
             "|---|---|---|---|---|"]  # fmt: skip
    for t in tasks:
        a, metric = analysis[t], analysis[t]["metric"]
        ref = a["reference"]
        cells = [f"{labels.get(ref[v][0], ref[v][0])} {_value(ref[v][1], metric)}" for v in VIEWS[:2]]
        held = " / ".join(labels.get(h, h) for h in ref["held_out"][0].split("/"))
        lines.append(f"| {t} | {cells[0]} | {cells[1]} | {_value(ref['held_out'][1], metric)} ({held}) | "
                     f"{_units(a['optimism'], metric)} |")  # fmt: skip
    methods = list(analysis[tasks[0]]["gaps"])
    for view, title in (("benchmark", "to the benchmark's reference (gap ± SE of its per-seed differences)"),
                        ("validation", "to the reference picked on validation"),
                        ("held_out", "held out (reference and method picked on the other seeds)")):  # fmt: skip
        lines += ["", f"Gap {title}; tasks within the policy bar:", "",
                  "| method | " + " | ".join(tasks) + " | within |", "|---|" + "---|" * (len(tasks) + 1)]  # fmt: skip
        for m in methods:
            cells, within = [], 0
            for t in tasks:
                g, metric = analysis[t]["gaps"][m], analysis[t]["metric"]
                se = f" ± {_units(g['se'], metric)[1:]}" if view == "benchmark" else ""
                cells.append(_units(g[view], metric) + se)
                within += g["within"][view]
            lines.append(f"| {labels.get(m, m)} | " + " | ".join(cells) + f" | {within}/{len(tasks)} |")
    return "\n".join(lines) + "\n"


def main(argv: List[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    folder, methods = argv[0], argv[1:]
    analysis = analyse(folder, methods)
    with open(os.path.join(folder, "leaderboard.json")) as f:
        labels = {m: a["label"] for m, a in json.load(f)["aggregate"].items()}
    print(markdown(analysis, folder, labels), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
