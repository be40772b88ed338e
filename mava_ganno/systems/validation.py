"""Model selection on a validation suite: held-out tasks of the training pool's
families, never the evaluation scenarios.

Every ``every`` evaluation steps the learner's current policy runs zero-shot on each task of
``env.scenario.validation.tasks`` from every initial LR of ``lrs`` and every seed, next to a
constant LR from the same initial LR (same initialisation and minibatches: one key per seed).
The score is the policy's final hold-out accuracy minus a reference's, in points. The reference
(``reference``) is a constant LR from the same initial LR (default), or ``best_schedule``: at
each (task, initial LR) the best of the handcrafted ``schedules`` (mean over seeds; constant,
cosine, linear, warm-up + cosine, one-cycle, WSD, each from that initial LR). The policy sets
LRs once per decision (tau SGD steps); a schedule's LR is held per decision as well, at its value
at the decision's first SGD step (``schedule_resolution: decision``) or at its mean over the
decision's SGD steps (``decision_mean``), or set at every SGD step (``sgd_step``: optax's
schedules exactly as the benchmark runs them, ``evaluation.baselines.make_baseline_run``, with the
same initialisation and minibatches). Scores:

- ``advantage``: the mean over tasks, LRs and seeds;
- ``worst``: the lowest mean over seeds of one (task, LR) cell (how far below the reference the
  policy can fall);
- ``at_default``: the mean over tasks of the cell at ``default_lr`` (1e-3, the LR users start
  with; only when it is one of ``lrs``);
- ``tuned``: the mean over tasks of the policy's best LR's mean minus the best (schedule, LR)
  mean, each picked on the suite (the comparison after an LR sweep);
- ``score``: what selection uses: the mean of the scores named in ``select`` (default
  ``[advantage]``).

The reference runs do not depend on the policy and are run once. ``run_experiment`` logs every
validation, keeps the policy with the best ``score`` in ``<run_dir>/policy_best`` beside the
last one.

With ``modes: [sampled, greedy]`` the policy is validated in each action mode (sampling its
actions, or taking the most likely one): every score gets a ``/<mode>`` twin, and the
unsuffixed scores are those of the better mode by ``advantage``, named in
``validation_mode`` (stored in the selected policy's metadata), so the mode a policy is used
in is chosen on the suite, never on evaluation scenarios. Default ``[sampled]``.

Config (``env.scenario.validation``; absent or ``every: 0``: off)::

    validation:
      every: 5                 # evaluation steps between validations (and after the last)
      lrs: [1.0e-4, 1.0e-3, 1.0e-2]
      weight_decay: 0.1
      seeds: [0, 1]
      modes: [sampled]         # action modes to validate in: sampled and/or greedy
      reference: constant      # or best_schedule (the best of `schedules` at each task and LR)
      schedules: [constant, cosine, linear, warmup_cosine, onecycle, wsd]  # for best_schedule
      schedule_resolution: decision  # or decision_mean, or sgd_step (LR set at every SGD step)
      default_lr: 1.0e-3       # the at_default score's LR (one of lrs)
      select: [advantage]      # scores whose mean selects: advantage, worst, at_default, tuned
      tasks:                   # like env.scenario.groups: env_kwargs / task_config overrides
        mlp2-teacher10: {env_kwargs: {network: mlp2, dataset: "teacher:mlp,seed=10"}}
"""

from __future__ import annotations

import json
import math
import os
import shutil
from typing import Any, Callable, Dict, List, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from omegaconf import DictConfig, OmegaConf

from mava_ganno.evaluation.baselines import make_baseline_run
from mava_ganno.evaluation.records import POLICY_MODES as MODES
from mava_ganno.evaluation.rollouts import METHODS, make_method_runner
from mava_ganno.policy import load_policy, policy_metadata_value, save_policy
from mava_ganno.policy.io import write_file
from mava_ganno.utils import make_env
from mava_ganno.utils.config import ConfigError

