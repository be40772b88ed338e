"""SGD throughput inside ``env.step`` vs. a plain jitted optax AdamW loop, side by side.

For each track (MLP, CNN) this measures, in one run and interleaved (the machines are noisy):
- plain: ``optax.adamw`` in ``lax.scan`` on the same network, data and batch size (ratio 1.0
  is the physical limit);
- eval step: ``env.step`` in evaluation mode (no counterfactual), K env steps in ``lax.scan``;
- train step: ``env.step`` with the difference reward (two branches).
It prints and writes JSON: SGD steps/s of each, the ratio eval-step / plain (target >= 0.90),
and the cost of a difference-reward step over an evaluation step (target <= 2.1x). It also
times ``env.reset`` (network init, first statistics and hold-out evaluation, and the draw of
every minibatch of the episode, which steps then only index), reported as a fraction of the
timed steps, since the ratios above leave it out.

The four calls (the three above and ``env.reset``) are timed round after round (``--repeats``
rounds, one call of each per round, in an order shuffled every round with a fixed seed) and the
ratios are the medians of the per-round ratios, with their interquartile range: on a 2-core
machine a single timing of ~0.1 s varies by +-10% from call to call, and slow drifts (other
jobs, CPU frequency) hit the calls of one round alike. Each median ratio comes with its
bootstrap standard error (``*_se``: 1,000 resamples of the rounds): 200 rounds (~5 minutes,
the default since Nov 30 2026) put it near 0.01-0.03 (100 rounds: ~0.03-0.04; 25 rounds: ~0.08,
enough for a run to land on either side of the 2.1 target by chance when the cost is ~2.05x).
Before anything is compiled the script samples how busy the CPUs are (``/proc/stat`` over 3 s:
other processes only, since this one is still idle) and records the load averages before and
after; when other processes used >= 10% of the CPUs it says so, and the numbers are not
idle-machine figures. (The 1-minute load average cannot tell: it still counts a run that ended
a minute ago.)

    python benchmarks/env_throughput.py [--repeats 200] [--out benchmarks/env_throughput.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from typing import Tuple

import jax
import jax.numpy as jnp

from mava_ganno.backend.trainer import plain_adamw_loop
from mava_ganno.env.env import Ganno, make_ganno
from mava_ganno.env.generator import InitialConditionsGenerator

TRACKS = {
    "mlp": dict(network="mlp2", dataset="digits", hidden=64, batch_size=32, tau=100, env_steps=20),
    "cnn": dict(network="cnn2", dataset="digits", width=8, batch_size=32, tau=100, env_steps=4),
}


def _env_runner(env: Ganno, num_steps: int):
    noop = jnp.full((env.num_agents,), env.action_table.noop_index, jnp.int32)

    @jax.jit
    def run(state):
        def body(s, _):
            s, ts = env.step(s, noop)
            return s, ts.reward[0]

        return jax.lax.scan(body, state, None, length=num_steps)

    return run


def _time(fn, *args) -> float:
    t = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - t


def track_env(name: str, difference_reward: bool) -> Tuple[Ganno, int]:
    """The track's environment (fixed LR 1e-3, weight decay 1e-4, one planned chunk beyond the
    timed steps) and K, its number of timed env steps per call."""
    cfg = dict(TRACKS[name])
    k = cfg.pop("env_steps")
    gen = InitialConditionsGenerator(lr=1e-3, weight_decay=1e-4)
    return make_ganno(gen, difference_reward=difference_reward, sl_steps=cfg["tau"] * (k + 1), **cfg), k


def bench_track(name: str, repeats: int) -> dict:
    eval_env, k = track_env(name, difference_reward=False)
    train_env, _ = track_env(name, difference_reward=True)
    cfg = {key: v for key, v in TRACKS[name].items() if key != "env_steps"}
    key = jax.random.PRNGKey(0)
    reset = jax.jit(eval_env.reset)
    eval_state, _ = reset(key)
    train_state, _ = jax.jit(train_env.reset)(key)
    plain = plain_adamw_loop(eval_env.trainer, 1e-3, 1e-4, k * cfg["tau"])
    run_eval, run_train = _env_runner(eval_env, k), _env_runner(train_env, k)
    p0 = eval_state.train_state
    # compile everything first
    _time(plain, p0.params, p0.batch_stats, key)
    _time(run_eval, eval_state)
    _time(run_train, train_state)
    calls = {
        "plain": lambda: plain(p0.params, p0.batch_stats, key),
        "eval": lambda: run_eval(eval_state),
        "train": lambda: run_train(train_state),
        "reset": lambda: reset(key),
    }
    times = {call: [] for call in calls}
    order = random.Random(0)
    for _ in range(repeats):  # interleaved so machine noise hits all four alike, in a shuffled order
        names = list(calls)
        order.shuffle(names)  # so that no call always runs right after another (caches, clocks)
        for call in names:
            times[call].append(_time(calls[call]))
    t_plain, t_eval, t_train, t_reset = (times[n] for n in ("plain", "eval", "train", "reset"))
    sgd = k * cfg["tau"]
    med = statistics.median
    ratio = [p / e for p, e in zip(t_plain, t_eval)]
    cost = [t / e for t, e in zip(t_train, t_eval)]
    out = {
        "track": name,
        "config": {**cfg, "env_steps": k},
        "rounds": repeats,
        "sgd_steps_per_s": {
            "plain_adamw": sgd / med(t_plain),
            "env_step_eval": sgd / med(t_eval),
            "env_step_difference_reward": sgd / med(t_train),
        },
        "ratio_env_eval_over_plain": med(ratio),
        "ratio_env_eval_over_plain_iqr": _iqr(ratio),
        "ratio_env_eval_over_plain_se": _median_se(ratio),
        "difference_reward_step_cost_over_eval_step": med(cost),
        "difference_reward_step_cost_over_eval_step_iqr": _iqr(cost),
        "difference_reward_step_cost_over_eval_step_se": _median_se(cost),
        "eval_reset_ms": 1e3 * med(t_reset),
        "eval_reset_over_timed_eval_steps": med(t_reset) / med(t_eval),
    }
    return out


def cpu_busy_fraction(seconds: float = 3.0):
    """Fraction of all CPUs' time spent busy over ``seconds`` (``/proc/stat``), None off Linux."""
    def read():
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields), idle

    try:
        total0, idle0 = read()
        time.sleep(seconds)
        total1, idle1 = read()
    except (OSError, ValueError, IndexError):
        return None
    total = total1 - total0
    return None if total <= 0 else 1.0 - (idle1 - idle0) / total


