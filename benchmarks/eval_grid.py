"""Wall time of the default evaluation grid: vmapped runs vs. a sequential loop of the same runs.

    python benchmarks/eval_grid.py                       # mlp5-mnist_5k, full budget
    python benchmarks/eval_grid.py --sl-steps 300        # the same grid, 1/10 of the budget
    python benchmarks/eval_grid.py --policy runs/x/policy

The grid is ``ganno evaluate``'s default: initial LRs {0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2},
weight decays {0.1, 1e-4}, 3 seeds; every baseline (9 AdamW schedules, LAMB, Lion,
schedule-free AdamW, Prodigy), a GANNO policy sampled and greedy (an untrained one unless
``--policy`` is given: the same cost) and the random layerwise agent. Both modes run the
same jitted code (``evaluate(..., sequential=True)`` calls ``jit(run)`` once per run in a
Python loop); times include compilation. It also reports how far the two modes' final test
accuracies are apart (batched and unbatched kernels round differently, and high-LR runs
amplify it). It counts, per mode, the XLA compilations made during the evaluation and their
seconds (``mava_ganno.evaluation.compiles``: ``jax.monitoring`` events, or JAX's compile log on
jax < 0.4.36): all of them, and the harness's runners alone. Prints a JSON summary (also
written to ``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import jax
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from mava_ganno.env.env import Ganno  # noqa: E402
from mava_ganno.env.rewards import HoldOutAccuracy  # noqa: E402
from mava_ganno.evaluation import harness as E  # noqa: E402
from mava_ganno.evaluation import policies as P  # noqa: E402
from mava_ganno.evaluation import records as REC  # noqa: E402
from mava_ganno.evaluation.compiles import count_compiles  # noqa: E402
from mava_ganno.policy import init_policy_for_env  # noqa: E402


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", default="mlp5-mnist_5k")
    p.add_argument("--sl-steps", type=int, default=None, help="budget override (default: the scenario's)")
    p.add_argument("--seeds", type=int, default=REC.DEFAULT_SEEDS)
    p.add_argument("--policy", default=None, help="a trained policy (default: an untrained one)")
    p.add_argument("--modes", default="vmapped,sequential", help="which to time")
    p.add_argument("--out", default=None, help="also write the JSON summary here")
    args = p.parse_args(argv)

    sc = REC.make_scenario(args.scenario, sl_steps=args.sl_steps)
    if args.policy:
        policy = P.describe_policy(P.load_policy_any(args.policy), path=args.policy)
    else:
        env = Ganno(sc, reward_fn=HoldOutAccuracy(), track_test=True)
        policy = P.describe_policy(init_policy_for_env(env, jax.random.PRNGKey(0)), path="untrained")
    runs = None
    summary = {
        "scenario": sc.name,
        "sl_steps": sc.sl_steps,
        "tau": sc.tau,
        "lrs": list(REC.DEFAULT_LRS),
        "weight_decays": list(REC.DEFAULT_WEIGHT_DECAYS),
        "seeds": args.seeds,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, jax {jax.__version__}",
        "load_average_before": os.getloadavg()[0],
    }
    finals = {}
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        if mode not in ("vmapped", "sequential"):
            raise SystemExit(f"--modes: unknown mode {mode!r}; use vmapped and/or sequential.")
        t0 = time.perf_counter()
        with count_compiles() as compiles:
            ev = E.evaluate(sc, [policy], seeds=args.seeds, sequential=mode == "sequential",
                            log=lambda s: print(f"  [{mode}] {s}", flush=True))
        dt = time.perf_counter() - t0
        runs = sum(rs.num_runs for rs in ev.runsets)
        summary[f"{mode}_seconds"] = round(dt, 1)
        summary[f"{mode}_compiles"] = {
            **compiles.summary(),
            "slowest": [(n, round(t, 2)) for n, t in sorted(compiles.events, key=lambda e: -e[1])[:10]],
        }
        summary[f"{mode}_method_seconds"] = {rs.label: round(rs.seconds, 1) for rs in ev.runsets}
        finals[mode] = np.concatenate([rs.test_accuracy[:, -1] for rs in ev.runsets])
        c = compiles.summary()
        print(f"{mode}: {runs} runs x {sc.sl_steps} SGD steps in {dt:.1f} s; {c['compilations']} "
              f"compilations in {c['compile_seconds']:.1f} s (runners: {c['runner_compilations']} in "
              f"{c['runner_compile_seconds']:.1f} s)" + (f" [{c['note']}]" if "note" in c else ""), flush=True)
    summary["runs"] = runs
    summary["load_average_after"] = os.getloadavg()[0]
    if "vmapped_seconds" in summary and "sequential_seconds" in summary:
        summary["speedup"] = round(summary["sequential_seconds"] / summary["vmapped_seconds"], 2)
        diff = np.abs(finals["vmapped"] - finals["sequential"])
        # Batched and unbatched XLA kernels round differently; chaotic (high-LR) runs amplify it.
        summary["max_abs_difference_final_test_accuracy"] = float(diff.max())
        summary["median_abs_difference_final_test_accuracy"] = float(np.median(diff))
        summary["runs_within_1_point"] = f"{int((diff <= 0.01).sum())}/{diff.size}"
    print(json.dumps(summary, indent=2))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")
    return summary


if __name__ == "__main__":
    main()
