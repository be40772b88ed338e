"""Evaluation: trained GANNO policies, zero-shot, against handcrafted schedules and optimisers.

``ganno evaluate`` / ``python -m mava_ganno.evaluation.cli``::

    python -m mava_ganno.evaluation.cli --scenario mlp5-mnist_5k --policy runs/ganno/policy \\
        --policy runs/lr_only/policy --name mlp2_to_mlp5

Every run trains the evaluation network for its full budget (``sl_steps`` SGD steps) from the
same initialisation and on the same minibatch order for a given seed, whatever the method:

- GANNO policies (and the ablations, which are just policies trained with other configs) and
  a random layerwise agent run the environment in evaluation mode (no difference reward,
  test split tracked) from the grid's initial LR and weight decay; ``sampled`` draws actions
  from the policy, ``greedy`` takes the most likely action.
- Baselines (``mava_ganno.evaluation.baselines``) train the same network with optax, using the
  environment's own trainer: same init (``trainer.init``), same minibatches
  (``trainer.batch_indices``/``minibatch``, with the environment's key chain), same loss.
  A ``constant`` schedule is therefore exactly GANNO's always-no-op agent.

Runs that share a shape are ``jax.vmap``-ed (over LR x weight decay x seed, and for the
AdamW schedules over the schedule too) and each run is a ``lax.scan`` over tau-step chunks,
recording train loss and validation/test accuracy after every chunk. An evaluation compiles
one baseline runner (every baseline family behind one ``lax.switch``, the family an unbatched
argument) and one policy runner per environment configuration (trained policies and the
fixed-distribution agents share it: ``policies.SharedPolicy``); calls through one runner all
have one batch size (``batching.call_size``), so each compiles exactly once.

Divergence (a non-finite train or validation loss in a chunk) is a result, not an error: the
run stops changing, its accuracy is recorded as chance level (10% on 10 classes) from then
on, its train loss as inf, and its ``diverged`` flag is set.

Outputs (``results/<name>/``, see ``mava_ganno.evaluation.store``): ``table.csv``, ``table.md``,
``curves.csv``, ``layer_lrs.csv``, ``config.json``, PNG figures and ``runs/`` (each group of runs,
keyed by ``job_key``, so that a rerun reuses what it has: ``evaluate(cache=...)``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import jax
import numpy as np

from mava_ganno.backend.task import Task
from mava_ganno.env.env import Ganno
from mava_ganno.env.generator import InitialConditionsGenerator
from mava_ganno.env.rewards import HoldOutAccuracy
from mava_ganno.evaluation.baselines import (
    BASELINES,
    DEFAULT_METHODS,
    OPTIMIZER_NAMES,
    SCHEDULE_NAMES,
    UNAVAILABLE,
    check_optax,
    make_baselines_runner,
)
from mava_ganno.evaluation.batching import call_size, grid, seed_keys, sequential_runs, vmapped_runs
from mava_ganno.evaluation.policies import PolicySource, RandomPolicy, describe_policy, shared_policy, source_digest
from mava_ganno.evaluation.records import (
    DEFAULT_LRS,
    DEFAULT_SEEDS,
    DEFAULT_WEIGHT_DECAYS,
    POLICY_MODES,
    Evaluation,
    MethodInfo,
    RunSet,
    make_scenario,
)
from mava_ganno.evaluation.rollouts import make_policy_run
from mava_ganno.evaluation.store import load_evaluation
from mava_ganno.policy import GannoPolicy, policy_lr_decay

Grid = Tuple[np.ndarray, np.ndarray, np.ndarray]  # (lr, weight decay, seed) per run


# ============================================================================ arguments
def _validategrid(lrs, wds, seeds) -> None:
    if not lrs:
        raise ValueError("the LR grid is empty; e.g. --lrs 0,1e-4,3e-4,1e-3,3e-3,1e-2.")
    for lr in lrs:
        if not (math.isfinite(lr) and lr >= 0):
            raise ValueError(f"initial LR {lr} is not a finite number >= 0; fix --lrs.")
    if not wds:
        raise ValueError("the weight-decay grid is empty; e.g. --weight-decays 0.1,1e-4.")
    for wd in wds:
        if not (math.isfinite(wd) and wd >= 0):
            raise ValueError(f"weight decay {wd} is not a finite number >= 0; fix --weight-decays.")
    if not seeds:
        raise ValueError("no seeds; e.g. --seeds 3.")
    if len(set(lrs)) != len(lrs) or len(set(wds)) != len(wds) or len(set(seeds)) != len(seeds):
        raise ValueError(f"the grid repeats a value: lrs={lrs}, weight_decays={wds}, seeds={seeds}.")


def _validated_grid(lrs, weight_decays, seeds) -> Tuple[Tuple[float, ...], Tuple[float, ...], Tuple[int, ...]]:
    """The grid as tuples (``seeds`` an int n -> 0..n-1), or a ValueError saying what is wrong."""
    seeds = tuple(range(seeds)) if isinstance(seeds, int) else tuple(int(s) for s in seeds)
    lrs, wds = tuple(float(x) for x in lrs), tuple(float(x) for x in weight_decays)
    _validategrid(lrs, wds, seeds)
    return lrs, wds, seeds


def _validate_methods(methods, policy_modes, max_runs_per_call) -> None:
    unknown = [m for m in methods if m not in BASELINES]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(BASELINES)}.")
    bad_modes = [m for m in policy_modes if m not in POLICY_MODES]
    if bad_modes or not policy_modes:
        raise ValueError(f"policy modes {list(policy_modes)} invalid; use {list(POLICY_MODES)}.")
    if int(max_runs_per_call) <= 0:
        raise ValueError(f"max_runs_per_call must be positive, got {max_runs_per_call}.")


def _checked(scenario, policies, lrs, weight_decays, seeds, methods, policy_modes, max_runs_per_call) -> Tuple:
    """The argument checks ``check_inputs`` and ``evaluate`` share: (scenario, lrs, weight
    decays, seeds, policy sources)."""
    sc = make_scenario(scenario) if isinstance(scenario, str) else scenario
    lrs, wds, seeds = _validated_grid(lrs, weight_decays, seeds)
    _validate_methods(methods, policy_modes, max_runs_per_call)
    check_optax()
    sources = [p if isinstance(p, PolicySource) else describe_policy(p) for p in policies]
    _check_unique_labels(sources)
    return sc, lrs, wds, seeds, sources


def _check_unique_labels(sources: Sequence[PolicySource]) -> None:
    """Two policies with one label would share one table row: an error naming both."""
    seen: Dict[str, PolicySource] = {}
    for src in sources:
        if src.label in seen:
            a, b = seen[src.label].path or "in memory", src.path or "in memory"
            raise ValueError(
                f"two policies have the label {src.label!r} ({a} and {b}); give each its own, e.g. "
                f"--policy A={a} --policy B={b}."
            )
        seen[src.label] = src


def check_inputs(
    scenario: Task | str,
    policies: Sequence[PolicySource | Any] = (),
    *,
    lrs: Sequence[float] = DEFAULT_LRS,
    weight_decays: Sequence[float] = DEFAULT_WEIGHT_DECAYS,
    seeds: Sequence[int] | int = DEFAULT_SEEDS,
    methods: Sequence[str] = DEFAULT_METHODS,
    policy_modes: Sequence[str] = POLICY_MODES,
    max_runs_per_call: int = 128,
) -> Task:
    """Every input check ``evaluate`` makes, without running anything (seconds, not the
    evaluation): the grid, methods and modes, optax, the scenario's dataset (loaded: an unknown
    or unprepared dataset fails here) and each policy against its environment. Raises
    ``ValueError`` / ``FileNotFoundError`` / ``ImportError`` naming the culprit; returns the
    scenario."""
    sc, lrs, wds, seeds, sources = _checked(scenario, policies, lrs, weight_decays, seeds, methods, policy_modes,
                                            max_runs_per_call)
    gen = InitialConditionsGenerator(lr=max(lrs), weight_decay=wds[0])
    Ganno(sc, gen, reward_fn=HoldOutAccuracy(), track_test=True)
    for src in sources:
        key = _env_key(src)
        try:
            env = _policy_env(sc, gen, key)
            if hasattr(src.policy, "check_env"):
                src.policy.check_env(env)
        except ValueError as e:
            raise ValueError(f"policy {src.label!r} ({src.path or 'in memory'}): {e}") from None
    return sc


# ============================================================================ jobs
@dataclasses.dataclass
class _Part:
    """The runs of one method inside a job (one RunSet)."""

    method: str
    info: MethodInfo
    mode: str = ""
    policy: str = ""


@dataclasses.dataclass
class _Job:
    """One batch of runs through ``runner``: ``len(parts)`` methods x the runs of ``grid``,
    method-major. ``shared`` are the runner's unbatched arguments (family index, policy)."""

    title: str
    runner: Callable
    args: List[np.ndarray]
    shared: Tuple[Any, ...]
    grid: Grid
    parts: List[_Part]
    config: Dict[str, Any] = dataclasses.field(default_factory=dict)  # what defines its runs (job_key)


