"""``ganno evaluate`` (``python -m mava_ganno.evaluation.cli``): evaluate trained policies
zero-shot against handcrafted schedules, optimisers and a random layerwise agent, and write
``results/<name>/`` (see ``mava_ganno.evaluation.store``).

Every input is checked before anything runs (the grid, methods, scenario and its dataset, the
policies, and that the output folder can be written); a user error prints one line
``error: ...`` naming the value, file or key and exits with status 2 (``UsageError``)."""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import sys
import tempfile
from typing import Any, Dict, List, NoReturn, Optional, Sequence, Tuple

from mava_ganno.evaluation import store
from mava_ganno.evaluation.baselines import DEFAULT_METHODS
from mava_ganno.evaluation.harness import check_inputs, evaluate
from mava_ganno.evaluation.policies import policy_source
from mava_ganno.evaluation.records import (
    DEFAULT_LRS,
    DEFAULT_SEEDS,
    DEFAULT_WEIGHT_DECAYS,
    Evaluation,
    make_scenario,
)
from mava_ganno.evaluation.tables import tables_markdown
from mava_ganno.policy.io import ensure_writable_dir
from mava_ganno.utils.files import FolderLock, FolderLockedError, Terminated, exit_interrupted, terminate_as_exception


# ============================================================================ CLI
class UsageError(SystemExit):
    """A user error of ``ganno evaluate``: exit status 2, ``str()`` is the message (printed
    once, as ``error: <message>``, before it is raised)."""

    def __init__(self, message: str):
        super().__init__(2)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise UsageError(message)


def _floats(text: str, what: str) -> Tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{what} must be comma-separated numbers like 1e-4,3e-4, got {text!r}."
        ) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ganno evaluate",
        description="Evaluate trained GANNO policies zero-shot against handcrafted schedules, "
        "learned/LR-free optimisers and a random layerwise agent; writes results/<name>/.",
    )
    p.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="[LABEL=]PATH",
        help="a trained policy directory, or 'default' for the policy shipped with mava_ganno "
        "(repeatable); the label defaults to GANNO, 'GANNO (shipped default)' or the ablation "
        "name read from the policy (GANNO-LR-only, ...).",
    )
    p.add_argument(
        "--scenario",
        default="mlp5-mnist_5k",
        help="a configs/env/scenario/<name>.yaml name (mlp5-mnist_5k, cnn5-mnist_5k, ...) or any "
        "<network>-<dataset>, e.g. mlp3-digits (default mlp5-mnist_5k)",
    )
    p.add_argument("--name", default=None, help="results/<name>/ (default: the scenario)")
    p.add_argument("--out", default="results", help="parent folder of the results (default results)")
    p.add_argument("--lrs", default=",".join(f"{x:g}" for x in DEFAULT_LRS), help="initial LR grid")
    p.add_argument(
        "--weight-decays", default=",".join(f"{x:g}" for x in DEFAULT_WEIGHT_DECAYS), help="weight-decay grid"
    )
    p.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, help="number of seeds (0..n-1)")
    p.add_argument(
        "--methods",
        default="all",
        help=f"comma-separated baselines or 'all' or 'none' (all: {','.join(DEFAULT_METHODS)})",
    )
    p.add_argument("--modes", default="sampled,greedy", help="policy action modes: sampled,greedy")
    p.add_argument("--no-random", action="store_true", help="leave out the random layerwise agent")
    p.add_argument("--tau", type=int, default=None, help="SGD steps per agent decision")
    p.add_argument("--sl-steps", type=int, default=None, help="SGD steps per run (the budget)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--hidden", type=int, default=None, help="MLP hidden units")
    p.add_argument("--width", type=int, default=None, help="CNN base channels")
    p.add_argument("--data-dir", default=None, help="tensorflow-datasets data_dir for tfds: datasets")
    p.add_argument("--max-runs-per-call", type=int, default=128, help="runs per vmapped call")
    p.add_argument("--figure-lr", type=float, default=None, help="grid LR the figures show (default 1e-3)")
    p.add_argument("--no-figures", action="store_true")
    return p


_POSITIVE = {
    "tau": "--tau must be a positive integer, the SGD steps per agent decision (e.g. --tau 100; "
    "the budget --sl-steps must be a multiple of it)",
    "sl_steps": "--sl-steps must be a positive integer, a multiple of --tau (e.g. --sl-steps 2000 with --tau 100)",
    "batch_size": "--batch-size must be a positive integer (e.g. --batch-size 32)",
    "hidden": "--hidden must be a positive integer (e.g. --hidden 64)",
    "width": "--width must be a positive integer (e.g. --width 16)",
    "max_runs_per_call": "--max-runs-per-call must be a positive integer (e.g. --max-runs-per-call 128)",
}