_POLICY, _CONSTANT = METHODS.index("ganno"), METHODS.index("constant")
REFERENCES = ("constant", "best_schedule")
SCHEDULES = METHODS[1:]  # constant and the handcrafted schedules the suite can run
SCORES = ("advantage", "worst", "at_default", "tuned")
RESOLUTIONS = ("decision", "decision_mean", "sgd_step")
KEYS = ("every", "lrs", "weight_decay", "seeds", "modes", "tasks", "reference", "schedules", "schedule_resolution",
        "default_lr", "select")


class ValidationSuite:
    """``suite(policy) -> {"advantage", "worst", "<task>"...}``; see the module docstring."""

    def __init__(self, envs: Dict[str, Any], lrs: Sequence[float], seeds: Sequence[int], weight_decay: float,
                 every: int = 1, modes: Sequence[str] = ("sampled",), reference: str = "constant",
                 schedules: Sequence[str] = SCHEDULES, default_lr: float = 1e-3, select: Sequence[str] = ("advantage",),
                 schedule_resolution: str = "decision"):
        if not envs:
            raise ConfigError("env.scenario.validation.tasks is empty; name at least one task or set every: 0.")
        bad = [lr for lr in lrs if not (math.isfinite(lr) and lr > 0)]
        if not lrs or bad:
            raise ConfigError(f"env.scenario.validation.lrs={list(lrs)}: give finite initial LRs > 0, e.g. [1.0e-4, 1.0e-3, 1.0e-2].")
        if not seeds:
            raise ConfigError("env.scenario.validation.seeds is empty; e.g. [0, 1].")
        modes = list(modes)
        bad_modes = [m for m in modes if m not in MODES]
        if not modes or bad_modes or len(set(modes)) != len(modes):
            raise ConfigError(f"env.scenario.validation.modes={modes}: give distinct action modes out of {list(MODES)}, "
                              "e.g. [sampled, greedy].")
        if reference not in REFERENCES:
            raise ConfigError(f"env.scenario.validation.reference={reference!r}: choose one of {list(REFERENCES)}.")
        schedules = list(schedules) if reference == "best_schedule" else ["constant"]
        bad = [m for m in schedules if m not in SCHEDULES]
        if not schedules or bad or len(set(schedules)) != len(schedules):
            raise ConfigError(f"env.scenario.validation.schedules={schedules}: give distinct schedules out of {list(SCHEDULES)}.")
        if schedule_resolution not in RESOLUTIONS:
            raise ConfigError(f"env.scenario.validation.schedule_resolution={schedule_resolution!r}: choose one of "
                              f"{list(RESOLUTIONS)} (decision: a schedule's LR at each decision's first SGD step, held "
                              "for its tau SGD steps; decision_mean: its mean over them, held; sgd_step: set at every SGD "
                              "step, as the benchmark runs it).")
        select = list(select)
        if not select or any(k not in SCORES for k in select):
            raise ConfigError(f"env.scenario.validation.select={select}: give scores out of {list(SCORES)}, e.g. [advantage].")
        self.default_index = [i for i, lr in enumerate(lrs) if math.isclose(lr, default_lr, rel_tol=1e-6)]
        if "at_default" in select and not self.default_index:
            raise ConfigError(f"env.scenario.validation.select has at_default, but default_lr={default_lr} is not one of "
                              f"lrs={list(lrs)}: add it to lrs.")
        self.envs, self.every, self.modes = dict(envs), int(every), modes
        self.reference, self.schedules, self.select = reference, schedules, select
        self.lrs = np.asarray(lrs, np.float32)
        self.seeds, self.weight_decay = [int(s) for s in seeds], float(weight_decay)
        # one runner per task; the action mode is a traced flag of the run (greedy=...)
        self._runners = {name: make_method_runner(env) for name, env in self.envs.items()}
        self.schedule_resolution = schedule_resolution
        self._step_runners: Dict[str, Callable] = {}  # per task, built on first use (sgd_step, decision_mean)
        self._schedule_runs: Dict[str, np.ndarray] = {}  # per task: (schedules, seeds, lrs) their runs
        self._reference_names: Dict[str, List[str]] = {}  # per task: the reference schedule at each LR

    @classmethod
    def from_config(cls, config: DictConfig) -> Optional["ValidationSuite"]:
        v = config.env.scenario.get("validation")
        if v is None or not int(v.get("every", 0)):
            return None
        unknown = sorted(set(v) - set(KEYS))
        if unknown:
            raise ConfigError(f"env.scenario.validation has unknown keys {unknown}; known: {list(KEYS)}.")
        tasks = OmegaConf.to_container(v.get("tasks"), resolve=True) if v.get("tasks") is not None else {}
        envs = {str(n): make_env.make_task(config, str(n), t or {}, "validation.tasks", difference_reward=False)
                for n, t in tasks.items()}
        return cls(envs, list(v.get("lrs", [1e-4, 1e-3, 1e-2])), list(v.get("seeds", [0, 1])),
                   float(v.get("weight_decay", 0.1)), int(v.every), [str(m) for m in v.get("modes", ["sampled"])],
                   str(v.get("reference", "constant")), [str(m) for m in v.get("schedules", SCHEDULES)],
                   float(v.get("default_lr", 1e-3)), [str(k) for k in v.get("select", ["advantage"])],
                   str(v.get("schedule_resolution", "decision")))

    def due(self, eval_step: int, num_evals: int) -> bool:
        """After every ``every``-th evaluation step, and after the last."""
        return (eval_step + 1) % self.every == 0 or eval_step + 1 == num_evals

    def _final_val(self, name: str, policy: Any, method: int, greedy: bool = False,
                   runner: Optional[Callable] = None) -> np.ndarray:
        """(seeds, lrs) final hold-out accuracy of one method on one task (through ``runner``, a
        ``make_method_runner``; default the task's own, schedules held at each decision's first value)."""
        runner = runner or self._runners[name]
        methods = jnp.full(self.lrs.shape, method, jnp.int32)
        runs = [runner(policy, jax.random.PRNGKey(s), jnp.asarray(self.lrs), methods, self.weight_decay, greedy=greedy)
                for s in self.seeds]
        return np.stack([np.asarray(jax.device_get(r["val_accuracy"]))[:, -1] for r in runs])

    def _schedule_final_val(self, name: str, policy: Any, schedule: str) -> np.ndarray:
        """(seeds, lrs) final hold-out accuracy of one handcrafted schedule on one task, at the
        suite's ``schedule_resolution``."""
        env = self.envs[name]
        if self.schedule_resolution == "decision":
            return self._final_val(name, policy, METHODS.index(schedule))
        if self.schedule_resolution == "decision_mean":
            if name not in self._step_runners:
                self._step_runners[name] = make_method_runner(env, hold="mean")
            return self._final_val(name, policy, METHODS.index(schedule), runner=self._step_runners[name])
        if name not in self._step_runners:
            run = make_baseline_run(env.trainer, tuple(self.schedules), env.time_limit, 1.0 / env.dataset.num_classes)
            self._step_runners[name] = jax.jit(jax.vmap(run, in_axes=(None, 0, None, None)))
        index = jnp.int32(self.schedules.index(schedule))
        runs = [self._step_runners[name](jax.random.PRNGKey(s), jnp.asarray(self.lrs), self.weight_decay, index)
                for s in self.seeds]
        return np.stack([np.asarray(jax.device_get(r["val_accuracy"]))[:, -1] for r in runs])

    def _reference_runs(self, name: str, policy: Any) -> np.ndarray:
        """(seeds, lrs) the reference's final hold-out accuracy on one task: the constant LR, or
        at each LR the runs of the schedule with the best mean over seeds (from ``schedule_runs``)."""
        runs = self.schedule_runs(name, policy)
        best = runs.mean(axis=1).argmax(axis=0)  # per LR; the first of equals
        self._reference_names[name] = [self.schedules[b] for b in best]
        return runs[best, :, np.arange(runs.shape[2])].T

    def schedule_runs(self, name: str, policy: Any) -> np.ndarray:
        """(schedules, seeds, lrs) every handcrafted schedule's final hold-out accuracy on one
        task (the reference's candidates). Run once per task."""
        if name not in self._schedule_runs:
            self._schedule_runs[name] = np.stack([self._schedule_final_val(name, policy, m) for m in self.schedules])
        return self._schedule_runs[name]

    @property
    def known_schedule_runs(self) -> Dict[str, np.ndarray]:
        """The schedule runs done (or given) so far, per task: (schedules, seeds, lrs)."""
        return dict(self._schedule_runs)

    def give_schedule_runs(self, name: str, runs: np.ndarray) -> None:
        """Use ``runs`` as task ``name``'s schedule runs instead of running them (saved earlier by
        the same suite: its schedules, seeds and LRs, at ``schedule_resolution: sgd_step``, where
        they do not depend on the policy)."""
        if name not in self.envs:
            raise ValueError(f"no suite task {name!r}; tasks: {list(self.envs)}.")
        if self.schedule_resolution != "sgd_step":
            raise ValueError(f"schedule_resolution={self.schedule_resolution!r} runs the schedules through the policy's "
                             "environment; only sgd_step runs can be given (+env.scenario.validation.schedule_resolution=sgd_step).")
        shape = (len(self.schedules), len(self.seeds), len(self.lrs))
        runs = np.asarray(runs, np.float32)
        if runs.shape != shape:
            raise ValueError(f"schedule runs of {name!r} have shape {runs.shape}; the suite's is {shape} "
                             "(schedules, seeds, lrs).")
        self._schedule_runs[name] = runs

    def policy_runs(self, name: str, policy: Any, greedy: bool = False) -> np.ndarray:
        """(seeds, lrs) the policy's final hold-out accuracy on one task."""
        return self._final_val(name, policy, _POLICY, greedy)

    def _task_runs(self, name: str, policy: Any, greedy: bool):
        """(seeds, lrs) the policy's and the reference's final hold-out accuracy on one task."""
        return self.policy_runs(name, policy, greedy), self._reference_runs(name, policy)

    def cells(self, policy: Any, greedy: bool = False) -> List[Dict[str, Any]]:
        """One row per (task, initial LR): the policy's and the reference's mean final hold-out
        accuracy over seeds (fractions), the reference's schedule, and ``gap``, the policy's
        advantage in points (the cell that ``worst`` takes the minimum of)."""
        rows = []
        for name in self.envs:
            runs, reference = self._task_runs(name, policy, greedy)
            for i, lr in enumerate(self.lrs):
                rows.append({"task": name, "lr": float(lr), "policy": float(runs[:, i].mean()),
                             "reference": float(reference[:, i].mean()),
                             "reference_schedule": self._reference_names[name][i],
                             "gap": float(100.0 * (runs[:, i] - reference[:, i]).mean())})
        return rows

    def _scores(self, policy: Any, greedy: bool) -> Dict[str, float]:
        names = list(self.envs)
        return suite_scores({n: self.policy_runs(n, policy, greedy) for n in names},
                            {n: self.schedule_runs(n, policy) for n in names},
                            self.default_index[0] if self.default_index else None, self.select)

    def check_policy(self, policy: Any) -> None:
        """Raise a clear error if a task's environment does not match the policy."""
        for env in self.envs.values():
            if hasattr(policy, "check_env"):
                policy.check_env(env)

    def __call__(self, policy: Any) -> Dict[str, Any]:
        self.check_policy(policy)
        by_mode = {m: self._scores(policy, m == "greedy") for m in self.modes}
        best = max(self.modes, key=lambda m: by_mode[m]["validation_score"])  # first of equals
        out: Dict[str, Any] = dict(by_mode[best])
        if len(self.modes) > 1:
            out.update({f"{k}/{m}": v for m, scores in by_mode.items() for k, v in scores.items()})
        out["validation_mode"] = best
        return out