JOB_FORMAT = 1


def job_key(sc: Task, job: _Job) -> str:
    """The content hash of everything that defines a job's runs: the scenario, the job's
    methods (or policy: a hash of its weights and settings), its grid and the package version.
    Equal keys, equal runs; a cache of finished jobs (``evaluate(cache=...)``) is keyed by it."""
    from mava_ganno import __version__

    lr, wd, seed = job.grid
    blob = json.dumps(
        {"format": JOB_FORMAT, "version": __version__, "scenario": dataclasses.asdict(sc), "job": job.config,
         "lrs": [float(x) for x in lr], "weight_decays": [float(x) for x in wd], "seeds": [int(x) for x in seed]},
        sort_keys=True, default=str,
    )  # fmt: skip
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _tiled_args(grid_: Grid, copies: int, last: np.ndarray, lr_nan: float = 1.0) -> List[np.ndarray]:
    """(seed keys, lr, wd, last) for ``copies`` repeats of the grid (NaN LRs -> ``lr_nan``)."""
    lr_g, wd_g, seed_g = grid_
    return [
        seed_keys(np.tile(seed_g, copies)),
        np.nan_to_num(np.tile(lr_g, copies), nan=lr_nan).astype(np.float32),
        np.tile(wd_g, copies).astype(np.float32),
        last,
    ]


