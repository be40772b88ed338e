"""A trained GANNO policy as an optax optimiser (mava_ganno.optimiser) on the vit-mnist_5k ViT.

    python benchmarks/optax_vit_zero_shot.py results/vit-source/policy [--seeds 2] [--lr 1e-3]

Trains the ViT with ``ganno_adamw`` in a plain ``lax.scan`` loop (its own minibatch order;
hold-out metrics computed only at decision steps, under ``lax.cond``) and prints the final
test accuracy per seed and the learning rates the policy chose (docs/lab/results-notebook.md).
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np
import optax

from mava_ganno.backend.trainer import TrainState
from mava_ganno.env.env import make_ganno
from mava_ganno.env.generator import InitialConditionsGenerator
from mava_ganno.optimiser import ganno_adamw, is_decision_step, layer_names, lr_trajectory
from mava_ganno.policy import load_policy


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("policy")
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--steps", type=int, default=3000)
    args = p.parse_args()
    policy = load_policy(args.policy)
    env = make_ganno(
        InitialConditionsGenerator(args.lr, args.weight_decay), network="vit", dataset="mnist_5k",
        tau=100, sl_steps=args.steps, difference_reward=False,
    )
    tr = env.trainer  # only for the network, data and loss: training is the plain loop below
    tx = ganno_adamw(policy, total_steps=args.steps, weight_decay=args.weight_decay, initial_lr=args.lr,
                     num_classes=env.dataset.num_classes)

    @jax.jit
    def run(key):
        params = tr.init(key).params
        hold_out = lambda p: tr.evaluate(TrainState(p, {}, None), "val")  # noqa: E731

        def step(carry, idx):
            params, opt_state = carry
            x, y = tr.minibatch(idx)
            (loss, (acc, _)), grads = jax.value_and_grad(tr._loss, has_aux=True)(params, {}, x, y)
            val_loss, val_acc = jax.lax.cond(is_decision_step(opt_state), hold_out, lambda p: (0.0, 0.0), params)
            updates, opt_state = tx.update(
                grads, opt_state, params, loss=loss, accuracy=acc, val_loss=val_loss, val_accuracy=val_acc
            )
            return (optax.apply_updates(params, updates), opt_state), loss

        indices = tr.batch_indices(jax.random.fold_in(key, 7), args.steps)
        (params, opt_state), _ = jax.lax.scan(step, (params, tx.init(params)), indices)
        return tr.evaluate(TrainState(params, {}, None), "test")[1], opt_state

    names = layer_names(tr.init(jax.random.PRNGKey(0)).params)
    for seed in range(args.seeds):
        t = time.perf_counter()
        acc, opt_state = run(jax.random.PRNGKey(seed))
        traj = lr_trajectory(opt_state)
        print(f"seed {seed}: test accuracy {100 * float(acc):.2f}% ({time.perf_counter() - t:.1f} s)")
        for i in (0, len(traj["steps"]) // 3, 2 * len(traj["steps"]) // 3, -1):
            lrs = " ".join(f"{n}={lr:.2g}" for n, lr in zip(names, np.asarray(traj["lrs"][i])))
            print(f"  step {int(traj['steps'][i]):5d}: {lrs}")


if __name__ == "__main__":
    main()