def _prepare(args: argparse.Namespace) -> Dict[str, Any]:
    """Every check that needs no run: arguments, scenario, dataset, policies, output folder.
    Raises ValueError / OSError / ImportError naming the culprit."""
    try:
        lrs = _floats(args.lrs, "--lrs")
        wds = _floats(args.weight_decays, "--weight-decays")
    except argparse.ArgumentTypeError as e:
        raise ValueError(str(e)) from None
    for lr in lrs:
        if not (math.isfinite(lr) and lr >= 0):
            raise ValueError(f"--lrs: {lr:g} is not a finite number >= 0; e.g. --lrs 0,1e-4,1e-3.")
    for wd in wds:
        if not (math.isfinite(wd) and wd >= 0):
            raise ValueError(f"--weight-decays: {wd:g} is not a finite number >= 0; e.g. --weight-decays 0.1,1e-4.")
    if args.seeds <= 0:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}.")
    for key, message in _POSITIVE.items():
        value = getattr(args, key)
        if value is not None and value <= 0:
            raise ValueError(f"{message}, got {value}.")
    if args.figure_lr is not None and not (math.isfinite(args.figure_lr) and args.figure_lr >= 0):
        raise ValueError(f"--figure-lr must be a finite number >= 0 (the figures show the grid LR nearest it), got {args.figure_lr}.")
    if args.methods == "all":
        methods = DEFAULT_METHODS
    elif args.methods == "none":
        methods = ()
    else:
        methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    try:
        scenario = make_scenario(
            args.scenario,
            tau=args.tau,
            sl_steps=args.sl_steps,
            batch_size=args.batch_size,
            hidden=args.hidden,
            width=args.width,
            data_dir=args.data_dir,
        )
    except ValueError as e:  # the task's fix, in this command's flags
        flag = lambda m: f"e.g. --{m[1].replace('_', '-')} "  # noqa: E731
        raise ValueError(re.sub(r"e\.g\. (tau|sl_steps|batch_size|hidden|width)=", flag, str(e))) from None
    sources = [policy_source(arg) for arg in args.policy]
    kwargs = dict(lrs=lrs, weight_decays=wds, seeds=args.seeds, methods=methods, policy_modes=modes)
    check_inputs(scenario, sources, max_runs_per_call=args.max_runs_per_call, **kwargs)
    if not methods and not sources and args.no_random:
        raise ValueError("nothing to run: no --methods, no --policy and --no-random; give at least one, e.g. --methods constant,cosine.")
    # Last, so that an input error leaves no folder behind.
    out_dir = os.path.join(args.out, args.name or scenario.name.replace(":", "_"))
    fix = "choose another --out (or --name)."
    ensure_writable_dir(args.out, fix)
    if os.path.lexists(out_dir):
        if not os.path.isdir(out_dir):
            raise NotADirectoryError(f"{out_dir} exists and is not a folder; {fix}")
        ensure_writable_dir(out_dir, fix)
    return dict(scenario=scenario, sources=sources, out_dir=out_dir, kwargs=kwargs)


def partial_dir(out_dir: str) -> str:
    """Where a run in progress keeps what it has finished: ``<out_dir>.partial/`` (the tables of
    the runs so far and ``runs/``, its finished groups), beside the untouched ``out_dir``."""
    return os.path.abspath(out_dir).rstrip(os.sep) + ".partial"


def _partial_writer(partial: str, command: Sequence[str]):
    """Writes the runs finished so far (tables and curves, no figures) to ``partial`` after every
    job, so a failure later keeps them; a failed write is reported once and the evaluation goes
    on (its groups are in ``partial/runs/`` already, and the final write has its own rescue)."""
    failed: List[str] = []

    def write(ev: Evaluation) -> None:
        if failed:
            return
        try:
            store.write_all(ev, partial, figures=False, command=command, replace=False)
        except OSError as e:
            failed.append(str(e))
            print(f"warning: could not write the partial results to {partial}: {e}", file=sys.stderr)

    return write


def _clear_stale_tables(partial: str) -> None:
    """A partial folder left by an earlier run: its tables go (they belong to that run), its
    finished groups (``runs/``) stay for reuse."""
    if not os.path.isdir(partial):
        return
    for name in os.listdir(partial):
        path = os.path.join(partial, name)
        if name != store.RUNS_DIR and os.path.isfile(path):
            os.remove(path)


