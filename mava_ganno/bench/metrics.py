"""The benchmark's metrics: per task and method, then aggregated over tasks.

Per task and method (every number per evaluation seed; ``metric`` is the task's: final test
accuracy, or final test loss in bits per token for ``loss`` tasks):

- ``grid``: the mean of the metric over the initial-LR grid;
- ``tuned``: the metric at the LR whose mean final *validation* metric over seeds is best (the
  LR a user's sweep would pick; the test split is never used to pick);
- ``default``: the metric at the untouched default LR 1e-3;
- ``speedup`` (Celo's definition): the reference is AdamW + cosine decay at its tuned LR; its
  target is its final validation loss; the speed-up is the steps the reference needs to first
  reach the target over the steps the method (at its own tuned LR) needs, measured every tau
  steps; NaN (shown as never) when the method never reaches it;
- ``divergences``: runs with a non-finite loss, over all the method's runs (LRs x seeds).

LR-free methods (Prodigy, DoG, Mechanic) run once per seed: that run is their grid, tuned and
default value. A diverged run counts at chance level (accuracy 1/C, loss log C).

Normalised scores (per task): 0 is AdamW with a constant LR tuned on validation, 1 the best
tuned handcrafted AdamW schedule of the task (the schedule with the best tuned *test* mean over
seeds: a maximum on the numbers it is compared with; ``experiments/tuned_reference.py`` measures
what that choice adds), for all three views:
``(x - constant) / (best - constant)``, with the sign turned for loss tasks. When the best
schedule is within ``MIN_SCALE`` of the constant LR the denominator is that minimum scale,
so a task where nothing beats a constant LR does not blow the scores up.

Aggregation (``aggregate``): for every method and view, the interquartile mean (IQM) of the
normalised scores over all (seed, task) pairs, with a 95% percentile bootstrap confidence
interval that resamples seeds within tasks and the tasks themselves (``rliable``,
``task_bootstrap=True``, 2,000 repetitions, NumPy seeded with 0 for the call). The speed-up is aggregated the
same way with "never" counted as 0. ``performance_profile``: the fraction of (seed, task)
tuned scores above each threshold, with its bootstrap band.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from mava_ganno.evaluation.records import Evaluation, RunSet

VIEWS = ("tuned", "default", "grid")
# AdamW schedules that define "the best tuned schedule" of a task (the normalisation's 1).
SCHEDULE_GROUPS = ("handcrafted", "warmup")
MIN_SCALE = {"accuracy": 0.01, "loss": 0.05}  # 1 accuracy point / 0.05 bits per token
BOOTSTRAP_REPS = 2000
LN2 = math.log(2.0)


@dataclasses.dataclass
class MethodResult:
    """One method on one task: arrays over (LR, seed); ``lrs`` is ``(nan,)`` for LR-free ones.

    test, val: (L, S) final test / validation metric (accuracy, or loss in bits);
    val_loss: (L, S, C+1) validation loss curves in nats (entry 0 at initialisation);
    diverged: (L, S) bool; steps: (C+1,) SGD steps of the curve entries."""

    method: str
    label: str
    group: str
    takes_lr: bool
    lrs: Tuple[float, ...]
    seeds: Tuple[int, ...]
    test: np.ndarray
    val: np.ndarray
    val_loss: np.ndarray
    diverged: np.ndarray
    steps: np.ndarray

    def at(self, lr: float) -> int:
        """Row of the grid LR ``lr`` (0 for LR-free methods)."""
        if not self.takes_lr:
            return 0
        for i, x in enumerate(self.lrs):
            if math.isclose(x, lr, rel_tol=1e-9):
                return i
        raise ValueError(f"{self.label}: LR {lr:g} is not in its grid {list(self.lrs)}.")


def _grid(rs: RunSet, values: np.ndarray, lrs: Sequence[float], seeds: Sequence[int]) -> np.ndarray:
    """(runs, ...) -> (L, S, ...) in grid order (NaN LR for LR-free methods)."""
    out = np.full((len(lrs), len(seeds)) + values.shape[1:], np.nan, np.float64)
    seen = np.zeros((len(lrs), len(seeds)), bool)
    for r in range(rs.num_runs):
        i = 0 if not rs.takes_lr else next(k for k, x in enumerate(lrs) if math.isclose(x, float(rs.lr[r]), rel_tol=1e-9))
        j = list(seeds).index(int(rs.seed[r]))
        out[i, j], seen[i, j] = values[r], True
    if not seen.all():
        raise ValueError(f"{rs.label}: runs missing from the grid (LRs {list(lrs)}, seeds {list(seeds)}).")
    return out


def method_results(ev: Evaluation, metric: str) -> List[MethodResult]:
    """The evaluation's run sets as ``MethodResult``s (one weight decay per evaluation)."""
    if len(ev.weight_decays) != 1:
        raise ValueError(f"a benchmark task has one weight decay, got {list(ev.weight_decays)}.")
    out = []
    for rs in ev.runsets:
        if rs.val_loss is None or rs.test_loss is None:
            raise ValueError(f"{rs.label}: the results have no loss curves; rerun the task.")
        lrs = tuple(ev.lrs) if rs.takes_lr else (float("nan"),)
        if metric == "accuracy":
            test, val = rs.test_accuracy[:, -1], rs.val_accuracy[:, -1]
        else:
            test, val = rs.test_loss[:, -1] / LN2, rs.val_loss[:, -1] / LN2
        out.append(
            MethodResult(
                rs.method, rs.label, rs.group, rs.takes_lr, lrs, tuple(ev.seeds),
                _grid(rs, test, lrs, ev.seeds), _grid(rs, val, lrs, ev.seeds), _grid(rs, rs.val_loss, lrs, ev.seeds),
                _grid(rs, rs.diverged.astype(np.float64), lrs, ev.seeds) > 0.5, np.asarray(rs.steps),
            )
        )  # fmt: skip
    return out


