"""Evaluation: trained GANNO policies, zero-shot, against handcrafted schedules and optimisers.

``ganno evaluate`` / ``python -m mava_ganno.evaluation.cli``::

    python -m mava_ganno.evaluation.cli --scenario mlp5-mnist_5k --policy runs/ganno/policy \\
        --policy runs/lr_only/policy --name mlp2_to_mlp5

Every run trains the evaluation network for its full budget (``sl_steps`` SGD steps) from the
same initialisation and on the same minibatch order for a given seed, whatever the method:

- GANNO policies (and the ablations, which are just policies trained with other configs) and
  a random layerwise agent run the environment in evaluation mode (no difference reward,
  test split tracked) from the grid's initial LR and weight decay; ``sampled`` draws actions
  from the policy, ``greedy`` takes the most likely action.
- Baselines (``mava_ganno.evaluation.baselines``) train the same network with optax, using the
  environment's own trainer: same init (``trainer.init``), same minibatches
  (``trainer.batch_indices``/``minibatch``, with the environment's key chain), same loss.
  A ``constant`` schedule is therefore exactly GANNO's always-no-op agent.

Runs that share a shape are ``jax.vmap``-ed (over LR x weight decay x seed, and for the
AdamW schedules over the schedule too) and each run is a ``lax.scan`` over tau-step chunks,
recording train loss and validation/test accuracy after every chunk.

Divergence (a non-finite train or validation loss in a chunk) is a result, not an error: the
run stops changing, its accuracy is recorded as chance level (10% on 10 classes) from then
on, its train loss as inf, and its ``diverged`` flag is set.

Outputs (``results/<name>/``, see ``mava_ganno.evaluation.store``): ``table.csv``, ``table.md``,
``curves.csv``, ``layer_lrs.csv``, ``config.json`` and PNG figures.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any, Callable, Dict, List, Sequence, Tuple

import jax
import numpy as np

from mava_ganno.env.env import Ganno
from mava_ganno.env.generator import InitialConditionsGenerator
from mava_ganno.evaluation.baselines import (
    BASELINES,
    DEFAULT_METHODS,
    OPTIMIZER_NAMES,
    SCHEDULE_NAMES,
    UNAVAILABLE,
    check_optax,
    make_baseline_run,
)
from mava_ganno.evaluation.batching import grid, seed_keys, sequential_runs, vmapped_runs
from mava_ganno.evaluation.policies import PolicySource, RandomPolicy, describe_policy
from mava_ganno.evaluation.records import (
    DEFAULT_LRS,
    DEFAULT_SEEDS,
    DEFAULT_WEIGHT_DECAYS,
    POLICY_MODES,
    Evaluation,
    MethodInfo,
    RunSet,
    Scenario,
    make_scenario,
)
from mava_ganno.evaluation.rollouts import make_policy_run


def _validategrid(lrs, wds, seeds) -> None:
    if not lrs:
        raise ValueError("the LR grid is empty; e.g. --lrs 0,1e-4,3e-4,1e-3,3e-3,1e-2.")
    for lr in lrs:
        if not (math.isfinite(lr) and lr >= 0):
            raise ValueError(f"initial LR {lr} is not a finite number >= 0; fix --lrs.")
    if not wds:
        raise ValueError("the weight-decay grid is empty; e.g. --weight-decays 0.1,1e-4.")
    for wd in wds:
        if not (math.isfinite(wd) and wd >= 0):
            raise ValueError(f"weight decay {wd} is not a finite number >= 0; fix --weight-decays.")
    if not seeds:
        raise ValueError("no seeds; e.g. --seeds 3.")
    if len(set(lrs)) != len(lrs) or len(set(wds)) != len(wds) or len(set(seeds)) != len(seeds):
        raise ValueError(f"the grid repeats a value: lrs={lrs}, weight_decays={wds}, seeds={seeds}.")


def evaluate(
    scenario: Scenario | str,
    policies: Sequence[PolicySource | Any] = (),
    *,
    lrs: Sequence[float] = DEFAULT_LRS,
    weight_decays: Sequence[float] = DEFAULT_WEIGHT_DECAYS,
    seeds: Sequence[int] | int = DEFAULT_SEEDS,
    methods: Sequence[str] = DEFAULT_METHODS,
    policy_modes: Sequence[str] = POLICY_MODES,
    random_agent: bool = True,
    max_runs_per_call: int = 128,
    sequential: bool = False,
    log: Callable[[str], None] = print,
) -> Evaluation:
    """Run every method on the grid. See the module docstring.

    Args:
        scenario: a ``Scenario`` or its name (``mlp5-mnist_5k``).
        policies: ``PolicySource``s or loaded policies (``GannoPolicy``).
        lrs: initial LRs (0 is only run by policies: a schedule from 0 stays at 0).
        weight_decays, seeds: the rest of the grid (``seeds`` an int n means 0..n-1).
        methods: baselines, names from ``BASELINES`` (``velo`` is listed as not runnable).
        policy_modes: ``sampled`` and/or ``greedy``.
        random_agent: include the random layerwise agent (sampled).
        max_runs_per_call: most runs in one vmapped call (memory bound).
        sequential: run the same runs one at a time (``jit`` of one run, a Python loop over
            runs) instead of vmapped; for benchmarks/eval_grid.py. Same results.
    """
    t_start = time.perf_counter()
    sc = make_scenario(scenario) if isinstance(scenario, str) else scenario
    seeds = tuple(range(seeds)) if isinstance(seeds, int) else tuple(int(s) for s in seeds)
    lrs, wds = tuple(float(x) for x in lrs), tuple(float(x) for x in weight_decays)
    _validategrid(lrs, wds, seeds)
    unknown = [m for m in methods if m not in BASELINES]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(BASELINES)}.")
    bad_modes = [m for m in policy_modes if m not in POLICY_MODES]
    if bad_modes or not policy_modes:
        raise ValueError(f"policy modes {list(policy_modes)} invalid; use {list(POLICY_MODES)}.")
    if int(max_runs_per_call) <= 0:
        raise ValueError(f"max_runs_per_call must be positive, got {max_runs_per_call}.")
    check_optax()
    sources = [p if isinstance(p, PolicySource) else describe_policy(p) for p in policies]

    def execute(fn, args, shared=()):
        if sequential:
            return sequential_runs(fn, args, shared)
        return vmapped_runs(fn, args, max_runs_per_call, shared)

    gen = InitialConditionsGenerator(lr=max(lrs), weight_decay=wds[0])
    base_env = Ganno(gen, **sc.env_kwargs(), difference_reward=False, track_test=True)
    chance = 1.0 / base_env.dataset.num_classes
    trainer, c = base_env.trainer, sc.num_chunks
    steps = np.arange(c + 1, dtype=np.int64) * sc.tau
    runsets: List[RunSet] = []
    log(
        f"[evaluate] {sc.name}: {base_env.num_layers} layers, {sc.sl_steps} SGD steps "
        f"(tau {sc.tau}), LRs {list(lrs)}, weight decays {list(wds)}, seeds {list(seeds)}"
    )

    def add(method: str, info: MethodInfo, mode: str, grid, out, seconds: float, policy: str = ""):
        lr, wd, seed = grid
        runsets.append(
            RunSet(
                method=method,
                label=info.label,
                group=info.group,
                mode=mode,
                lr=lr,
                weight_decay=wd,
                seed=seed,
                steps=steps,
                test_accuracy=out["test_accuracy"],
                val_accuracy=out["val_accuracy"],
                train_loss=out["train_loss"],
                lrs=out["lrs"],
                diverged=out["diverged"].astype(bool),
                takes_lr=info.takes_lr,
                policy=policy,
                seconds=seconds,
            )
        )

    # ---- baselines: AdamW schedules share one vmapped function, optimisers one each.
    positive = tuple(lr for lr in lrs if lr > 0)
    sched = tuple(m for m in methods if m in SCHEDULE_NAMES)
    families: List[Tuple[Any, Tuple[str, ...]]] = []
    if sched:
        families.append((sched, sched))
    families += [(m, (m,)) for m in methods if m in OPTIMIZER_NAMES]
    for family, names in families:
        takes = BASELINES[names[0]].takes_lr
        if takes and not positive:
            log(f"[evaluate] skipping {list(names)}: no positive LR in the grid")
            continue
        lr_g, wd_g, seed_g = grid(positive if takes else (float("nan"),), wds, seeds)
        r = lr_g.shape[0]
        idx = np.repeat(np.arange(len(names), dtype=np.int32), r)
        args = [
            seed_keys(np.tile(seed_g, len(names))),
            np.nan_to_num(np.tile(lr_g, len(names)), nan=1.0).astype(np.float32),
            np.tile(wd_g, len(names)).astype(np.float32),
            idx,
        ]
        t0 = time.perf_counter()
        out = execute(make_baseline_run(trainer, family, c, chance), args)
        dt = time.perf_counter() - t0
        log(f"[evaluate] {', '.join(names)}: {len(idx)} runs in {dt:.1f} s")
        for j, name in enumerate(names):
            part = jax.tree_util.tree_map(lambda x: x[j * r : (j + 1) * r], out)
            add(name, BASELINES[name], "", (lr_g, wd_g, seed_g), part, dt * r / len(idx))

    # ---- policies (GANNO, ablations, random agent): the env in evaluation mode.
    if random_agent:
        rnd = RandomPolicy(base_env.action_table.entries, base_env.lr_max)
        sources.append(PolicySource("Random layerwise agent", "random", rnd))
    # A fixed-distribution agent (group "random") is only sampled; trained policies in every mode.
    runners = [(s, ("sampled",) if s.group == "random" else tuple(policy_modes)) for s in sources]
    lr_g, wd_g, seed_g = grid(lrs, wds, seeds)
    r = len(seed_g)
    policy_runs: Dict[Tuple, Tuple[Ganno, Callable]] = {}
    for src, modes in runners:
        pol = src.policy
        env_key = (tuple(pol.feature_names), tuple(pol.action_table), float(pol.lr_max), src.single_agent)
        if env_key not in policy_runs:  # policies of one env config share env and compiled run
            env = Ganno(
                gen,
                **sc.env_kwargs(),
                difference_reward=False,
                track_test=True,
                features=env_key[0],
                action_table=env_key[1],
                lr_max=env_key[2],
                single_agent=env_key[3],
            )
            policy_runs[env_key] = (env, make_policy_run(env, chance))
        env, run = policy_runs[env_key]
        if hasattr(pol, "check_env"):
            pol.check_env(env)
        # Every mode of a policy in one call: greedy is a traced per-run flag.
        greedy = np.repeat(np.array([m == "greedy" for m in modes]), r)
        args = [
            seed_keys(np.tile(seed_g, len(modes))),
            np.tile(lr_g, len(modes)).astype(np.float32),
            np.tile(wd_g, len(modes)).astype(np.float32),
            greedy,
        ]
        t0 = time.perf_counter()
        out = execute(run, args, shared=(pol,))
        dt = time.perf_counter() - t0
        log(f"[evaluate] {src.label} ({', '.join(modes)}): {len(greedy)} runs in {dt:.1f} s")
        for j, mode in enumerate(modes):
            part = jax.tree_util.tree_map(lambda x: x[j * r : (j + 1) * r], out)
            label = src.label if src.group == "random" else f"{src.label} ({mode})"
            method = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
            add(method, MethodInfo(label, src.group), mode, (lr_g, wd_g, seed_g), part, dt / len(modes), policy=src.path)

    unavailable = {m: BASELINES[m].note for m in methods if m in UNAVAILABLE}
    for m, why in unavailable.items():
        log(f"[evaluate] {BASELINES[m].label}: not run ({why})")
    ev = Evaluation(sc, lrs, wds, seeds, runsets, unavailable, time.perf_counter() - t_start, base_env.dataset.num_classes)
    log(f"[evaluate] done in {ev.seconds:.1f} s")
    return ev
