"""Pilot: can one LR per layer beat the best handcrafted schedule, on the training pool's tasks?

A policy acts on each layer's LR; the handcrafted schedules give every layer the same one. A
clone can only imitate its demonstrations, so demonstrations that beat every handcrafted
schedule need per-layer LRs that do. This measures whether such LRs exist at the simplest
granularity: the best handcrafted (schedule, LR) of a task with one layer's LR multiplied by 3
or 1/3, or the LRs ramped geometrically from 3x at the first layer to 1/3x at the last (and
back). Every run is AdamW at every SGD step, as the benchmark and the suite's per-step
schedules run it (the trainer's per-layer AdamW; one multiplier per layer agent).

Per task group of the composed config (training data only):
1. the best uniform (schedule, LR) on the selection seeds (mean final hold-out accuracy);
2. the best of its per-layer variants (the uniform one among them) on the same seeds;
3. both on the confirmation seeds, which chose nothing: the gain in points.
One JSON line per task as it finishes, then a Markdown table.

Usage (overrides as for ``ganno train``, after ``--``):
    python experiments/pilot_layer_lr.py --out results/pilot-layer-lr.jsonl -- $(variant_env wsd-step)
Options: ``--schedules a,b`` (default the demonstrations' five), ``--lrs`` (default the
half-decade grid 1e-4 ... 1e-2), ``--select-seeds 0,1,2,3``, ``--confirm-seeds 4,5,6,7``,
``--factor 3``, ``--weight-decay 0.1`` (the suite's), ``--groups a,b`` (default all).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Dict, List

import jax
import jax.numpy as jnp
import numpy as np

from mava_ganno.backend.schedules import SCHEDULE_NAMES, make_schedule
from mava_ganno.backend.trainer import reset_keys
from mava_ganno.train import compose_config
from mava_ganno.utils.config import check_config
from mava_ganno.utils.make_env import make_task, task_groups


def _floats(text: str, what: str) -> List[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SystemExit(f"{what} {text!r}: give numbers separated by commas, e.g. 1e-4,1e-3") from None
    if not values or any(not np.isfinite(v) or v <= 0 for v in values):
        raise SystemExit(f"{what} {text!r}: give numbers > 0 separated by commas, e.g. 1e-4,1e-3")
    return values


def _seeds(text: str, what: str) -> List[int]:
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise SystemExit(f"{what} {text!r}: give integers separated by commas, e.g. 0,1,2,3") from None


def layer_variants(num_layers: int, factor: float) -> Dict[str, np.ndarray]:
    """The multipliers tried: uniform, one layer x factor or / factor, and the two geometric ramps."""
    out = {"uniform": np.ones(num_layers, np.float32)}
    for i in range(num_layers):
        for name, m in ((f"L{i}x{factor:g}", factor), (f"L{i}/{factor:g}", 1.0 / factor)):
            v = np.ones(num_layers, np.float32)
            v[i] = m
            out[name] = v
    ramp = np.geomspace(factor, 1.0 / factor, num_layers).astype(np.float32)
    out["ramp-down"], out["ramp-up"] = ramp, ramp[::-1].copy()
    return out


def make_runner(env: Any):
    """``run(seed_keys (S,), units (C, T*tau), lrs (C,), mults (C, L), wd) -> (val, test)`` final
    hold-out accuracies (S, C); a run whose loss is not finite counts as chance."""
    trainer, chunks = env.trainer, int(env.time_limit)
    tau, chance = int(trainer.tau), 1.0 / env.dataset.num_classes

    def run(seed_key, unit, lr, mult, wd):
        key, _, k_init, _ = reset_keys(seed_key)
        plan = trainer.minibatch_plan(key, chunks)
        lrs = (lr * unit).reshape(chunks, tau)[:, :, None] * mult[None, None, :]

        def chunk(ts, xs):
            step_lrs, idx = xs
            ts, loss, _ = trainer.train_on(ts, step_lrs, wd, idx)
            return ts, loss

        ts, losses = jax.lax.scan(chunk, trainer.init(k_init), (lrs, plan.train))
        (vloss, vacc), (_, tacc) = trainer.evaluate(ts, "val"), trainer.evaluate(ts, "test")
        ok = jnp.all(jnp.isfinite(losses)) & jnp.isfinite(vloss)
        return jnp.where(ok, vacc, chance), jnp.where(ok, tacc, chance)

    per_config = jax.vmap(run, in_axes=(None, 0, 0, 0, None))
    return jax.jit(jax.vmap(per_config, in_axes=(0, None, None, None, None))), chunks * tau


def main(argv: List[str]) -> int:
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    cut = argv.index("--")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="JSON lines, one per task, written as each finishes")
    p.add_argument("--schedules", default="warmup_cosine,onecycle,cosine,wsd,linear")
    p.add_argument("--lrs", default="1e-4,3e-4,1e-3,3e-3,1e-2")
    p.add_argument("--select-seeds", default="0,1,2,3")
    p.add_argument("--confirm-seeds", default="4,5,6,7")
    p.add_argument("--factor", type=float, default=3.0)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--groups", default="")
    a = p.parse_args(argv[:cut])
    schedules = [s for s in a.schedules.split(",") if s]
    bad = [s for s in schedules if s not in SCHEDULE_NAMES]
    if bad or not schedules:
        raise SystemExit(f"--schedules {a.schedules!r}: choose from {', '.join(SCHEDULE_NAMES)}")
    lrs = _floats(a.lrs, "--lrs")
    select, confirm = _seeds(a.select_seeds, "--select-seeds"), _seeds(a.confirm_seeds, "--confirm-seeds")
    if not select or not confirm or set(select) & set(confirm):
        raise SystemExit(f"--select-seeds {select} and --confirm-seeds {confirm}: give two disjoint, non-empty lists")
    if not a.factor > 1:
        raise SystemExit(f"--factor {a.factor!r}: give a number > 1 (the layer's LR is multiplied or divided by it)")
    config = check_config(compose_config(argv[cut + 1:]), 1)
    groups = task_groups(config)
    names = [g for g in a.groups.split(",") if g] or list(groups)
    unknown = [g for g in names if g not in groups]
    if unknown:
        raise SystemExit(f"--groups {unknown}: not groups of the config; its groups: {', '.join(groups)}")
    keys = lambda seeds: jnp.stack([jax.random.PRNGKey(s) for s in seeds])  # noqa: E731
    rows = []
    for name in names:
        start = time.time()
        env = make_task(config, name, groups[name], "groups")
        runner, total = make_runner(env)
        unit = {s: np.asarray(make_schedule(s, 1.0, total)(jnp.arange(total)), np.float32) for s in schedules}
        n = env.trainer.num_agents

        def accs(seeds, configs):  # configs: [(schedule, lr, mult)] -> val, test (seeds, configs) in points
            u = jnp.asarray(np.stack([unit[s] for s, _, _ in configs]))
            lr = jnp.asarray([c[1] for c in configs], jnp.float32)
            m = jnp.asarray(np.stack([c[2] for c in configs]))
            val, test = runner(keys(seeds), u, lr, m, a.weight_decay)
            return 100.0 * np.asarray(val), 100.0 * np.asarray(test)

        grid = [(s, lr, np.ones(n, np.float32)) for s in schedules for lr in lrs]
        val, _ = accs(select, grid)
        best = int(val.mean(axis=0).argmax())
        sched, lr = grid[best][0], grid[best][1]
        variants = layer_variants(n, a.factor)
        vnames = list(variants)
        vval, _ = accs(select, [(sched, lr, variants[v]) for v in vnames])
        chosen = vnames[int(vval.mean(axis=0).argmax())]  # the uniform one wins ties (first)
        cval, ctest = accs(confirm, [(sched, lr, variants["uniform"]), (sched, lr, variants[chosen])])
        row = {"task": name, "layers": n, "schedule": sched, "lr": lr,
               "select_uniform": float(vval[:, 0].mean()), "select_variants": dict(zip(vnames, vval.mean(axis=0).tolist())),
               "chosen": chosen, "multipliers": variants[chosen].tolist(),
               "confirm_uniform_val": float(cval[:, 0].mean()), "confirm_chosen_val": float(cval[:, 1].mean()),
               "confirm_gain_val": float((cval[:, 1] - cval[:, 0]).mean()),
               "confirm_gain_val_per_seed": (cval[:, 1] - cval[:, 0]).tolist(),
               "confirm_gain_test": float((ctest[:, 1] - ctest[:, 0]).mean()),
               "seconds": round(time.time() - start, 1)}  # fmt: skip
        rows.append(row)
        with open(a.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, sort_keys=True) + "\n")
        print(f"{name}: {sched} at {lr:g}, chosen {chosen}, gain on confirmation seeds {row['confirm_gain_val']:+.2f} "
              f"(val), {row['confirm_gain_test']:+.2f} (test), {row['seconds']} s", flush=True)  # fmt: skip
    print(f"\n| task | layers | best uniform | chosen on seeds {a.select_seeds} | gain there | val gain on {a.confirm_seeds} "
          "| test gain |\n|---|---|---|---|---|---|---|")  # fmt: skip
    for r in rows:
        print(f"| {r['task']} | {r['layers']} | {r['schedule']} {r['lr']:g} | {r['chosen']} | "
              f"{r['select_variants'][r['chosen']] - r['select_uniform']:+.2f} | {r['confirm_gain_val']:+.2f} | "
              f"{r['confirm_gain_test']:+.2f} |")  # fmt: skip
    gains = np.asarray([r["confirm_gain_val"] for r in rows])
    print(f"\nmean val gain {gains.mean():+.2f} points; tasks with a gain >= 0.2: {int((gains >= 0.2).sum())} of {len(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