def _baseline_jobs(sc: Task, trainer, chance: float, methods, lrs, wds, seeds, log) -> List[_Job]:
    """The baselines as jobs through ONE runner: the AdamW schedule bank (the schedule a
    batched index) and each optimiser are branches of ``make_baselines_runner``."""
    positive = tuple(lr for lr in lrs if lr > 0)
    sched = tuple(m for m in methods if m in SCHEDULE_NAMES)
    families: List[Tuple[Any, Tuple[str, ...]]] = [(sched, sched)] if sched else []
    families += [(m, (m,)) for m in methods if m in OPTIMIZER_NAMES]
    runnable = []
    for family, names in families:
        if BASELINES[names[0]].takes_lr and not positive:
            log(f"[evaluate] skipping {list(names)}: no positive LR in the grid")
        else:
            runnable.append((family, names))
    if not runnable:
        return []
    runner = make_baselines_runner(trainer, [f for f, _ in runnable], sc.num_chunks, chance)
    jobs = []
    for k, (_, names) in enumerate(runnable):
        g = grid(positive if BASELINES[names[0]].takes_lr else (float("nan"),), wds, seeds)
        idx = np.repeat(np.arange(len(names), dtype=np.int32), len(g[2]))
        parts = [_Part(n, BASELINES[n]) for n in names]
        config = {"kind": "baselines", "methods": list(names), "chance": chance}
        jobs.append(_Job(", ".join(names), runner, _tiled_args(g, len(names), idx), (np.int32(k),), g, parts, config))
    return jobs


def _env_key(src) -> Tuple:
    """What a policy's evaluation env depends on: its features, action table, LR cap, agent mode
    and LR decay; policies with equal keys share one env and one compiled runner."""
    p = src.policy
    return tuple(p.feature_names), tuple(p.action_table), float(p.lr_max), src.single_agent, policy_lr_decay(p)


def _policy_env(sc: Task, gen, key: Tuple) -> Ganno:
    features, table, lr_max, single, lr_decay = key
    return Ganno(
        sc, gen, reward_fn=HoldOutAccuracy(), track_test=True,
        features=features, action_table=table, lr_max=lr_max, single_agent=single, lr_decay=lr_decay,
    )  # fmt: skip