def _median_se(values: list, resamples: int = 1000) -> float:
    """Bootstrap standard error of the median of ``values`` (fixed seed)."""
    rng = random.Random(1)
    meds = [statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples)]
    return statistics.stdev(meds)


def _iqr(values: list) -> list:
    q = statistics.quantiles(values, n=4)
    return [q[0], q[2]]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=200, help="interleaved rounds (>= 3)")
    p.add_argument("--tracks", nargs="+", default=list(TRACKS), choices=list(TRACKS))
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "env_throughput.json"))
    args = p.parse_args()
    if args.repeats < 3:
        p.error(f"--repeats must be >= 3 (rounds for a median and quartiles), got {args.repeats}.")
    load_before = os.getloadavg()
    busy = cpu_busy_fraction()
    tracks = [bench_track(t, args.repeats) for t in args.tracks]
    load_after = os.getloadavg()
    results = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "jax": jax.__version__},
        "load_average_before": list(load_before),
        "load_average_after": list(load_after),
        "cpu_busy_before": busy,
        "idle_before": busy is not None and busy < 0.10,
        "tracks": tracks,
    }
    for r in results["tracks"]:
        s = r["sgd_steps_per_s"]
        q, c = r["ratio_env_eval_over_plain_iqr"], r["difference_reward_step_cost_over_eval_step_iqr"]
        print(
            f"[{r['track']}] plain AdamW {s['plain_adamw']:,.0f} SGD steps/s | env.step (eval) "
            f"{s['env_step_eval']:,.0f} -> ratio {r['ratio_env_eval_over_plain']:.3f} "
            f"(SE {r['ratio_env_eval_over_plain_se']:.3f}) [IQR {q[0]:.3f}-{q[1]:.3f}] (target >= 0.90) | "
            f"difference-reward step costs {r['difference_reward_step_cost_over_eval_step']:.2f}x "
            f"(SE {r['difference_reward_step_cost_over_eval_step_se']:.3f}) [IQR {c[0]:.2f}-{c[1]:.2f}] an eval "
            f"step (target <= 2.1) | reset {r['eval_reset_ms']:.1f} ms = "
            f"{r['eval_reset_over_timed_eval_steps']:.1%} of the {r['config']['env_steps']} timed eval steps"
        )
    print(
        f"load average (1, 5, 15 min) before {', '.join(f'{x:.2f}' for x in load_before)}; after "
        f"{', '.join(f'{x:.2f}' for x in load_after)} (this run itself adds up to ~1-2); CPUs busy with "
        f"other work before the run: {'unknown' if busy is None else f'{busy:.0%}'}"
    )
    if not results["idle_before"]:
        print(
            "WARNING: the machine was not idle before this run (other processes used "
            f"{'an unknown share' if busy is None else f'{busy:.0%}'} of the CPUs, idle means < 10%): "
            "these are not idle-machine figures; rerun when nothing else runs."
        )
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
