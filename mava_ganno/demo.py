"""Run one short GANNO episode with a fixed policy and print per-layer LRs and accuracies.

``python -m mava_ganno.demo [--network mlp2] [--dataset digits] [--policy no-op|random]``
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import jumanji

import mava_ganno  # noqa: F401  (registers GANNO-v0)
from mava_ganno.generator import InitialConditionsGenerator


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--network", default="mlp2")
    p.add_argument("--dataset", default="digits")
    p.add_argument("--tau", type=int, default=100)
    p.add_argument("--sl-steps", type=int, default=1000)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--policy", choices=("no-op", "random"), default="random")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    env = jumanji.make(
        "GANNO-v0",
        generator=InitialConditionsGenerator(lr=args.lr, weight_decay=0.1),
        network=args.network,
        dataset=args.dataset,
        tau=args.tau,
        sl_steps=args.sl_steps,
        difference_reward=False,
        track_test=True,
    )
    print(env)
    key = jax.random.PRNGKey(args.seed)
    state, timestep = jax.jit(env.reset)(key)
    step = jax.jit(env.step)
    while not bool(timestep.last()):
        key, k = jax.random.split(key)
        if args.policy == "random":
            action = jax.random.randint(k, (env.num_agents,), 0, env.action_dim)
        else:
            action = jnp.full((env.num_agents,), env.action_table.noop_index)
        state, timestep = step(state, action)
        x = timestep.extras
        lrs = " ".join(f"{float(v):.2e}" for v in x["layer_lrs"])
        print(
            f"step {int(state.step_count):3d}  layer LRs [{lrs}]  train acc "
            f"{float(x['train_accuracy']):.3f}  val acc {float(x['val_accuracy']):.3f}  "
            f"test acc {float(x['test_accuracy']):.3f}"
        )


if __name__ == "__main__":
    main()
