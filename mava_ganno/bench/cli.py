"""``ganno bench`` (``python -m mava_ganno.bench.cli``): every method of a suite on every task,
over the suite's initial-LR grid and seeds, scored as the learned-optimiser literature scores.

    ganno bench --suite quick                              # the shipped policy vs the baselines
    ganno bench --suite full --policy default --policy mine=runs/x/policy --out results/bench-full

Each task runs through the one evaluation runner (``mava_ganno.evaluation.harness.evaluate``:
one compiled runner per task shape) and is written to ``<out>/tasks/<task>/`` when it finishes
(the evaluation's tables, curves and figures, ``bench_task.json`` and ``bench_table.md``),
atomically: a folder there is always a finished task. One run writes a folder at a time (a
``.lock`` file with its PID: a second run exits 2 naming it; a dead run's lock is taken over);
Ctrl-C and SIGTERM end with one line naming what was kept and the command that resumes (exit
130 / 143). ``leaderboard.md``, ``leaderboard.json``
and ``performance_profile.png`` are rewritten after every task (marked partial until the last).
A rerun of the same command resumes: a task whose folder holds results of the same inputs (a
content hash of the task, grid, methods and policy files) is reused, not recomputed. Below the
tasks, every group of runs (the AdamW schedules, each optimiser, each policy on one task) is
kept in ``<out>/runs/`` as it finishes, keyed by the content hash of its own inputs
(``harness.job_key``): an interrupted task resumes from its finished groups, and a run with
another ``--policy`` on the same ``--out`` computes only the new policy's groups.
``--reuse FOLDER`` takes the baseline runs of another finished benchmark (same task, grid and
package version), rebuilt from its CSV files, so a new policy is compared with committed
baselines without recomputing them.

Every input is checked before anything is computed: the methods, the policies against every
task, and the data: a missing Debian package stops the run with one line naming it and how to
install it (exit 2). ``--data-dir DIR`` reads ``DIR/fashion-mnist/`` and ``DIR/fortunes/``
instead of the packages' folders.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import sys
import time
from typing import Any, Callable, Dict, List, NoReturn, Optional, Sequence, Tuple

from mava_ganno.backend.datasets import MissingDataError
from mava_ganno.bench.metrics import TaskScores, method_results, task_scores
from mava_ganno.bench.report import task_table, write_leaderboard
from mava_ganno.bench.tasks import DEFAULT_LR, SUITES, BenchTask, Suite, check_data, get_suite
from mava_ganno.evaluation import store
from mava_ganno.evaluation.baselines import BASELINES
from mava_ganno.evaluation.harness import check_inputs, evaluate, reuse_finished_baselines
from mava_ganno.evaluation.policies import PolicySource, policy_source, source_digest
from mava_ganno.policy.io import atomic_write_dir, ensure_writable_dir
from mava_ganno.utils.files import FolderLock, FolderLockedError, Terminated, atomic_write_text, exit_interrupted, terminate_as_exception

# The benchmark's baselines: AdamW with every schedule a user would reach for, and the
# learning-rate-free / schedule-free optimisers optax has.
BENCH_METHODS = (
    "constant", "cosine", "linear", "warmup_cosine", "onecycle", "wsd", "sgdr",
    "schedule_free_adamw", "prodigy", "dog", "mechanic",
)  # fmt: skip
REQUIRED_METHODS = ("constant", "cosine")  # the normalisation's 0 and the speed-up's reference
TASK_FILE = "bench_task.json"
TASK_FORMAT = 1
RUNS_DIR = store.RUNS_DIR  # <out>/runs/<key>.npz: every finished group of runs, of any task
POLICY_MODES = ("greedy",)


class UsageError(SystemExit):
    """A user error of ``ganno bench``: exit status 2 after one ``error: ...`` line."""

    def __init__(self, message: str):
        super().__init__(2)
        self.message = message


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise UsageError(message)


def task_key(task: BenchTask, suite: Suite, methods: Sequence[str], sources: Sequence[PolicySource]) -> str:
    """The content hash of everything that defines a task's numbers."""
    pols = [[s.label, source_digest(s)] for s in sources]
    blob = json.dumps(
        {"format": TASK_FORMAT, "task": task.config(), "lrs": list(suite.lrs), "seeds": suite.seeds,
         "methods": list(methods), "policies": pols, "modes": list(POLICY_MODES)},
        sort_keys=True,
    )  # fmt: skip
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _load_done(folder: str, key: str) -> Optional[Tuple[TaskScores, float]]:
    """(scores, seconds it took) of a finished task of the same inputs in ``folder``, or None."""
    path = os.path.join(folder, TASK_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if data.get("key") != key:
        return None
    return TaskScores.from_json(data["scores"]), float(data.get("seconds", float("nan")))


def run_bench(
    suite: Suite,
    out_dir: str,
    sources: Sequence[PolicySource] = (),
    methods: Sequence[str] = BENCH_METHODS,
    data_dir: Optional[str] = None,
    figures: bool = True,
    max_runs_per_call: int = 128,
    command: str = "",
    log: Callable[[str], None] = print,
    check: bool = True,
    reuse: Sequence[str] = (),
) -> List[TaskScores]:
    """Run (or resume) the benchmark ``suite``; see the module docstring. Returns every task's
    scores, in suite order. Inputs are checked first (``check_bench_inputs``; ``check=False``
    when the caller just did). ``reuse``: finished benchmark folders whose tasks' baseline runs
    are put in this run's group cache before a task runs (``reuse_finished_baselines``)."""
    if check:
        check_bench_inputs(suite, sources, methods, data_dir, max_runs_per_call)
    out_dir = ensure_writable_dir(out_dir, "choose another --out.")
    os.makedirs(os.path.join(out_dir, "tasks"), exist_ok=True)
    meta = {"suite": suite.name, "tasks": [t.name for t in suite.tasks], "lrs": list(suite.lrs),
            "seeds": list(range(suite.seeds)), "methods": list(methods), "policies": [s.label for s in sources],
            "command": command, "complete": False, "task_seconds": {}}  # fmt: skip
    done: List[TaskScores] = []
    t_start = time.perf_counter()
    for k, task in enumerate(suite.tasks):
        folder = os.path.join(out_dir, "tasks", task.name)
        key = task_key(task, suite, methods, sources)
        finished = _load_done(folder, key)
        if finished is not None:
            log(f"[bench] {task.name}: reused the finished results in {folder} (same inputs)")
        else:
            if os.path.isdir(folder):
                log(f"[bench] {task.name}: the results in {folder} are of other inputs; running it again")
            finished = _run_task(task, suite, folder, key, sources, methods, data_dir, figures, max_runs_per_call, command, log,
                                 reuse)  # fmt: skip
        scores, meta["task_seconds"][task.name] = finished
        done.append(scores)
        meta["complete"] = k == len(suite.tasks) - 1
        meta["seconds"] = time.perf_counter() - t_start
        write_leaderboard(done, meta, out_dir, figure=figures)
        log(f"[bench] {k + 1}/{len(suite.tasks)} tasks done; leaderboard in {out_dir}/leaderboard.md")
    return done


def _run_task(task: BenchTask, suite: Suite, folder: str, key: str, sources, methods, data_dir, figures, max_runs,
              command: str, log, reuse: Sequence[str] = ()) -> Tuple[TaskScores, float]:  # fmt: skip
    t0 = time.perf_counter()
    log(f"[bench] {task.name}: {task.description}; {task.scenario.sl_steps} SGD steps, LRs {list(suite.lrs)}, {suite.seeds} seed(s)")
    cache = store.RunCache(os.path.join(os.path.dirname(os.path.dirname(folder)), RUNS_DIR))
    for other in reuse:
        done = os.path.join(other, "tasks", task.name)
        if os.path.isfile(os.path.join(done, "config.json")):
            n = reuse_finished_baselines(done, cache, task.scenario_with(data_dir), lrs=suite.lrs, weight_decays=(task.weight_decay,),
                                         seeds=suite.seeds, methods=methods, log=log)  # fmt: skip
            log(f"[bench] {task.name}: {n} group(s) of baseline runs taken from {done}")
    ev = evaluate(
        task.scenario_with(data_dir), list(sources), lrs=suite.lrs, weight_decays=(task.weight_decay,), seeds=suite.seeds,
        methods=methods, policy_modes=POLICY_MODES, random_agent=False, max_runs_per_call=max_runs, log=log, cache=cache,
    )  # fmt: skip
    scores = task_scores(task.name, method_results(ev, task.metric), task.metric, DEFAULT_LR)

    def write(tmp: str) -> None:
        store.write_all(ev, tmp, figures=figures, command=shlex.split(command) if command else None, replace=False)
        # compute: every group's own time, whether run now or read back from the group cache
        body = {"format": TASK_FORMAT, "key": key, "task": task.config(), "seconds": sum(rs.seconds for rs in ev.runsets),
                "wall_seconds": time.perf_counter() - t0, "scores": scores.to_json()}  # fmt: skip
        atomic_write_text(os.path.join(tmp, TASK_FILE), json.dumps(body, indent=1) + "\n")
        order = sorted(scores.methods, key=lambda m: scores.methods[m]["label"])
        atomic_write_text(os.path.join(tmp, "bench_table.md"), task_table(scores.to_json(), order))

    atomic_write_dir(folder, write)
    log(f"[bench] {task.name}: done in {time.perf_counter() - t0:.0f} s -> {folder}")
    # Read back what was written, so a resumed run and this one score from the same numbers.
    return _load_done(folder, key) or (scores, time.perf_counter() - t0)


def check_bench_inputs(suite: Suite, sources, methods, data_dir, max_runs_per_call: int = 128) -> None:
    """Every check that needs no training (seconds): methods, data, each task's scenario and the
    policies against it. Raises ValueError / MissingDataError / ImportError naming the culprit."""
    unknown = [m for m in methods if m not in BASELINES]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(BENCH_METHODS)} (or any of {list(BASELINES)}).")
    missing = [m for m in REQUIRED_METHODS if m not in methods]
    if missing:
        raise ValueError(
            f"--methods must include {list(REQUIRED_METHODS)} (the normalisation and the speed-up reference); missing {missing}."
        )
    if len(set(methods)) != len(methods):
        raise ValueError(f"--methods repeats a method: {list(methods)}.")
    if not any(abs(lr - DEFAULT_LR) < 1e-12 for lr in suite.lrs):
        raise ValueError(f"suite {suite.name!r}: its LR grid {list(suite.lrs)} must contain the default LR {DEFAULT_LR:g}.")
    check_data(suite.tasks, data_dir)
    for task in suite.tasks:
        check_inputs(task.scenario_with(data_dir), list(sources), lrs=suite.lrs, weight_decays=(task.weight_decay,),
                     seeds=suite.seeds, methods=methods, policy_modes=POLICY_MODES, max_runs_per_call=max_runs_per_call)  # fmt: skip