def _policy_jobs(sc: Task, gen, chance: float, sources, policy_modes, lrs, wds, seeds) -> List[_Job]:
    """One job per policy (all its modes: ``greedy`` is a batched flag). Policies of one env
    configuration share the env and ONE runner; a fixed-distribution agent (group ``random``,
    sampled only) runs as a ``SharedPolicy`` next to the first trained policy of its env."""
    g = grid(lrs, wds, seeds)
    env_key = _env_key
    envs: Dict[Tuple, Tuple[Ganno, Callable, Optional[Any]]] = {}
    for src in sources:
        key = env_key(src)
        if key not in envs:
            env = _policy_env(sc, gen, key)
            networks = [s.policy for s in sources if env_key(s) == key and isinstance(s.policy, GannoPolicy)]
            envs[key] = (env, make_policy_run(env, chance), networks[0] if networks else None)
    jobs = []
    for src in sources:
        env, runner, network = envs[env_key(src)]
        if hasattr(src.policy, "check_env"):
            src.policy.check_env(env)
        modes = ("sampled",) if src.group == "random" else tuple(policy_modes)
        greedy = np.repeat(np.array([m == "greedy" for m in modes]), len(g[2]))
        parts = []
        for mode in modes:
            label = src.label if src.group == "random" else f"{src.label} ({mode})"
            method = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
            parts.append(_Part(method, MethodInfo(label, src.group), mode, src.path))
        policy = shared_policy(src.policy, network)
        config = {"kind": "policy", "label": src.label, "group": src.group, "path": src.path, "modes": list(modes),
                  "policy": source_digest(src), "env": list(env_key(src)), "chance": chance}  # fmt: skip
        jobs.append(_Job(f"{src.label} ({', '.join(modes)})", runner, _tiled_args(g, len(modes), greedy), (policy,), g, parts, config))
    return jobs


def _run_jobs(jobs: List[_Job], sc: Task, max_runs: int, sequential: bool, log, on_job=None, cache=None) -> List[RunSet]:
    """Run every job; jobs through one runner share one call size (one compilation). A RunSet's
    ``seconds`` is its share of its job's wall time, so the first job through a runner (the
    AdamW schedules, the first policy) also carries that runner's compilation. ``on_job(runsets)``
    is called after every job but the last with the run sets finished so far. With a ``cache``
    (``get(key)`` -> the job's outputs or None, ``put(key, outputs, title)``), a job whose
    ``job_key`` is cached is not run and every job run is put there as soon as it finishes."""
    steps = np.arange(sc.num_chunks + 1, dtype=np.int64) * sc.tau
    sizes: Dict[int, int] = {}
    for runner in {id(j.runner): j.runner for j in jobs}.values():
        sizes[id(runner)] = call_size([len(j.args[0]) for j in jobs if j.runner is runner], max_runs)
    runsets = []
    reused = 0
    for job in jobs:
        t0 = time.perf_counter()
        key = job_key(sc, job) if cache is not None else ""
        out = cache.get(key) if cache is not None else None
        n, r = len(job.args[0]), len(job.grid[2])
        if out is not None:
            reused += 1
            log(f"[evaluate] {job.title}: {n} runs reused (finished before, same inputs)")
            dt = float(out.pop("seconds", 0.0))
        else:
            if sequential:
                out = sequential_runs(job.runner, job.args, job.shared)
            else:
                out = vmapped_runs(job.runner, job.args, max_runs, job.shared, size=sizes[id(job.runner)])
            dt = time.perf_counter() - t0
            log(f"[evaluate] {job.title}: {n} runs in {dt:.1f} s")
            if cache is not None:
                cache.put(key, out, job.title, dt)
        for j, part in enumerate(job.parts):
            runsets.append(_runset(part, job.grid, jax.tree_util.tree_map(lambda x: x[j * r : (j + 1) * r], out), steps, dt * r / n))
        if on_job is not None and len(runsets) < sum(len(j.parts) for j in jobs):
            on_job(list(runsets))
    if cache is not None:
        log(f"[evaluate] reused {reused} of {len(jobs)} groups of runs finished before; ran {len(jobs) - reused}")
    return runsets