def _best_index(values: np.ndarray, metric: str) -> int:
    """Index of the best mean (NaN-free); ties go to the first (smallest LR)."""
    return int(np.argmax(values) if metric == "accuracy" else np.argmin(values))


def tuned_index(m: MethodResult, metric: str) -> int:
    """The grid row picked on the mean final validation metric over seeds."""
    return _best_index(m.val.mean(axis=1), metric)


def steps_to_reach(curve: np.ndarray, steps: np.ndarray, target: float) -> float:
    """The first recorded step at which ``curve`` (a loss) is <= ``target``; NaN if never."""
    hit = np.nonzero(np.asarray(curve) <= target)[0]
    return float(steps[hit[0]]) if hit.size else float("nan")


def speedups(m: MethodResult, reference: MethodResult, metric: str) -> np.ndarray:
    """(S,) Celo's speed-up of ``m`` (at its tuned LR) over ``reference`` (at its tuned LR)."""
    ref_curves = reference.val_loss[tuned_index(reference, metric)]
    curves = m.val_loss[tuned_index(m, metric)]
    out = np.full(len(m.seeds), np.nan)
    for s in range(len(m.seeds)):
        target = ref_curves[s, -1]
        ref_steps = steps_to_reach(ref_curves[s], m.steps, target)
        mine = steps_to_reach(curves[s], m.steps, target)
        if math.isfinite(mine):
            out[s] = ref_steps / mine if mine > 0 else math.inf
    return out


@dataclasses.dataclass
class TaskScores:
    """Everything the leaderboard shows of one task."""

    task: str
    metric: str
    seeds: Tuple[int, ...]
    constant: float  # the normalisation's 0: tuned constant LR, mean over seeds
    best_schedule: Tuple[str, float]  # its 1: (method, tuned mean over seeds)
    reference_lr: float  # the speed-up reference's (cosine's) tuned LR
    methods: Dict[str, Dict[str, Any]]  # method -> per-seed views, normalised views, ...

    def to_json(self) -> Dict[str, Any]:
        return _jsonable(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "TaskScores":
        """The inverse of ``to_json`` (its None speed-ups, "never", back to NaN)."""
        methods = {m: {**r, "speedup": np.asarray(r["speedup"], np.float64)} for m, r in d["methods"].items()}
        return cls(**{**d, "seeds": tuple(d["seeds"]), "best_schedule": tuple(d["best_schedule"]), "methods": methods})


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, (np.integer, np.bool_)):
        return x.item()
    return x


def task_scores(task: str, results: Sequence[MethodResult], metric: str, default_lr: float) -> TaskScores:
    """Per-method metrics and normalised scores of one task (see the module docstring).
    Needs the ``constant`` and ``cosine`` schedules among ``results``."""
    by = {m.method: m for m in results}
    for need in ("constant", "cosine"):
        if need not in by:
            raise ValueError(f"task {task!r}: the benchmark needs the {need!r} schedule (normalisation and speed-up).")
    views: Dict[str, Dict[str, np.ndarray]] = {}
    for m in results:
        t = tuned_index(m, metric)
        views[m.method] = {"grid": m.test.mean(axis=0), "tuned": m.test[t], "default": m.test[m.at(default_lr)]}
    schedules = [m for m in results if m.group in SCHEDULE_GROUPS]
    means = np.array([views[m.method]["tuned"].mean() for m in schedules])
    best = schedules[_best_index(means, metric)]
    c, b = float(views["constant"]["tuned"].mean()), float(views[best.method]["tuned"].mean())
    sign = 1.0 if metric == "accuracy" else -1.0
    denom = max(sign * (b - c), MIN_SCALE[metric])
    cosine = by["cosine"]
    methods: Dict[str, Dict[str, Any]] = {}
    for m in results:
        t = tuned_index(m, metric)
        methods[m.method] = {
            "label": m.label,
            "group": m.group,
            "takes_lr": m.takes_lr,
            "tuned_lr": m.lrs[t] if m.takes_lr else None,
            **{v: views[m.method][v] for v in VIEWS},
            "normalised": {v: sign * (views[m.method][v] - c) / denom for v in VIEWS},
            "speedup": speedups(m, cosine, metric),
            "divergences": int(m.diverged.sum()),
            "runs": int(m.diverged.size),
        }
    return TaskScores(task, metric, results[0].seeds, c, (best.method, b), cosine.lrs[tuned_index(cosine, metric)], methods)