# ============================================================================ CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ganno bench",
        description="Benchmark GANNO policies against AdamW schedules and LR-free optimisers on real training "
        "tasks (MLP on MNIST, CNN / ResNet / ViT on Fashion-MNIST, a transformer LM on the fortunes corpus); "
        "writes leaderboard.md, leaderboard.json, per-task tables and a performance profile.",
    )
    p.add_argument("--suite", default="quick", choices=sorted(SUITES), help="quick (1 seed, 3 LRs) or full (3 seeds, 5 LRs)")
    p.add_argument("--policy", action="append", default=None, metavar="[LABEL=]PATH",
                   help="a policy folder, 'default' (the shipped policy; the default) or 'none' (baselines only); repeatable")
    p.add_argument("--methods", default="all", help=f"comma-separated baselines, or 'all' ({','.join(BENCH_METHODS)})")
    p.add_argument("--tasks", default="all",
                   help=f"comma-separated task names of the suite ({', '.join(t.name for t in SUITES['quick'].tasks)}), or 'all'")
    p.add_argument("--out", default=None, help="output folder (default results/bench-<suite>)")
    p.add_argument("--data-dir", default=None, help="folder holding fashion-mnist/ and fortunes/ instead of the packages' folders")
    p.add_argument("--reuse", action="append", default=[], metavar="FOLDER",
                   help="a finished benchmark folder (e.g. docs/results/bench/full) whose tasks' baseline runs of the same "
                   "inputs are taken instead of run again (rebuilt from its CSV files); repeatable")
    p.add_argument("--max-runs-per-call", type=int, default=128, help="runs per vmapped call")
    p.add_argument("--no-figures", action="store_true", help="no PNGs (tables and JSON only)")
    return p