def _runset(part: _Part, grid_: Grid, out: Dict[str, np.ndarray], steps: np.ndarray, seconds: float) -> RunSet:
    lr, wd, seed = grid_
    return RunSet(
        method=part.method, label=part.info.label, group=part.info.group, mode=part.mode,
        lr=lr, weight_decay=wd, seed=seed, steps=steps,
        test_accuracy=out["test_accuracy"], val_accuracy=out["val_accuracy"], train_loss=out["train_loss"],
        lrs=out["lrs"], diverged=out["diverged"].astype(bool),
        takes_lr=part.info.takes_lr, policy=part.policy, seconds=seconds,
        val_loss=out["val_loss"], test_loss=out["test_loss"],
    )  # fmt: skip


def reuse_finished_baselines(
    folder: str,
    cache: Any,
    scenario: Task | str,
    *,
    lrs: Sequence[float] = DEFAULT_LRS,
    weight_decays: Sequence[float] = DEFAULT_WEIGHT_DECAYS,
    seeds: Sequence[int] | int = DEFAULT_SEEDS,
    methods: Sequence[str] = DEFAULT_METHODS,
    log: Callable[[str], None] = print,
) -> int:
    """Put the baseline groups of the finished evaluation written in ``folder`` into ``cache``
    (a ``store.RunCache``), keyed as ``evaluate`` with these arguments keys them, so that it
    reads them back instead of running them. For results written before the group cache
    existed: their runs are rebuilt by ``store.load_evaluation`` (the final values exact from
    ``table.csv``, the curves before them at 7 significant digits). Only baselines are reused (a policy's results
    do not record which weights made them); a group is reused only when ``folder`` has the
    same scenario and every run of the group (each method at each (LR, weight decay, seed)),
    with its loss curves. Returns the number of groups put in the cache."""
    sc, lrs, wds, seeds, _ = _checked(scenario, (), lrs, weight_decays, seeds, methods, POLICY_MODES, 128)
    finished = load_evaluation(folder)
    if dataclasses.asdict(finished.scenario) != dataclasses.asdict(sc):
        log(f"[evaluate] {folder}: another scenario ({finished.scenario.name}); none of its runs reused")
        return 0
    base_env = Ganno(sc, InitialConditionsGenerator(lr=max(lrs), weight_decay=wds[0]), reward_fn=HoldOutAccuracy(), track_test=True)
    by_label = {rs.label: rs for rs in finished.runsets}
    put = 0
    for job in _baseline_jobs(sc, base_env.trainer, 1.0 / base_env.dataset.num_classes, methods, lrs, wds, seeds, log):
        key = job_key(sc, job)
        out = None if cache.has(key) else _finished_runs(job, by_label)
        if out is not None:
            seconds = out.pop("seconds")
            cache.put(key, out, job.title, seconds)
            put += 1
    return put


def _run_id(lr, wd, seed) -> Tuple[Optional[float], float, int]:
    """A run's grid point as a dict key (an LR-free method's NaN LR as None: NaN != NaN)."""
    return (None if math.isnan(float(lr)) else float(lr), float(wd), int(seed))


def _finished_runs(job: _Job, by_label: Dict[str, RunSet]) -> Optional[Dict[str, Any]]:
    """The raw outputs of ``job`` (method-major, grid order) gathered from finished run sets,
    with their share of compute time as ``seconds``; None when a run or a curve is missing."""
    keys = ("test_accuracy", "val_accuracy", "train_loss", "val_loss", "test_loss", "lrs", "diverged")
    parts: Dict[str, List[np.ndarray]] = {k: [] for k in keys}
    seconds = 0.0
    for part in job.parts:
        rs = by_label.get(part.info.label)
        if rs is None or rs.val_loss is None or rs.test_loss is None:
            return None
        index = {_run_id(*run): i for i, run in enumerate(zip(rs.lr, rs.weight_decay, rs.seed))}
        rows = [index.get(_run_id(*run)) for run in zip(*job.grid)]
        if any(i is None for i in rows):
            return None
        for k in keys:
            parts[k].append(np.asarray(getattr(rs, k))[rows])
        seconds += rs.seconds * len(rows) / max(rs.num_runs, 1)
    out: Dict[str, Any] = {k: np.concatenate(v) for k, v in parts.items()}
    out["seconds"] = seconds
    return out


