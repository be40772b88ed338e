"""Scores saved policies on a training config's validation suite, as training would.

The study of policies against handcrafted schedules (docs/lab/2026-12-05-study-plan.md) selects
on the suite's scores against the best schedule; this re-scores any policy (the shipped one, or
a run's ``policy_best``) on the same suite, in every mode the suite validates, so candidates and
the policy they would replace are compared on one footing.

Usage (overrides as for ``ganno train``; the study's suite is the strong-* variants' one):
    python experiments/rescore_validation.py default results/study28/strong-cosine_s0/.../policy_best \
        -- env/scenario=pool-deep env.kwargs.features=robust \
           +env.scenario.validation.reference=best_schedule \
           +env.scenario.validation.select=[advantage,at_default,tuned]
Prints one JSON object per policy: its path and the suite's scores. With ``--cells`` (before
the paths) it also prints, per policy and mode, one Markdown row per (task, initial LR): the
policy's and the reference's mean final hold-out accuracy, the reference's schedule and the gap
in points, so the cell that sets ``validation_worst`` is named.

With ``--split N`` the suite's seeds (e.g. ``env.scenario.validation.seeds=[0,1,2,3,4,5]``) are
cut into groups of N, and each policy is scored in its first mode only: on all the seeds as one
suite, per group (every choice and score on that group's seeds, as the suite scores), and chosen
on one group, measured on another (the mean over every ordered pair of groups). The gap between
the last two is what choosing and measuring on the same runs does to the scores (the reference's
best schedule at each LR; for ``tuned``, the best (schedule, LR) and the policy's best LR). One
Markdown table per policy, after its JSON line (which holds every row), then one row per task
scored alone as a suite of its own (``at_default``, ``tuned`` and ``worst``, on all seeds and
picked on another group; the JSON's ``tasks`` holds each task's rows).

With ``--reference-cache DIR`` the handcrafted schedules' runs (the reference, the larger part of
a rescore) are read from ``DIR`` when a call with the same config has saved them, and saved there
otherwise, one file per config (``<hash>.npz``, no pickle). The key is the composed ``env``
config without the observation features and the suite's ``modes`` and ``every``: with
``schedule_resolution: sgd_step`` (required) the schedules run without the policy, so policies
with other features share their reference. A file whose stored key differs is an error. The
reference runs before the first policy and is saved after each task, so a call killed part-way
keeps the tasks it finished for the next call.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

import numpy as np
from omegaconf import OmegaConf

from mava_ganno.evaluation.policies import load_policy_any
from mava_ganno.systems.validation import ValidationSuite, suite_scores
from mava_ganno.train import compose_config
from mava_ganno.utils.config import check_config


def main(argv) -> int:
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    cut = argv.index("--")
    paths, overrides = argv[:cut], argv[cut + 1:]
    show_cells = "--cells" in paths
    paths = [p for p in paths if p != "--cells"]
    split = None
    if "--split" in paths:
        i = paths.index("--split")
        value = paths[i + 1] if i + 1 < len(paths) else ""
        if not value.isdigit() or int(value) < 1:
            print(f"--split {value!r}: give the number of seeds per group, e.g. --split 2", file=sys.stderr)
            return 2
        split, paths = int(value), paths[:i] + paths[i + 2:]
    cache_dir = None
    if "--reference-cache" in paths:
        i = paths.index("--reference-cache")
        if i + 1 >= len(paths):
            print("--reference-cache: give a folder, e.g. --reference-cache results/reference_cache", file=sys.stderr)
            return 2
        cache_dir, paths = paths[i + 1], paths[:i] + paths[i + 2:]
    config = check_config(compose_config(overrides), 1)
    if config.env.scenario.get("validation") is None:
        print("the composed config has no validation suite (env.scenario.validation)", file=sys.stderr)
        return 2
    OmegaConf.set_struct(config, False)
    config.env.scenario.validation.every = 1  # on, whatever the training config's interval
    suite = ValidationSuite.from_config(config)
    if split is not None and (len(suite.seeds) % split or len(suite.seeds) // split < 2):
        print(f"--split {split}: env.scenario.validation.seeds={suite.seeds} must cut into at least two groups of "
              f"{split}; e.g. env.scenario.validation.seeds=[0,1,2,3,4,5] with --split 2", file=sys.stderr)
        return 2
    cache = None
    if cache_dir is not None:
        if suite.schedule_resolution != "sgd_step":
            print(f"--reference-cache needs +env.scenario.validation.schedule_resolution=sgd_step (the suite's is "
                  f"{suite.schedule_resolution!r}, whose schedule runs go through the policy's environment)", file=sys.stderr)
            return 2
        cache = ReferenceCache(cache_dir, config)
        cache.load(suite)
    try:
        score_all(suite, paths, split, show_cells, cache)
    finally:  # what was run is kept, also when a later policy fails
        if cache is not None:
            cache.save(suite)
    return 0


def score_all(suite: ValidationSuite, paths, split, show_cells: bool, cache) -> None:
    """Print every policy's scores (``--split``: its rows and tables). With a ``cache``, the
    reference's runs are done first and saved task by task, so a process killed later keeps them."""
    for path in paths:
        if cache is not None:  # the reference first, each task's saved as soon as it has run
            policy = load_policy_any(path)
            for name in suite.envs:
                suite.schedule_runs(name, policy)
                cache.save(suite)
        if split is not None:
            policy, mode = load_policy_any(path), suite.modes[0]
            names = list(suite.envs)
            suite.check_policy(policy)
            runs = {n: suite.policy_runs(n, policy, mode == "greedy") for n in names}
            references = {n: suite.schedule_runs(n, policy) for n in names}
            default = suite.default_index[0] if suite.default_index else None
            rows = split_scores(runs, references, suite.seeds, split, default, suite.select)
            tasks = {n: split_scores({n: runs[n]}, {n: references[n]}, suite.seeds, split, default, suite.select)
                     for n in names}
            print(json.dumps({"policy": path, "mode": mode, "rows": rows, "tasks": tasks}, sort_keys=True), flush=True)
            print(split_table(rows, f"{path} ({mode})"), flush=True)
            print(task_table(tasks, f"{path} ({mode}), each task alone"), flush=True)
        else:
            policy = load_policy_any(path)
            print(json.dumps({"policy": path, **suite(policy)}, sort_keys=True), flush=True)
            if show_cells:
                for mode in suite.modes:
                    print(cells_table(suite.cells(policy, greedy=mode == "greedy"), f"{path} ({mode})"), flush=True)
        if cache is not None:
            cache.save(suite)


