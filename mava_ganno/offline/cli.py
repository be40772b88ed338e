"""``ganno demos``: demonstrations of handcrafted schedules in a training scenario (an .npz file).

    ganno demos env/scenario=pool-8x8 --out demos/pool.npz
    ganno demos env/scenario=mlp2-digits --schedules warmup_cosine,onecycle --peaks 1e-3,1e-2 --seeds 0,1
    ganno demos env/scenario=pool-deep --initial-lrs 1e-4,1e-3,1e-2 --out demos/repair.npz

Extra arguments are Hydra overrides of the training config (``mava_ganno.train``): the
scenario (every task group of a task distribution), its features, action table and reward.
See ``mava_ganno.offline.demos`` for what is recorded.

Each group's runs are kept in ``<out>.parts/`` as soon as they are done: a run stopped part-way
(a signal, a lost machine) is continued by the same command, which reads the groups done and
runs the rest; the folder is removed once ``<out>`` is written. A different command or scenario
refuses the folder before running anything.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from typing import Any, List, Optional, Sequence

from mava_ganno.offline.demos import DEFAULT_PEAKS, DEMO_SCHEDULES, check_initial_lrs, check_schedules, demo_runs
from mava_ganno.utils.files import Terminated, exit_interrupted, terminate_as_exception


def _list(kind):
    def parse(text: str) -> List[Any]:
        try:
            return [kind(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of {kind.__name__}s") from None

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ganno demos", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="demos.npz", help="output file (default %(default)s)")
    p.add_argument("--schedules", type=_list(str), default=list(DEMO_SCHEDULES), help="comma-separated schedule names")
    p.add_argument("--peaks", type=_list(float), default=list(DEFAULT_PEAKS), help="peak (grid) learning rates")
    p.add_argument("--seeds", type=_list(int), default=[0], help="episode seeds (initialisation, data order, weight decay draw)")
    p.add_argument("--initial-lrs", type=_list(float), default=None,
                   help="run every schedule from each of these LRs (default: from the schedule's first value)")
    p.add_argument("--peaks-above-start", action="store_true",
                   help="from each initial LR, only the peaks at or above it (no run lowers its start to reach a peak)")
    p.add_argument("--max-peak-ratio", type=float, default=None,
                   help="with --peaks-above-start, only the peaks up to this many times each initial LR (e.g. 3.5)")
    p.add_argument("--weight-decay", type=float, default=None, help="fixed weight decay (default: the scenario's distribution)")
    p.add_argument("--max-runs-per-call", type=int, default=64)
    return p


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def main(argv: Optional[Sequence[str]] = None) -> str:
    args, overrides = build_parser().parse_known_args(list(sys.argv[1:] if argv is None else argv))
    bad = [o for o in overrides if o.startswith("-")]
    if bad:
        build_parser().error(f"unrecognized arguments: {' '.join(bad)}")
    from omegaconf import OmegaConf

    from mava_ganno.offline.demos import check_demo_parts, generate_demonstrations, save_demonstrations
    from mava_ganno.policy.io import ensure_writable_dir
    from mava_ganno.train import compose_checked
    from mava_ganno.utils import make_env
    from mava_ganno.utils.config import ConfigError, task_groups

    try:  # everything is checked before any episode runs
        check_schedules(args.schedules, args.peaks)
        check_initial_lrs(args.initial_lrs, args.peaks, args.peaks_above_start, args.max_peak_ratio)
        if not args.seeds:
            raise ValueError("no seeds given; e.g. --seeds 0,1.")
        if args.max_runs_per_call < 1:
            raise ValueError(f"--max-runs-per-call must be >= 1, got {args.max_runs_per_call}.")
        ensure_writable_dir(os.path.dirname(os.path.abspath(args.out)), "choose another --out.")
        cfg = compose_checked(overrides)
        envs = make_env.make_groups(cfg)
        names = list(task_groups(cfg)) or [str(cfg.env.scenario.task_name)]
        parts_dir = args.out + ".parts"  # what the runs depend on: the env config and the arguments
        part_key = json.dumps({"env": OmegaConf.to_container(cfg.env, resolve=True), "groups": names,
                               **{k: v for k, v in vars(args).items() if k not in ("out", "max_runs_per_call")}}, sort_keys=True)
        done = check_demo_parts(parts_dir, names, part_key)
        if done:
            print(f"[demos] {len(done)} of {len(names)} group(s) already done in {parts_dir}: {', '.join(done)}")
    except ConfigError as e:
        _fail(f"config: {e}")
    except OSError as e:
        _fail(e.strerror or str(e))
    except ValueError as e:
        _fail(str(e))
    t0 = time.perf_counter()
    try:
        with terminate_as_exception():
            episodes = len(demo_runs(len(args.schedules), args.peaks, args.seeds, args.initial_lrs, args.peaks_above_start,
                                     args.max_peak_ratio))
            print(f"[demos] {episodes} episodes in each of {len(names)} group(s) -> {args.out}")
            data = generate_demonstrations(envs, names, args.schedules, args.peaks, args.seeds, args.weight_decay,
                                           args.max_runs_per_call, initial_lrs=args.initial_lrs,
                                           peaks_above_start=args.peaks_above_start, max_peak_ratio=args.max_peak_ratio,
                                           parts_dir=parts_dir, part_key=part_key)
    except (KeyboardInterrupt, Terminated) as e:
        exit_interrupted(e, f"{args.out} is written when all groups have run; the groups done so far are kept in "
                            f"{parts_dir}: run the same command again to go on from them.")
    path = save_demonstrations(args.out, data)
    shutil.rmtree(parts_dir, ignore_errors=True)
    print(f"[demos] {data['obs'].shape[0]} agent sequences of {data['obs'].shape[1]} steps in "
          f"{time.perf_counter() - t0:.1f} s -> {path}")
    return path


if __name__ == "__main__":
    main()


def build_clone_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ganno clone",
        description="Behaviour cloning of the GANNO policy on demonstrations (`ganno demos`); writes a policy folder.",
    )
    p.add_argument("--demos", required=True, help="a demonstrations file written by `ganno demos`")
    p.add_argument("--out", required=True, help="policy folder to write (policy.json + params.msgpack)")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=64, help="agent sequences per SGD step")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--chunk", type=int, default=8, help="truncated-BPTT chunk (system.recurrent_chunk_size)")
    p.add_argument("--keep-top", type=float, default=None, help="keep each group's best episodes, e.g. 0.3")
    p.add_argument("--keep-top-by", choices=("group", "start"), default=None,
                   help="rank --keep-top within each task group (default) or each (task group, initial LR)")
    p.add_argument("--seed", type=int, default=0)
    return p


def clone_main(argv: Optional[Sequence[str]] = None) -> str:
    args = build_clone_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    from mava_ganno.offline.bc import behaviour_clone
    from mava_ganno.offline.demos import load_demonstrations
    from mava_ganno.policy import save_policy
    from mava_ganno.policy.io import ensure_writable_dir

    try:
        if args.keep_top_by is not None and args.keep_top is None:
            raise ValueError(f"--keep-top-by {args.keep_top_by} ranks the episodes --keep-top keeps; add --keep-top, e.g. 0.3.")
        ensure_writable_dir(os.path.dirname(os.path.abspath(args.out)), "choose another --out.")
        data = load_demonstrations(args.demos)
        with terminate_as_exception():
            policy, history = behaviour_clone(data, epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                                              chunk=args.chunk, keep_top=args.keep_top,
                                              keep_top_by=args.keep_top_by, seed=args.seed,
                                              metadata={"demonstrations_file": os.path.abspath(args.demos)})
    except OSError as e:
        _fail(e.strerror or str(e))
    except ValueError as e:
        _fail(str(e))
    except (KeyboardInterrupt, Terminated) as e:
        exit_interrupted(e, f"no policy was written ({args.out} is written after the last epoch); run the same command again.")
    save_policy(args.out, policy)
    print(f"[clone] action accuracy {history[-1]['accuracy']:.3f} after {args.epochs} epochs -> {args.out}")
    return args.out