def _plan(args: argparse.Namespace) -> Dict[str, Any]:
    suite = get_suite(args.suite)
    if args.tasks != "all":
        names = [t.strip() for t in args.tasks.split(",") if t.strip()]
        if not names:
            raise ValueError("--tasks is empty; give task names or 'all'.")
        suite = Suite(suite.name, tuple(suite.task(n) for n in names), suite.lrs, suite.seeds)
    methods = BENCH_METHODS if args.methods == "all" else tuple(m.strip() for m in args.methods.split(",") if m.strip())
    if args.max_runs_per_call <= 0:
        raise ValueError(f"--max-runs-per-call must be a positive integer, got {args.max_runs_per_call}.")
    policies = args.policy if args.policy is not None else ["default"]
    sources = [] if policies == ["none"] else [policy_source(p) for p in policies]
    return dict(suite=suite, methods=methods, sources=sources)


def _finished_bench(folder: str) -> str:
    """``folder`` if it is a benchmark's output (a ``tasks/`` folder), else a ValueError."""
    if not os.path.isdir(os.path.join(folder, "tasks")):
        raise ValueError(f"--reuse {folder}: not a benchmark's output folder (no tasks/ in it); give the --out of a finished "
                         "`ganno bench`, e.g. docs/results/bench/full.")  # fmt: skip
    return folder


