"""SGD throughput inside ``env.step`` vs. a plain jitted optax AdamW loop, side by side.

For each track (MLP, CNN) this measures, in one run and interleaved (the machines are noisy):
- plain: ``optax.adamw`` in ``lax.scan`` on the same network, data and batch size (ratio 1.0
  is the physical limit);
- eval step: ``env.step`` in evaluation mode (no counterfactual), K env steps in ``lax.scan``;
- train step: ``env.step`` with the difference reward (two branches).
It prints and writes JSON: SGD steps/s of each, the ratio eval-step / plain (target >= 0.90),
and the cost of a difference-reward step over an evaluation step (target <= 2.1x).

    python benchmarks/env_throughput.py [--repeats 5] [--out benchmarks/env_throughput.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import jax
import jax.numpy as jnp

from mava_ganno.backend.trainer import plain_adamw_loop
from mava_ganno.env.env import Ganno
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


def bench_track(name: str, cfg: dict, repeats: int) -> dict:
    k = cfg.pop("env_steps")
    gen = InitialConditionsGenerator(lr=1e-3, weight_decay=1e-4)
    sl_steps = cfg["tau"] * (k + 1)
    eval_env = Ganno(gen, difference_reward=False, sl_steps=sl_steps, **cfg)
    train_env = Ganno(gen, difference_reward=True, sl_steps=sl_steps, **cfg)
    key = jax.random.PRNGKey(0)
    eval_state, _ = jax.jit(eval_env.reset)(key)
    train_state, _ = jax.jit(train_env.reset)(key)
    plain = plain_adamw_loop(eval_env.trainer, 1e-3, 1e-4, k * cfg["tau"])
    run_eval, run_train = _env_runner(eval_env, k), _env_runner(train_env, k)
    p0 = eval_state.train_state
    # compile everything first
    _time(plain, p0.params, p0.batch_stats, key)
    _time(run_eval, eval_state)
    _time(run_train, train_state)
    t_plain, t_eval, t_train = [], [], []
    for _ in range(repeats):  # interleaved so machine noise hits all three alike
        t_plain.append(_time(plain, p0.params, p0.batch_stats, key))
        t_eval.append(_time(run_eval, eval_state))
        t_train.append(_time(run_train, train_state))
    sgd = k * cfg["tau"]
    med = statistics.median
    out = {
        "track": name,
        "config": {**cfg, "env_steps": k},
        "sgd_steps_per_s": {
            "plain_adamw": sgd / med(t_plain),
            "env_step_eval": sgd / med(t_eval),
            "env_step_difference_reward": sgd / med(t_train),
        },
        "ratio_env_eval_over_plain": med(t_plain) / med(t_eval),
        "difference_reward_step_cost_over_eval_step": med(t_train) / med(t_eval),
    }
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--tracks", nargs="+", default=list(TRACKS), choices=list(TRACKS))
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "env_throughput.json"))
    args = p.parse_args()
    results = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "jax": jax.__version__},
        "tracks": [bench_track(t, dict(TRACKS[t]), args.repeats) for t in args.tracks],
    }
    for r in results["tracks"]:
        s = r["sgd_steps_per_s"]
        print(
            f"[{r['track']}] plain AdamW {s['plain_adamw']:,.0f} SGD steps/s | env.step (eval) "
            f"{s['env_step_eval']:,.0f} -> ratio {r['ratio_env_eval_over_plain']:.3f} (target >= 0.90) | "
            f"difference-reward step costs {r['difference_reward_step_cost_over_eval_step']:.2f}x an eval "
            f"step (target <= 2.1)"
        )
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