def main(argv: Optional[Sequence[str]] = None) -> Evaluation:
    args = build_parser().parse_args(argv)
    try:
        plan = _prepare(args)
    except OSError as e:  # ensure_writable_dir's message names the path and the fix
        _fail(e.strerror or str(e))
    except (ValueError, ImportError) as e:
        _fail(str(e))
    out_dir = plan["out_dir"]
    write = dict(figures=not args.no_figures, figure_lr=args.figure_lr, command=sys.argv)
    try:
        with terminate_as_exception(), FolderLock(out_dir, warn=lambda m: print(m, file=sys.stderr), beside=True):
            return _run_and_write(args, plan, out_dir, write)
    except FolderLockedError as e:
        _fail(str(e))
    except (KeyboardInterrupt, Terminated) as e:
        kept = "is unchanged" if os.path.isdir(out_dir) else "was not written"
        exit_interrupted(e, f"{out_dir}/ {kept}; the groups of runs finished so far are in {partial_dir(out_dir)}/ "
                            "(runs/, and table.csv of them); run the same command again to resume: it reuses them.")  # fmt: skip


def _run_and_write(args: argparse.Namespace, plan: Dict[str, Any], out_dir: str, write: Dict[str, Any]) -> Evaluation:
    partial = partial_dir(out_dir)
    _clear_stale_tables(partial)
    cache = store.RunCache(os.path.join(partial, store.RUNS_DIR), [os.path.join(out_dir, store.RUNS_DIR)])
    ev = evaluate(
        plan["scenario"],
        plan["sources"],
        random_agent=not args.no_random,
        max_runs_per_call=args.max_runs_per_call,
        on_progress=_partial_writer(partial, sys.argv),
        cache=cache,
        **plan["kwargs"],
    )
    try:
        files = store.write_all(ev, out_dir, runs=cache.used, **write)
    except OSError as e:  # e.g. the disk filled up during the evaluation: keep the results
        _rescue(ev, out_dir, e, write, cache)
    shutil.rmtree(partial, ignore_errors=True)
    outputs = sorted(os.path.basename(f) for f in files if os.path.basename(os.path.dirname(f)) != store.RUNS_DIR)
    print(f"[evaluate] wrote {', '.join(outputs)} and {len(files) - len(outputs)} groups of runs ({store.RUNS_DIR}/) to {out_dir}/")
    return ev


def _rescue_parents() -> List[str]:
    """Where results go when their folder cannot be written: ``$TMPDIR``, the working folder,
    the home folder (the first that takes them)."""
    out: List[str] = []
    for folder in (tempfile.gettempdir(), os.getcwd(), os.path.expanduser("~")):
        if os.path.isdir(folder) and os.path.realpath(folder) not in {os.path.realpath(x) for x in out}:
            out.append(folder)
    return out


def _rescue(ev: Evaluation, out_dir: str, error: OSError, write: Dict[str, Any], cache: "store.RunCache") -> NoReturn:
    """The results could not be written to ``out_dir``: write them to the first rescue folder
    that takes them (``_rescue_parents``; without figures before not at all), else print the
    table to the console; either way one ``error:`` line says what happened (exit 2)."""
    reason, kept = error.strerror or str(error), ""
    if cache.used and not cache.failed:
        runs = os.path.dirname(next(iter(cache.used.values())))
        kept = f" Its groups of runs are kept in {runs}/: once there is room, the same command writes the results without rerunning them."
    tried: List[str] = []
    for parent in _rescue_parents():
        try:
            folder = tempfile.mkdtemp(prefix="ganno-evaluate-", dir=parent)
        except OSError as e:
            tried.append(f"{parent} ({e.strerror or e})")
            continue
        for figures in dict.fromkeys((bool(write["figures"]), False)):
            try:
                store.write_all(ev, folder, **{**write, "figures": figures}, replace=False)
            except OSError as e:
                last = e
                continue
            note = "" if figures == write["figures"] else " (without figures: there was no room for them)"
            _fail(f"could not write {out_dir}: {reason}; the results were written to {folder}/ instead{note}.{kept}")
        shutil.rmtree(folder, ignore_errors=True)
        tried.append(f"{parent} ({last.strerror or last})")
    rows = ev.rows()
    print(tables_markdown(rows, store.evaluation_meta(ev, write.get("command"))))
    _fail(f"could not write {out_dir}: {reason}; nothing could be saved (tried {', '.join(tried)}): the table is printed above.{kept}")


if __name__ == "__main__":
    main()
