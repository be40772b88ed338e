"""What the RL machinery costs on top of the GANNO environment, and the paper-budget run time.

    python benchmarks/train_overhead.py                   # overhead on mlp2-digits, 4,096 timesteps
    python benchmarks/train_overhead.py --paper           # + the paper-budget run (50k timesteps)
    python benchmarks/train_overhead.py --timesteps 16384 env/scenario=cnn2-digits

Side by side, in one process, on the same environments (the training config's scenario and
``arch.num_envs``), for the same number of timesteps T:

- *env only*: the environments stepped for T timesteps by a fixed policy (uniform random
  actions), vmapped and scanned in chunks of the same size as a training call, with the same
  auto-reset;
- *training*: recurrent IPPO for T timesteps (rollout with the policy and critic, GAE, PPO
  epochs; no evaluation episodes).

Both are timed after compilation (compile times reported separately), alternating, best of
``--repeats``. Overhead = training / env only - 1 (target: <= 10%). ``--paper`` then runs
the default ``ganno train`` (mlp2-digits, 50,000 timesteps, tau 100, difference reward, 4
envs) end to end, compilation included (target: <= 15 minutes on 2 CPU cores).

Extra arguments are Hydra overrides of the training config. Results also go to
``benchmarks/train_overhead.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import jax
import jax.numpy as jnp


def env_only_fn(envs, num_envs: int, steps: int):
    """Jitted: step ``num_envs`` envs of every task group ``steps`` times with random actions
    and auto-reset (``envs``: one env per group, as training steps them)."""

    def group_step(env, state, k_act, k_reset):
        actions = jax.random.randint(k_act, (num_envs, env.num_agents), 0, env.action_dim)
        state, ts = jax.vmap(env.step)(state, actions)
        done = ts.last()

        def reset(_):
            new_state, _ = jax.vmap(env.reset)(jax.random.split(k_reset, num_envs))
            pick = lambda r, s: jnp.where(done.reshape((-1,) + (1,) * (s.ndim - 1)), r, s)  # noqa: E731
            return jax.tree_util.tree_map(pick, new_state, state)

        return jax.lax.cond(jnp.any(done), reset, lambda _: state, None), ts.reward.mean()

    def run(states_key):
        def body(carry, _):
            states, key = carry
            key, *ks = jax.random.split(key, 1 + 2 * len(envs))
            out = [group_step(e, s, ks[2 * g], ks[2 * g + 1]) for g, (e, s) in enumerate(zip(envs, states))]
            return (tuple(o[0] for o in out), key), jnp.mean(jnp.stack([o[1] for o in out]))

        (states, key), rewards = jax.lax.scan(body, states_key, None, steps)
        return (states, key), rewards.mean()

    return jax.jit(run)


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--timesteps", type=int, default=4096, help="T for the side-by-side comparison")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--paper", action="store_true", help="also time the paper-budget run end to end")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "train_overhead.json"))
    args, overrides = p.parse_known_args(argv)

    from mava_ganno.systems import rec_ippo
    from mava_ganno.train import compose_config
    from mava_ganno.utils import make_env
    from mava_ganno.utils.config import check_config

    tmp = tempfile.mkdtemp(prefix="ganno-bench-")
    base = [f"logger.base_exp_path={tmp}", "logger.use_console=False", "logger.progress_bar=False",
            "arch.num_eval_episodes=0", "logger.checkpointing.save_model=False"]
    cfg = check_config(compose_config(base + [f"system.total_timesteps={args.timesteps}", "arch.num_evaluation=1", *overrides]))
    envs = make_env.make_groups(cfg)
    E, steps_per_call = int(cfg.arch.num_envs), int(cfg.system.rollout_length) * int(cfg.system.num_updates_per_eval)
    T = steps_per_call * E * len(envs)  # timesteps per call (one device, update_batch_size 1)
    print(f"scenario {cfg.env.scenario.task_name}: {', '.join(map(str, envs))}; T = {T:,} timesteps per timed call "
          f"({cfg.system.num_updates_per_eval} updates x {cfg.system.rollout_length} steps x {E} envs x {len(envs)} "
          f"task group(s)); load average {load_average()}", flush=True)

    # env only
    key = jax.random.PRNGKey(0)
    states = tuple(jax.jit(jax.vmap(e.reset))(jax.random.split(k, E))[0] for e, k in zip(envs, jax.random.split(key, len(envs))))
    env_run = env_only_fn(envs, E, steps_per_call)
    t0 = time.time()
    carry, r = env_run((states, key))
    jax.block_until_ready(r)
    env_compile = time.time() - t0

    # training
    keys = jax.random.split(jax.random.PRNGKey(1), 4)
    learner = rec_ippo.learner_setup(envs, (keys[0], keys[2], keys[3]), cfg)
    ls = learner.init_state
    t0 = time.time()
    ls, m = learner.learn(ls)
    jax.block_until_ready(m)
    train_compile = time.time() - t0

    env_times, train_times = [], []
    for _ in range(args.repeats):
        t0 = time.time()
        carry, r = env_run(carry)
        jax.block_until_ready(r)
        env_times.append(time.time() - t0)
        t0 = time.time()
        ls, m = learner.learn(ls)
        jax.block_until_ready(m)
        train_times.append(time.time() - t0)
    env_t, train_t = min(env_times), min(train_times)
    result = {
        "scenario": str(cfg.env.scenario.task_name),
        "timesteps": T,
        "num_envs": E,
        "task_groups": len(envs),
        "env_only_s": env_t,
        "training_s": train_t,
        "overhead": train_t / env_t - 1.0,
        "env_only_timesteps_per_s": T / env_t,
        "training_timesteps_per_s": T / train_t,
        "env_compile_s": env_compile,
        "training_compile_s": train_compile,
        "env_only_all_s": env_times,
        "training_all_s": train_times,
        "load_average": load_average(),
        "cpus": os.cpu_count(),
        "devices": [str(d) for d in jax.devices()],
    }
    print(f"| | wall time for {T:,} timesteps | timesteps/s | compile |")
    print("|---|---|---|---|")
    print(f"| env only (random policy) | {env_t:.2f} s | {T / env_t:,.0f} | {env_compile:.1f} s |")
    print(f"| recurrent IPPO training | {train_t:.2f} s | {T / train_t:,.0f} | {train_compile:.1f} s |")
    print(f"RL machinery overhead: {100 * result['overhead']:+.1f}% (target <= 10%)", flush=True)

    if args.paper:
        pcfg = compose_config(base + ["logger.progress_bar=True", *overrides])
        print(f"paper-budget run: {pcfg.env.scenario.task_name}, {pcfg.system.total_timesteps:,} timesteps, "
              f"tau {pcfg.env.scenario.env_kwargs.tau}, {pcfg.arch.num_envs} envs ...", flush=True)
        rec_ippo._LEARNER_CACHE.clear()  # time it as a fresh `ganno train` would run (compile included)
        t0 = time.time()
        res = rec_ippo.run_experiment(pcfg, verbose=False)
        wall = time.time() - t0
        result["paper_budget"] = {
            "timesteps": res.total_timesteps,
            "updates": res.num_updates,
            "wall_s": wall,
            "train_loop_s": res.train_seconds,
            "load_average_after": load_average(),
        }
        print(f"paper-budget run: {res.total_timesteps:,} timesteps in {wall / 60:.1f} min "
              f"(target <= 15 min), load average {load_average()}")

    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