# ============================================================================ evaluate
def evaluate(
    scenario: Task | str,
    policies: Sequence[PolicySource | Any] = (),
    *,
    lrs: Sequence[float] = DEFAULT_LRS,
    weight_decays: Sequence[float] = DEFAULT_WEIGHT_DECAYS,
    seeds: Sequence[int] | int = DEFAULT_SEEDS,
    methods: Sequence[str] = DEFAULT_METHODS,
    policy_modes: Sequence[str] = POLICY_MODES,
    random_agent: bool = True,
    max_runs_per_call: int = 128,
    sequential: bool = False,
    log: Callable[[str], None] = print,
    on_progress: Optional[Callable[[Evaluation], None]] = None,
    cache: Optional[Any] = None,
) -> Evaluation:
    """Run every method on the grid. See the module docstring.

    Args:
        scenario: a ``Task`` or a scenario name (``make_scenario``) (``mlp5-mnist_5k``).
        policies: ``PolicySource``s or loaded policies (``GannoPolicy``).
        lrs: initial LRs (0 is only run by policies: a schedule from 0 stays at 0).
        weight_decays, seeds: the rest of the grid (``seeds`` an int n means 0..n-1).
        methods: baselines, names from ``BASELINES`` (``velo`` is listed as not runnable).
        policy_modes: ``sampled`` and/or ``greedy``.
        random_agent: include the random layerwise agent (sampled).
        max_runs_per_call: most runs in one vmapped call (memory bound).
        sequential: run the same runs one at a time (``jit`` of one run, a Python loop over
            runs) instead of vmapped; for benchmarks/eval_grid.py. Same results.
        on_progress: called after every job but the last with an ``Evaluation`` of the runs
            finished so far (``complete`` False), e.g. to write them (the CLI does), so a
            failure later loses at most the job in flight.
        cache: finished jobs kept across runs (``mava_ganno.evaluation.store.RunCache``): a job
            of the same inputs (``job_key``) is read back instead of run, every job run is
            stored as it finishes, so an interrupted evaluation resumes where it stopped.
    """
    t_start = time.perf_counter()
    sc, lrs, wds, seeds, sources = _checked(scenario, policies, lrs, weight_decays, seeds, methods, policy_modes,
                                            max_runs_per_call)
    gen = InitialConditionsGenerator(lr=max(lrs), weight_decay=wds[0])
    base_env = Ganno(sc, gen, reward_fn=HoldOutAccuracy(), track_test=True)
    chance = 1.0 / base_env.dataset.num_classes
    log(
        f"[evaluate] {sc.name}: {base_env.num_layers} layers, {sc.sl_steps} SGD steps "
        f"(tau {sc.tau}), LRs {list(lrs)}, weight decays {list(wds)}, seeds {list(seeds)}"
    )
    if random_agent:
        rnd = RandomPolicy(base_env.action_table.entries, base_env.lr_max)
        sources.append(PolicySource("Random layerwise agent", "random", rnd))
    jobs = _baseline_jobs(sc, base_env.trainer, chance, methods, lrs, wds, seeds, log)
    jobs += _policy_jobs(sc, gen, chance, sources, policy_modes, lrs, wds, seeds)
    unavailable = {m: BASELINES[m].note for m in methods if m in UNAVAILABLE}
    num_classes = base_env.dataset.num_classes

    def partial(done: List[RunSet]) -> None:
        on_progress(Evaluation(sc, lrs, wds, seeds, done, unavailable, time.perf_counter() - t_start, num_classes,
                               complete=False))

    runsets = _run_jobs(jobs, sc, int(max_runs_per_call), sequential, log, partial if on_progress else None, cache)

    for m, why in unavailable.items():
        log(f"[evaluate] {BASELINES[m].label}: not run ({why})")
    ev = Evaluation(sc, lrs, wds, seeds, runsets, unavailable, time.perf_counter() - t_start, num_classes)
    log(f"[evaluate] done in {ev.seconds:.1f} s")
    return ev