class ReferenceCache:
    """The suite's schedule runs on disk, one ``<hash>.npz`` per config key (see the module's
    docstring): ``load`` gives the saved tasks to the suite, ``save`` writes the ones it ran."""

    def __init__(self, folder: str, config) -> None:
        env = OmegaConf.to_container(config.env, resolve=True)
        env.get("kwargs", {}).pop("features", None)
        for k in ("modes", "every"):
            env["scenario"]["validation"].pop(k, None)
        self.key = json.dumps(env, sort_keys=True)
        self.path = os.path.join(folder, hashlib.sha256(self.key.encode()).hexdigest()[:16] + ".npz")
        self._saved: set = set()

    def load(self, suite: ValidationSuite) -> None:
        if not os.path.exists(self.path):
            return
        with np.load(self.path, allow_pickle=False) as data:
            if str(data["key"]) != self.key:
                raise ValueError(f"{self.path} holds the reference of another config; remove it or use another folder.")
            for name in suite.envs:
                if f"runs/{name}" in data:
                    suite.give_schedule_runs(name, data[f"runs/{name}"])
                    self._saved.add(name)
        print(f"reference cache: {sorted(self._saved)} read from {self.path}", file=sys.stderr)

    def save(self, suite: ValidationSuite) -> None:
        known = suite.known_schedule_runs
        if set(known) <= self._saved:
            return
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        tmp = self.path + ".tmp.npz"
        np.savez(tmp, key=np.asarray(self.key), **{f"runs/{n}": r for n, r in known.items()})
        os.replace(tmp, self.path)
        self._saved = set(known)
        print(f"reference cache: {sorted(known)} saved to {self.path}", file=sys.stderr)


def cells_table(rows, title: str) -> str:
    """Markdown table of ``ValidationSuite.cells`` rows, accuracies in %, the worst cell marked."""
    worst = min(range(len(rows)), key=lambda i: rows[i]["gap"])
    lines = [f"\n{title}\n", "| task | initial LR | policy | reference | reference schedule | gap (points) |",
             "|---|---|---|---|---|---|"]
    for i, r in enumerate(rows):
        gap = f"**{r['gap']:.2f}**" if i == worst else f"{r['gap']:.2f}"
        lines.append(f"| {r['task']} | {r['lr']:g} | {100 * r['policy']:.2f} | {100 * r['reference']:.2f} "
                     f"| {r['reference_schedule']} | {gap} |")
    return "\n".join(lines)


SPLIT_SCORES = ("score", "advantage", "at_default", "tuned", "worst")


def split_scores(policy_runs, schedule_runs, seeds, size: int, default_index, select):
    """Rows of ``validation_*`` scores: all seeds as one suite, one per group of ``size``
    consecutive seeds (chosen and measured on it), their mean, and the mean over ordered pairs
    of groups of the scores chosen on the first and measured on the second."""
    groups = [list(range(i, i + size)) for i in range(0, len(seeds), size)]
    label = lambda g: ",".join(str(seeds[i]) for i in g)  # noqa: E731
    rows = [{"seeds": label(g), **suite_scores(policy_runs, schedule_runs, default_index, select, g, g)} for g in groups]
    same = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "seeds"}
    crossed = [suite_scores(policy_runs, schedule_runs, default_index, select, a, b)
               for a in groups for b in groups if a is not b]
    held_out = {k: float(np.mean([r[k] for r in crossed])) for k in crossed[0]}
    return [{"seeds": label(range(len(seeds))), **suite_scores(policy_runs, schedule_runs, default_index, select)}] + rows + [
        {"seeds": "mean, picked on the same group", **same}, {"seeds": "mean, picked on another group", **held_out}]


def split_table(rows, title: str) -> str:
    """Markdown table of ``split_scores`` rows (points)."""
    shown = [k for k in SPLIT_SCORES if f"validation_{k}" in rows[0]]
    lines = [f"\n{title}\n", "| seeds | " + " | ".join(shown) + " |", "|---|" + "---|" * len(shown)]
    lines += ["| " + r["seeds"] + " | " + " | ".join(f"{r[f'validation_{k}']:.2f}" for k in shown) + " |" for r in rows]
    return "\n".join(lines)


def task_table(tasks, title: str) -> str:
    """Markdown table of each task's ``split_scores`` rows scored alone (points): all seeds, and
    picked on one group and measured on another."""
    keys = [k for k in ("at_default", "tuned", "worst") if f"validation_{k}" in next(iter(tasks.values()))[0]]
    head = [f"{k}, all seeds" for k in keys] + [f"{k}, picked on another group" for k in keys]
    lines = [f"\n{title}\n", "| task | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    for name, rows in tasks.items():
        cells = [rows[0][f"validation_{k}"] for k in keys] + [rows[-1][f"validation_{k}"] for k in keys]
        lines.append(f"| {name} | " + " | ".join(f"{v:.2f}" for v in cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