# ============================================================================ aggregation
def _score_matrix(tasks: Sequence[TaskScores], method: str, get) -> Optional[np.ndarray]:
    cols = []
    for t in tasks:
        if method not in t.methods:
            return None
        cols.append(np.asarray(get(t.methods[method]), np.float64))
    return np.stack(cols, axis=1)  # (seeds, tasks)


def _iqm(scores: np.ndarray) -> np.ndarray:
    from rliable import metrics

    return np.array([metrics.aggregate_iqm(scores)])


class _SeededNumpy:
    """rliable 1.2 draws its bootstrap indices from NumPy's global generator (its
    ``random_state`` argument does not reach them): seed it for the call, then restore it, so the
    same scores always give the same intervals and nothing else's randomness changes."""

    def __enter__(self):
        self.state = np.random.get_state()
        np.random.seed(0)

    def __exit__(self, *exc):
        np.random.set_state(self.state)


def _rliable():
    try:
        from rliable import library as rly
    except ImportError as e:  # pragma: no cover - rliable is a dependency
        raise ImportError(f"the benchmark's aggregation needs rliable: pip install 'rliable>=1.2' ({e}).") from None
    return rly


def _interval(score_dict: Dict[str, np.ndarray], reps: int) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
    rly = _rliable()
    with _SeededNumpy():
        return rly.get_interval_estimates(score_dict, _iqm, reps=reps, task_bootstrap=True)


def aggregate(tasks: Sequence[TaskScores], reps: int = BOOTSTRAP_REPS) -> Dict[str, Dict[str, Any]]:
    """method -> {view: {"iqm", "ci": [lo, hi]}, "speedup": {...}, "divergences", "runs"} over
    the tasks every method ran on (see the module docstring). ``reps=0``: the IQMs alone
    (``ci`` None), in a fraction of the time (the partial leaderboards of a running benchmark)."""
    if not tasks:
        return {}
    methods = [m for m in tasks[0].methods if all(m in t.methods for t in tasks)]
    out: Dict[str, Dict[str, Any]] = {m: {"label": tasks[0].methods[m]["label"], "group": tasks[0].methods[m]["group"]} for m in methods}
    getters = {v: (lambda r, v=v: r["normalised"][v]) for v in VIEWS}
    getters["speedup"] = lambda r: np.nan_to_num(np.asarray(r["speedup"], np.float64), nan=0.0, posinf=0.0)
    for name, get in getters.items():
        scores = {m: _score_matrix(tasks, m, get) for m in methods}
        if reps:
            point, ci = _interval(scores, reps)
        else:
            point, ci = {m: _iqm(x) for m, x in scores.items()}, None
        for m in methods:
            out[m][name] = {"iqm": float(point[m][0]), "ci": None if ci is None else [float(ci[m][0, 0]), float(ci[m][1, 0])]}
    for m in methods:
        out[m]["divergences"] = sum(t.methods[m]["divergences"] for t in tasks)
        out[m]["runs"] = sum(t.methods[m]["runs"] for t in tasks)
    return out


PROFILE_THRESHOLDS = np.linspace(-1.0, 1.5, 101)


def performance_profile(tasks: Sequence[TaskScores], view: str = "tuned", reps: int = BOOTSTRAP_REPS):
    """(thresholds, {method: fraction of (seed, task) scores > threshold}, {method: (2, K) band})
    of the normalised ``view`` scores (rliable's score-distribution profile)."""
    rly = _rliable()
    methods = [m for m in tasks[0].methods if all(m in t.methods for t in tasks)]
    scores = {m: _score_matrix(tasks, m, lambda r: r["normalised"][view]) for m in methods}
    with _SeededNumpy():
        prof, band = rly.create_performance_profile(scores, PROFILE_THRESHOLDS, reps=reps, task_bootstrap=True)
    return PROFILE_THRESHOLDS, prof, band


__all__ = [
    "MethodResult",
    "TaskScores",
    "VIEWS",
    "method_results",
    "task_scores",
    "tuned_index",
    "steps_to_reach",
    "speedups",
    "aggregate",
    "performance_profile",
]
