"""Demonstrations: the environment rolled out under handcrafted schedules .

A ``ScheduleFollower`` is a policy (``init_hidden``/``act``, like ``GannoPolicy``) that, at
every decision, gives each layer agent the action of the table that brings its learning rate
closest, in log space, to the schedule's value at the next decision (``LR_LOG_MIN`` stands for
LR 0; ties go to the first entry, the no-op in the paper's table). It tracks its own LR with
the table's arithmetic and the env's LR decay, so it needs nothing from the observation. Episodes run through the one
episode runner (``evaluation.rollouts``) in training mode (the scenario's reward), vmapped in
equal calls like the evaluation harness.

Each run starts at its schedule's first value, or with ``initial_lrs`` once from each of those
LRs: the env resets there and the follower moves towards the schedule from the first decision
on, so the demonstrations also show how to leave an initial LR for the schedule's (a warm-up
from 0, a repair from an LR far from the peak). With ``peaks_above_start`` a run starts from an
initial LR only at the peaks at or above it: the demonstrations raise an LR that is too low
and keep one that is high as the peak of their decay, never lower it to reach a peak; with
``max_peak_ratio`` R as well, only at the peaks up to R times it, so the demonstrations stay
near the LR a user chose (a sweep over initial LRs then sweeps their peaks).

The dataset holds one sequence per layer agent and episode (S sequences, T = the longest
episode; shorter episodes are padded and masked):

    obs (S, T, F) float32          what the agent saw before acting
    actions (S, T) int32           the table action it took
    rewards (S, T) float32         the shared reward of the step
    dones (S, T) bool              the step ended the episode
    mask (S, T) bool               the step exists (False: padding, or after a divergence)
    final_val_accuracy (S,)        hold-out accuracy at the end of the agent's episode
    episode_return (S,)            the episode's summed reward
    episode, agent, group, schedule, seed (S,) int32; peak, initial_lr (S,) float32
    meta_json ()                   features, action table, lr_max, tau, group and schedule names

saved with ``numpy.savez_compressed`` (load with ``allow_pickle=False``: no pickle).

With ``parts_dir``, each group's runs are also saved there as soon as they are done
(``group<g>.npz``, with the caller's ``part_key``), and a later call with the same key reads
them instead of running them again: a long generation stopped part-way loses at most the group
it was running. A part written under another key is refused before anything runs.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence

import chex
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from mava_ganno.env.actions import ActionTable
from mava_ganno.evaluation.baselines import SCHEDULE_NAMES, make_schedule
from mava_ganno.evaluation.batching import vmapped_runs
from mava_ganno.evaluation.rollouts import episode_summary, make_episode_runner
from mava_ganno.utils.demo_file import FORMAT, load_demonstrations, save_demonstrations  # noqa: F401  (the file format)

DEMO_SCHEDULES = ("warmup_cosine", "onecycle", "cosine", "linear", "piecewise")
DEFAULT_PEAKS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
LR_LOG_MIN = 1e-7  # log-space distance treats LRs below this as this (LR 0 included)


class ScheduleFollower(struct.PyTreeNode):
    """Follows a per-decision LR target sequence with the actions of a table."""

    targets: chex.Array  # (T,) the schedule's LR at decisions 1..T (after decision t: targets[t])
    initial_lr: chex.Array  # () every layer's LR at reset
    multipliers: chex.Array  # (A,) the action table's
    offsets: chex.Array  # (A,)
    ratios: chex.Array  # (T,) the env's LR decay ratio at each decision (``Ganno.lr_ratio``; ones without a decay)
    lr_max: float = struct.field(pytree_node=False, default=0.1)

    def init_hidden(self, num_agents: int) -> chex.Array:
        """(N, 2): decisions taken so far and the LR the agent has now."""
        return jnp.zeros((int(num_agents), 2), jnp.float32)

    def act(self, hidden, agents_view, action_mask, reset, key, greedy=False):
        del agents_view, key, greedy
        t = jnp.where(reset, 0.0, hidden[:, 0])
        lr = jnp.where(reset, self.initial_lr, hidden[:, 1])
        target = self.targets[jnp.minimum(t.astype(jnp.int32), self.targets.shape[0] - 1)]
        ratio = self.ratios[jnp.minimum(t.astype(jnp.int32), self.ratios.shape[0] - 1)]
        cand = jnp.clip((lr * ratio)[:, None] * self.multipliers + self.offsets, 0.0, self.lr_max)  # (N, A)
        log = lambda x: jnp.log(jnp.maximum(x, LR_LOG_MIN))  # noqa: E731
        dist = jnp.where(action_mask, jnp.abs(log(cand) - log(target)[:, None]), jnp.inf)
        actions = jnp.argmin(dist, axis=-1).astype(jnp.int32)
        new_lr = jnp.take_along_axis(cand, actions[:, None], axis=-1)[:, 0]
        probs = jax.nn.one_hot(actions, self.multipliers.shape[0])
        return jnp.stack([t + 1.0, new_lr], axis=-1), actions, probs


def check_schedules(schedules: Sequence[str], peaks: Sequence[float]) -> None:
    """A ``ValueError`` naming an unknown schedule or a peak that is not a positive number."""
    for s in schedules:
        if s not in SCHEDULE_NAMES:
            raise ValueError(f"unknown schedule {s!r}; choose from {', '.join(SCHEDULE_NAMES)}.")
    if not schedules:
        raise ValueError(f"no schedules given; e.g. {','.join(DEMO_SCHEDULES)}.")
    for p in peaks:
        if isinstance(p, bool) or not np.isfinite(float(p)) or float(p) <= 0:
            raise ValueError(f"peak learning rate {p!r} must be a finite number > 0; e.g. 1e-3.")
    if not peaks:
        raise ValueError("no peak learning rates given; e.g. 1e-4,1e-3,1e-2.")


def check_initial_lrs(initial_lrs: Optional[Sequence[float]], peaks: Sequence[float] = (),
                      peaks_above_start: bool = False, max_peak_ratio: Optional[float] = None) -> None:
    """A ``ValueError`` naming an initial LR that is not a finite number >= 0, or an empty list
    (None: every run starts at its schedule's first value); with ``peaks_above_start``, no
    initial LRs, or one above every peak (no run would start there); a ``max_peak_ratio`` that
    is not a finite number >= 1, given without ``peaks_above_start``, or one that leaves an
    initial LR without a peak in [LR, ratio x LR]."""
    if max_peak_ratio is not None:
        if isinstance(max_peak_ratio, bool) or not np.isfinite(float(max_peak_ratio)) or float(max_peak_ratio) < 1:
            raise ValueError(f"max peak ratio {max_peak_ratio!r} must be a finite number >= 1 (a peak is at least the "
                             "start); e.g. 3.5 keeps the peaks up to 3.5 times each initial LR.")
        if not peaks_above_start:
            raise ValueError("a max peak ratio bounds the peaks above the start: add --peaks-above-start "
                             "(peaks_above_start=True).")
    if initial_lrs is None:
        if peaks_above_start:
            raise ValueError("peaks above the start keep, for each initial LR, the peaks at or above it: give initial "
                             "learning rates too, e.g. --initial-lrs 1e-4,1e-3,1e-2.")
        return
    if not initial_lrs:
        raise ValueError("no initial learning rates given; e.g. 1e-4,1e-3,1e-2, or leave them out to start at each schedule's first value.")
    for lr in initial_lrs:
        if isinstance(lr, bool) or not np.isfinite(float(lr)) or float(lr) < 0:
            raise ValueError(f"initial learning rate {lr!r} must be a finite number >= 0; e.g. 1e-3.")
    if peaks_above_start:
        high = [float(lr) for lr in initial_lrs if not any(_at_or_above(p, lr) for p in peaks)]
        if high:
            raise ValueError(f"initial learning rate(s) {high} are above every peak {[float(p) for p in peaks]}, so with "
                             f"peaks above the start no run starts there; add a peak >= {max(high)} or drop them.")
    if max_peak_ratio is not None:
        bare = [float(lr) for lr in initial_lrs if not any(_in_span(p, lr, max_peak_ratio) for p in peaks)]
        if bare:
            raise ValueError(f"initial learning rate(s) {bare} have no peak of {[float(p) for p in peaks]} within "
                             f"{float(max_peak_ratio)} times them, so no run starts there; raise the max peak ratio, "
                             "add peaks or drop those LRs.")


def _at_or_above(peak: float, lr0: float) -> bool:
    return float(peak) >= float(lr0) * (1.0 - 1e-6)  # a peak equal to the start, up to parsing


def _in_span(peak: float, lr0: float, max_peak_ratio: Optional[float]) -> bool:
    """``peak`` in [lr0, max_peak_ratio x lr0] (no upper bound for None), up to parsing."""
    return _at_or_above(peak, lr0) and (max_peak_ratio is None or float(peak) <= float(lr0) * float(max_peak_ratio) * (1.0 + 1e-6))


def demo_runs(num_schedules: int, peaks: Sequence[float], seeds: Sequence[int],
              initial_lrs: Optional[Sequence[float]] = None, peaks_above_start: bool = False,
              max_peak_ratio: Optional[float] = None) -> List[tuple]:
    """(schedule index, peak, seed, initial LR or None) of every run of one group: every
    schedule x peak x seed (x initial LR); with ``peaks_above_start`` only the peaks at or above
    each initial LR, so no run lowers the LR it starts from to reach its schedule's peak (the
    schedule's own shape may still lower it, e.g. a warm-up's start), and with
    ``max_peak_ratio`` as well only those up to that many times it."""
    starts = [None] if initial_lrs is None else list(initial_lrs)
    return [(si, p, seed, lr0) for si in range(num_schedules) for p in peaks for seed in seeds for lr0 in starts
            if not (peaks_above_start and lr0 is not None) or _in_span(p, lr0, max_peak_ratio)]


def schedule_targets(name: str, peak: float, sl_steps: int, tau: int) -> np.ndarray:
    """(T+1,) the schedule's LR at every decision: [lr(0), lr(tau), ..., lr(T*tau)]."""
    counts = jnp.arange(sl_steps // tau + 1) * tau
    return np.asarray(make_schedule(name, peak, int(sl_steps))(counts), np.float32)


def _group_demos(env: Any, schedules, peaks, seeds, weight_decay: Optional[float], max_runs: int,
                 initial_lrs: Optional[Sequence[float]] = None, peaks_above_start: bool = False,
                 max_peak_ratio: Optional[float] = None) -> Dict[str, np.ndarray]:
    """The demonstrations of one environment: the runs of ``demo_runs``, as per-run arrays."""
    table = ActionTable.from_strings(env.action_table.entries)
    rows = demo_runs(len(schedules), peaks, seeds, initial_lrs, peaks_above_start, max_peak_ratio)
    targets = np.stack([schedule_targets(schedules[si], p, env.sl_steps, env.tau) for si, p, _, _ in rows])
    lr0s = np.asarray([targets[i, 0] if r[3] is None else r[3] for i, r in enumerate(rows)], np.float32)
    keys = np.stack([np.asarray(jax.random.PRNGKey(seed)) for _, _, seed, _ in rows])
    if weight_decay is None:  # the scenario's distribution, one draw per seed
        wds = np.asarray([float(env.generator(jax.random.fold_in(jax.random.PRNGKey(r[2]), 1)).weight_decay) for r in rows])
    else:
        wds = np.full(len(rows), float(weight_decay))
    run = make_episode_runner(env, record_transitions=True)
    mult, off = jnp.asarray(table.multipliers), jnp.asarray(table.offsets)
    ratios = jnp.stack([env.lr_ratio(t) for t in range(env.time_limit)])

    def one(key, lr0, wd, tgt):
        follower = ScheduleFollower(tgt[1:], lr0, mult, off, ratios, env.lr_max)
        ep = run(follower, key, lr0, wd, False)
        return {**ep, **episode_summary(ep)}

    out = vmapped_runs(one, [keys, lr0s, wds.astype(np.float32), targets], max_runs)
    out["schedule"] = np.asarray([r[0] for r in rows], np.int32)
    out["peak"] = np.asarray([r[1] for r in rows], np.float32)
    out["seed"] = np.asarray([r[2] for r in rows], np.int32)
    out["initial_lr"] = lr0s
    return out


def _per_agent(out: Dict[str, np.ndarray], group: int, first_episode: int, horizon: int) -> Dict[str, np.ndarray]:
    """Per-run arrays -> one sequence per (run, agent), padded to ``horizon`` steps."""
    R, T, N, F = out["obs"].shape
    pad = lambda x: np.pad(x, [(0, 0), (0, horizon - T)] + [(0, 0)] * (x.ndim - 2))  # noqa: E731
    per_agent = lambda x: np.repeat(x, N, axis=0)  # (R, ...) -> (R*N, ...), run-major  # noqa: E731
    mask = out["alive"].astype(bool)
    return {
        "obs": pad(out["obs"].transpose(0, 2, 1, 3).reshape(R * N, T, F).astype(np.float32)),
        "actions": pad(out["actions"].transpose(0, 2, 1).reshape(R * N, T).astype(np.int32)),
        "rewards": pad(per_agent(out["reward"].astype(np.float32))),
        "dones": pad(per_agent(out["last"] & mask)),
        "mask": pad(per_agent(mask)),
        "final_val_accuracy": per_agent(out["final_val_accuracy"].astype(np.float32)),
        "episode_return": per_agent(out["episode_return"].astype(np.float32)),
        "episode": per_agent(np.arange(first_episode, first_episode + R, dtype=np.int32)),
        "agent": np.tile(np.arange(N, dtype=np.int32), R),
        "group": np.full(R * N, group, np.int32),
        "schedule": per_agent(out["schedule"]),
        "seed": per_agent(out["seed"]),
        "peak": per_agent(out["peak"]),
        "initial_lr": per_agent(out["initial_lr"]),
    }


def _part_keys(group_names: Sequence[str], part_key: str) -> List[str]:
    return [json.dumps({"key": part_key, "group": name, "index": g}, sort_keys=True) for g, name in enumerate(group_names)]


def check_demo_parts(parts_dir: str, group_names: Sequence[str], part_key: str) -> List[str]:
    """The names of the groups whose runs ``parts_dir`` already holds under ``part_key``
    (``generate_demonstrations`` reads them); ValueError for a part of another key."""
    return [group_names[g] for g in sorted(_read_parts(parts_dir, _part_keys(group_names, part_key)))]


def _part_path(parts_dir: str, g: int) -> str:
    return os.path.join(parts_dir, f"group{g:03d}.npz")


_PART_ARRAYS = ("obs", "actions", "reward", "last", "alive", "final_val_accuracy", "episode_return", "schedule", "peak",
                "seed", "initial_lr")  # what _per_agent reads of a group's runs


def _write_part(path: str, key: str, out: Dict[str, np.ndarray]) -> None:
    """One group's per-run arrays and its key, written whole or not at all (compressed, as the
    demonstrations file is: a part is small enough to keep or copy while the rest runs)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path[: -len(".npz")] + ".tmp.npz"
    np.savez_compressed(tmp, part_key=np.asarray(key), **{f"runs/{k}": np.asarray(out[k]) for k in _PART_ARRAYS})
    os.replace(tmp, path)


def _read_parts(parts_dir: str, keys: Sequence[str]) -> Dict[int, Dict[str, np.ndarray]]:
    """The groups already in ``parts_dir``, by index; a part of another key, or one that does
    not read, raises ValueError naming it (before anything runs)."""
    done: Dict[int, Dict[str, np.ndarray]] = {}
    if not os.path.isdir(parts_dir):
        return done
    names = {os.path.basename(_part_path(parts_dir, g)): g for g in range(len(keys))}
    for name in sorted(os.listdir(parts_dir)):
        path = os.path.join(parts_dir, name)
        if name.endswith(".tmp.npz"):  # a part cut off while being written: run its group again
            continue
        if name not in names:
            raise ValueError(f"{path} is not a part of these demonstrations (groups 0-{len(keys) - 1}); "
                             f"remove {parts_dir} or write the demonstrations elsewhere.")
        try:
            with np.load(path, allow_pickle=False) as f:
                key = str(f["part_key"])
                out = {k[len("runs/"):]: f[k] for k in f.files if k.startswith("runs/")}
        except Exception as e:  # noqa: BLE001  (any unreadable file is named the same way)
            raise ValueError(f"{path}: not a readable part of demonstrations ({e}); remove it to run its group again.") from e
        if key != keys[names[name]]:
            raise ValueError(f"{path} holds demonstrations of another command or scenario; remove {parts_dir} "
                             "or run the command that wrote it.")
        done[names[name]] = out
    return done


def generate_demonstrations(
    envs: Sequence[Any],
    group_names: Sequence[str],
    schedules: Sequence[str] = DEMO_SCHEDULES,
    peaks: Sequence[float] = DEFAULT_PEAKS,
    seeds: Sequence[int] = (0,),
    weight_decay: Optional[float] = None,
    max_runs_per_call: int = 64,
    log=print,
    initial_lrs: Optional[Sequence[float]] = None,
    peaks_above_start: bool = False,
    max_peak_ratio: Optional[float] = None,
    parts_dir: Optional[str] = None,
    part_key: str = "",
) -> Dict[str, np.ndarray]:
    """Demonstrations of every group's environment (see the module docstring for the arrays).

    The environments must share their features and action table (as the groups of one
    training scenario do). ``weight_decay`` None draws it from each environment's generator.
    ``initial_lrs`` None starts every run at its schedule's first value; a list runs every
    schedule x peak x seed once from each of those LRs, and ``peaks_above_start`` only at the
    peaks at or above each, up to ``max_peak_ratio`` times it when given (``demo_runs``).
    ``parts_dir``: each group's runs saved there when done and read back by a later call with
    the same ``part_key`` (a string naming everything the runs depend on; see the module
    docstring); a part of another key raises ValueError before any run.
    """
    check_schedules(schedules, peaks)
    check_initial_lrs(initial_lrs, peaks, peaks_above_start, max_peak_ratio)
    first = envs[0]
    for name, env in zip(group_names, envs):
        if env.features != first.features or env.action_table.entries != first.action_table.entries:
            raise ValueError(f"group {name!r} has other features or another action table than {group_names[0]!r}.")
    horizon = max(env.time_limit for env in envs)
    keys = _part_keys(group_names, part_key)
    done = _read_parts(parts_dir, keys) if parts_dir is not None else {}
    parts: List[Dict[str, np.ndarray]] = []
    episodes = 0
    for g, (name, env) in enumerate(zip(group_names, envs)):
        out = done.get(g)
        if out is None:
            out = _group_demos(env, list(schedules), list(peaks), list(seeds), weight_decay, max_runs_per_call, initial_lrs,
                               peaks_above_start, max_peak_ratio)
            if parts_dir is not None:
                _write_part(_part_path(parts_dir, g), keys[g], out)
        parts.append(_per_agent(out, g, episodes, horizon))
        episodes += out["obs"].shape[0]
        read = f" (read from {_part_path(parts_dir, g)})" if g in done else ""
        log(f"[demos] {name}: {out['obs'].shape[0]} episodes x {env.num_agents} agents{read}")
    data = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    data["meta_json"] = np.asarray(json.dumps({
        "format": FORMAT,
        "features": list(first.features),
        "action_table": list(first.action_table.entries),
        "lr_max": first.lr_max,
        "lr_decay": first.lr_decay,
        "taus": [env.tau for env in envs],
        "groups": list(group_names),
        "networks": [env.network_name for env in envs],
        "datasets": [env.dataset_name for env in envs],
        "schedules": list(schedules),
        "initial_lrs": None if initial_lrs is None else [float(lr) for lr in initial_lrs],
        "peaks_above_start": bool(peaks_above_start),
        "max_peak_ratio": None if max_peak_ratio is None else float(max_peak_ratio),
        "reward": repr(first.reward_fn),
    }))
    return data