def suite_scores(policy_runs: Dict[str, np.ndarray], schedule_runs: Dict[str, np.ndarray], default_index: Optional[int],
                 select: Sequence[str], pick: Optional[Sequence[int]] = None,
                 report: Optional[Sequence[int]] = None) -> Dict[str, float]:
    """The suite's scores from its runs: per task, ``policy_runs[task]`` (seeds, lrs) and
    ``schedule_runs[task]`` (schedules, seeds, lrs) final hold-out accuracies (fractions).

    Every choice (the reference schedule at each LR, the policy's tuned LR, the best (schedule,
    LR)) is made on the mean over the seeds ``pick``, every score is measured on the seeds
    ``report`` (both default: all seeds, as the suite does). Disjoint ``pick`` and ``report``
    give the scores after a choice made on other seeds, without what choosing and measuring on
    the same runs adds to each side. Returns ``validation_<score>`` (advantage, worst,
    tuned, at_default when ``default_index`` is set, and score: the mean of ``select``) and
    ``validation/<task>`` (the task's mean advantage), in points."""
    cells, tuned, out = [], [], {}
    for name, runs in policy_runs.items():
        schedules = schedule_runs[name]
        seeds = np.arange(runs.shape[0])
        p = seeds if pick is None else np.asarray(pick)
        r = seeds if report is None else np.asarray(report)
        lrs = np.arange(runs.shape[1])
        picked = schedules[:, p].mean(axis=1)  # (schedules, lrs)
        reference = schedules[picked.argmax(axis=0), :, lrs].T  # (seeds, lrs): per LR the first of equals
        diff = 100.0 * (runs[r] - reference[r])  # (report seeds, lrs)
        out[f"validation/{name}"] = float(diff.mean())
        cells.append(diff.mean(axis=0))
        best_lr = int(runs[p].mean(axis=0).argmax())
        best_schedule, best_schedule_lr = np.unravel_index(int(picked.argmax()), picked.shape)
        tuned.append(100.0 * (float(runs[r, best_lr].mean()) - float(schedules[best_schedule, r, best_schedule_lr].mean())))
    scores = {"advantage": float(np.concatenate(cells).mean()), "worst": float(np.concatenate(cells).min()),
              "tuned": float(np.mean(tuned))}
    if default_index is not None:
        scores["at_default"] = float(np.mean([c[default_index] for c in cells]))
    scores["score"] = float(np.mean([scores[k] for k in select]))
    return {**{f"validation_{k}": v for k, v in scores.items()}, **out}