def main(argv: Optional[Sequence[str]] = None) -> List[TaskScores]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    out = args.out or os.path.join("results", f"bench-{args.suite}")
    command = "ganno bench " + " ".join(shlex.quote(a) for a in argv)
    try:
        plan = _plan(args)
        reuse = [_finished_bench(f) for f in args.reuse]
        check_bench_inputs(plan["suite"], plan["sources"], plan["methods"], args.data_dir, args.max_runs_per_call)
        ensure_writable_dir(out, "choose another --out.")
    except MissingDataError as e:
        _fail(str(e))
    except OSError as e:
        _fail(e.strerror or str(e))
    except (ValueError, ImportError) as e:
        _fail(str(e))
    try:
        with terminate_as_exception(), FolderLock(out, warn=lambda m: print(m, file=sys.stderr)):
            return run_bench(plan["suite"], out, plan["sources"], plan["methods"], args.data_dir, not args.no_figures,
                             args.max_runs_per_call, command, check=False, reuse=reuse)  # fmt: skip
    except FolderLockedError as e:
        _fail(str(e))
    except OSError as e:  # a full disk while writing a task: the finished ones are intact (each is written whole)
        _fail(f"{e.strerror or e}; the finished tasks are kept in {out}/tasks/ and the finished groups of runs of the task in "
              f"progress in {out}/{RUNS_DIR}/; once there is room, `{command}` resumes from them.")  # fmt: skip
    except (KeyboardInterrupt, Terminated) as e:
        exit_interrupted(e, f"the finished tasks are kept in {out}/tasks/, the finished groups of runs of the task in progress in "
                            f"{out}/{RUNS_DIR}/; run `{command}` again to resume from them.")  # fmt: skip


if __name__ == "__main__":
    main()
