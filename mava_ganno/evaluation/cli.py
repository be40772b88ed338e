"""``ganno evaluate`` (``python -m mava_ganno.evaluation.cli``): evaluate trained policies
zero-shot against handcrafted schedules, optimisers and a random layerwise agent, and write
``results/<name>/`` (see ``mava_ganno.evaluation.store``)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence, Tuple

from mava_ganno.evaluation import store
from mava_ganno.evaluation.baselines import DEFAULT_METHODS
from mava_ganno.evaluation.harness import evaluate
from mava_ganno.evaluation.policies import describe_policy, load_policy_any, parse_policy_arg
from mava_ganno.evaluation.records import (
    DEFAULT_LRS,
    DEFAULT_SEEDS,
    DEFAULT_WEIGHT_DECAYS,
    Evaluation,
    make_scenario,
)


# ============================================================================ CLI
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
        help="a trained policy directory (repeatable); the label defaults to GANNO or the "
        "ablation name read from the policy (GANNO-LR-only, ...).",
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


def main(argv: Optional[Sequence[str]] = None) -> Evaluation:
    args = build_parser().parse_args(argv)
    try:
        lrs = _floats(args.lrs, "--lrs")
        wds = _floats(args.weight_decays, "--weight-decays")
    except argparse.ArgumentTypeError as e:
        raise SystemExit(f"ganno evaluate: {e}")
    if args.seeds <= 0:
        raise SystemExit(f"ganno evaluate: --seeds must be >= 1, got {args.seeds}.")
    if args.methods == "all":
        methods = DEFAULT_METHODS
    elif args.methods == "none":
        methods = ()
    else:
        methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    scenario = make_scenario(
        args.scenario,
        tau=args.tau,
        sl_steps=args.sl_steps,
        batch_size=args.batch_size,
        hidden=args.hidden,
        width=args.width,
        data_dir=args.data_dir,
    )
    sources = []
    for arg in args.policy:
        label, path = parse_policy_arg(arg)
        sources.append(describe_policy(load_policy_any(path), path=path, label=label))
    ev = evaluate(
        scenario,
        sources,
        lrs=lrs,
        weight_decays=wds,
        seeds=args.seeds,
        methods=methods,
        policy_modes=modes,
        random_agent=not args.no_random,
        max_runs_per_call=args.max_runs_per_call,
    )
    out_dir = os.path.join(args.out, args.name or scenario.name.replace(":", "_"))
    files = store.write_all(
        ev, out_dir, figures=not args.no_figures, figure_lr=args.figure_lr, command=sys.argv
    )
    print(f"[evaluate] wrote {len(files)} files to {out_dir}/: " + ", ".join(sorted(os.path.basename(f) for f in files)))
    return ev
if __name__ == "__main__":
    main()