HISTORY_FILE = "validation_history.json"


class ModelSelection:
    """Runs the suite when due and keeps the best policy (highest ``validation_score``)
    in ``best_dir``, its scores in the policy's metadata, and every validation so far in
    ``validation_history.json`` beside it (rewritten after each). A resumed run reads the best
    score and the history back, so it only replaces that policy with a better one."""

    def __init__(self, suite: ValidationSuite, best_dir: str, to_policy: Callable[[Any], Any], resuming: bool = False):
        self.suite, self.best_dir, self.to_policy = suite, best_dir, to_policy
        self.history_path = os.path.join(os.path.dirname(os.path.abspath(best_dir)), HISTORY_FILE)
        self.history: List[Dict[str, Any]] = []  # every validation, with its timestep
        self.best = -math.inf
        if not resuming:  # an earlier run under this uid
            if os.path.isdir(best_dir):
                shutil.rmtree(best_dir)
            if os.path.isfile(self.history_path):
                os.remove(self.history_path)
        if os.path.isdir(best_dir):
            best = load_policy(best_dir)  # a policy selected before scores existed has its advantage
            score = policy_metadata_value(best, "validation_score")
            score = score if score is not None else policy_metadata_value(best, "validation_advantage")
            self.best = float(score) if score is not None else -math.inf
        if os.path.isfile(self.history_path):
            with open(self.history_path) as f:
                self.history = list(json.load(f))

    def _write_history(self) -> None:
        os.makedirs(os.path.dirname(self.history_path), exist_ok=True)
        tmp = self.history_path + ".tmp"
        write_file(tmp, json.dumps(self.history, indent=1, sort_keys=True, default=str))
        os.replace(tmp, self.history_path)

    def __call__(self, state: Any, eval_step: int, num_evals: int, timestep: int) -> Optional[Dict[str, float]]:
        if not self.suite.due(eval_step, num_evals):
            return None
        policy = self.to_policy(state)
        result = {"timestep": timestep, **self.suite(policy)}
        self.history.append(result)
        self._write_history()
        if result["validation_score"] > self.best:
            self.best = result["validation_score"]
            meta = {**policy.metadata, **{k: v for k, v in result.items()}, "selected_at_timestep": timestep}
            save_policy(self.best_dir, policy.replace(metadata_json=json.dumps(meta, sort_keys=True, default=str)))
        return result
