"""Where a compiled ``env.step`` spends its time: XLA's per-operation (thunk) profile, per mode.

Runs the benchmark's environments (``env_throughput.TRACKS``: mlp2 or cnn2 on digits, noop
actions) in evaluation mode and with the difference reward, each under ``jax.profiler.trace``,
reads the Perfetto trace it writes and prints, per XLA operation (numbered copies merged:
``conv_general_dilated.118`` -> ``conv_general_dilated``), the time summed over its calls in each
mode and the ratio difference-reward / evaluation. An operation that only the difference-reward
step runs, or whose ratio is well above 2, is work the two branches do not explain.

Caveats, measured on the 2-core CPU machine (Nov 30 2026): the profiler adds ~1 us per thunk,
which is small next to cnn2's convolutions but about as large as most of mlp2's thunks, so the
MLP profile is distorted (use ``env_throughput.py`` for its timings); the trace holds a bounded
number of events (~0.5 M), so keep ``--calls`` small (the script warns when the most frequent
operation does not run about twice as often with two branches). Wall times come from the same traces.

    python benchmarks/profile_env_step.py [--track cnn] [--calls 3] [--top 25]
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import re
import sys
import tempfile

import jax

sys.path.insert(0, os.path.dirname(__file__))
from env_throughput import TRACKS, _env_runner, track_env  # noqa: E402

_NOT_OPS = ("$", "ThunkExecutor", "PjitFunction", "CommonPjRt", "ParseArguments", "end: ")


def profile_mode(track: str, difference_reward: bool, calls: int, folder: str) -> dict:
    env, k = track_env(track, difference_reward)
    state, _ = jax.jit(env.reset)(jax.random.PRNGKey(0))
    run = _env_runner(env, k)
    jax.block_until_ready(run(state))  # compile (and warm) outside the trace
    with jax.profiler.trace(folder, create_perfetto_trace=True):
        for _ in range(calls):
            jax.block_until_ready(run(state))
    (path,) = glob.glob(os.path.join(folder, "**", "perfetto_trace.json.gz"), recursive=True)
    with gzip.open(path) as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    us, count, wall = collections.Counter(), collections.Counter(), 0.0
    for e in events:
        if e.get("ph") != "X":
            continue
        name = e["name"]
        if "block_until_ready" in name:
            wall += e.get("dur", 0)
        elif not name.startswith(_NOT_OPS):
            op = re.sub(r"\.\d+$", "", name)
            us[op] += e.get("dur", 0)
            count[op] += 1
    return {"us": us, "count": count, "wall_us": wall}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--track", default="cnn", choices=list(TRACKS))
    p.add_argument("--calls", type=int, default=3, help="timed calls of K env steps per mode (>= 1)")
    p.add_argument("--top", type=int, default=25, help="operations listed, by summed time")
    args = p.parse_args()
    if args.calls < 1 or args.top < 1:
        p.error(f"--calls and --top must be >= 1, got --calls {args.calls} --top {args.top}.")
    with tempfile.TemporaryDirectory() as tmp:
        ev = profile_mode(args.track, False, args.calls, os.path.join(tmp, "eval"))
        dr = profile_mode(args.track, True, args.calls, os.path.join(tmp, "difference"))
    tot_e, tot_d = sum(ev["us"].values()), sum(dr["us"].values())
    print(
        f"[{args.track}] {args.calls} calls per mode | wall: eval {ev['wall_us'] / 1e3:.1f} ms, difference reward "
        f"{dr['wall_us'] / 1e3:.1f} ms -> {dr['wall_us'] / ev['wall_us']:.3f}x | summed operation time: "
        f"{tot_e / 1e3:.1f} / {tot_d / 1e3:.1f} ms -> {tot_d / tot_e:.3f}x"
    )
    print(f"{'operation':40s} {'eval ms':>9s} {'calls':>7s} {'diff ms':>9s} {'calls':>7s} {'ratio':>6s}")
    ops = sorted(set(ev["us"]) | set(dr["us"]), key=lambda n: -(ev["us"][n] + dr["us"][n]))
    for op in ops[: args.top]:
        e, d = ev["us"][op], dr["us"][op]
        ratio = f"{d / e:6.2f}" if e else "  only"
        print(f"{op[:40]:40s} {e / 1e3:9.1f} {ev['count'][op]:7d} {d / 1e3:9.1f} {dr['count'][op]:7d} {ratio}")
    most = max(ev["count"], key=ev["count"].get)  # an SGD-loop operation: twice as many calls with two branches
    calls_ratio = dr["count"][most] / ev["count"][most]
    if not 1.8 <= calls_ratio <= 2.2:
        print(
            f"WARNING: {most} ran {ev['count'][most]} / {dr['count'][most]} times ({calls_ratio:.2f}x, expected ~2x): "
            "the trace has probably dropped events (its buffer is bounded); rerun with fewer --calls."
        )


if __name__ == "__main__":
    main()
