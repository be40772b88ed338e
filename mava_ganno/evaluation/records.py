"""Evaluation records, the lowest layer of ``mava_ganno.evaluation``: how methods are shown
(``MethodInfo``), the evaluation problem (``make_scenario``: a named ``Task``), every run of one
method (``RunSet``) and a whole evaluation (``Evaluation``)."""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from mava_ganno.backend.task import TASK_FIELDS, Task

DEFAULT_LRS: Tuple[float, ...] = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
DEFAULT_WEIGHT_DECAYS: Tuple[float, ...] = (0.1, 1e-4)
DEFAULT_SEEDS = 3
POLICY_MODES = ("sampled", "greedy")


# ============================================================================ methods
@dataclasses.dataclass(frozen=True)
class MethodInfo:
    """How a method is shown in the tables.

    group: ``handcrafted``, ``warmup``, ``optimizer``, ``ganno``, ``ablation`` or ``random``.
    takes_lr: run at every grid LR (else once per weight decay and seed).
    """

    label: str
    group: str
    takes_lr: bool = True
    note: str = ""


# ============================================================================ scenarios
# An evaluation scenario is a named ``Task`` (``mava_ganno.backend.task``): the network, dataset
# and budget, validated once when it is made.
SCENARIO_FIELDS = tuple(f for f in TASK_FIELDS if f != "name")


def scenario_file(name: str) -> Optional[str]:
    """``configs/env/scenario/<name>.yaml`` (the training configs' scenarios), if it exists."""
    try:
        from importlib.resources import files

        path = files("mava_ganno.configs") / "env" / "scenario" / f"{name}.yaml"
        return str(path) if path.is_file() else None
    except (ImportError, ModuleNotFoundError, TypeError):
        return None


def make_scenario(name: str, **overrides: Any) -> Task:
    """A scenario by name, with budget overrides (None values are ignored).

    ``name`` is a scenario of the training configs (``configs/env/scenario/<name>.yaml``,
    e.g. ``mlp5-mnist_5k``, ``cnn5-cifar10``): its network, dataset, tau, budget and sizes are
    used. Any other ``<network>-<dataset>`` (``mlp3-digits``) gets the defaults (tau 100,
    2000 SGD steps, batch 32).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"scenario must be a name like 'mlp5-mnist_5k', got {name!r}.")
    path = scenario_file(name)
    kwargs: Dict[str, Any] = {}
    if path is not None:
        from omegaconf import OmegaConf

        env_kwargs = OmegaConf.to_container(OmegaConf.load(path)).get("env_kwargs", {}) or {}
        kwargs = {k: v for k, v in env_kwargs.items() if k in SCENARIO_FIELDS}
        if "network" not in kwargs or "dataset" not in kwargs:
            raise ValueError(f"{path}: env_kwargs needs network and dataset.")
    else:
        network, _, dataset = name.partition("-")
        if not network or not dataset:
            raise ValueError(
                f"scenario {name!r} is neither a file in configs/env/scenario/ nor "
                "'<network>-<dataset>'; e.g. 'mlp5-mnist_5k', 'cnn5-mnist_5k', 'mlp3-digits'."
            )
        kwargs = dict(network=network, dataset=dataset)
    unknown = [k for k in overrides if k not in SCENARIO_FIELDS]
    if unknown:
        raise TypeError(f"unknown scenario overrides {unknown}; known: {list(SCENARIO_FIELDS)}.")
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Task(**kwargs, name=name)
    except ValueError as e:
        raise ValueError(f"scenario {name!r}: {e}") from None


# ============================================================================ results
@dataclasses.dataclass
class RunSet:
    """Every run of one method (R runs, C chunks of tau steps).

    Arrays: lr, weight_decay (R,) float (lr NaN for LR-free methods); seed (R,) int;
    test_accuracy, val_accuracy, train_loss (R, C+1), entry 0 at initialisation; lrs (R, C, L)
    the learning rate(s) used in each chunk (L layers for policies, 1 for baselines; NaN where
    the method has no single LR or after divergence); diverged (R,) bool; val_loss, test_loss
    (R, C+1) the mean hold-out cross-entropy (nats; None in results written before losses were
    recorded).
    """

    method: str
    label: str
    group: str
    mode: str
    lr: np.ndarray
    weight_decay: np.ndarray
    seed: np.ndarray
    steps: np.ndarray
    test_accuracy: np.ndarray
    val_accuracy: np.ndarray
    train_loss: np.ndarray
    lrs: np.ndarray
    diverged: np.ndarray
    takes_lr: bool = True
    policy: str = ""
    seconds: float = 0.0
    val_loss: Optional[np.ndarray] = None
    test_loss: Optional[np.ndarray] = None

    @property
    def num_runs(self) -> int:
        return int(self.seed.shape[0])

    def rows(self) -> List[Dict[str, Any]]:
        """One ``table.csv`` row per run."""
        out = []
        for i in range(self.num_runs):
            out.append(
                dict(
                    method=self.method,
                    label=self.label,
                    group=self.group,
                    mode=self.mode,
                    initial_lr=float(self.lr[i]) if self.takes_lr else None,
                    weight_decay=float(self.weight_decay[i]),
                    seed=int(self.seed[i]),
                    final_test_accuracy=float(self.test_accuracy[i, -1]),
                    best_test_accuracy=float(np.max(self.test_accuracy[i])),
                    final_train_loss=float(self.train_loss[i, -1]),
                    diverged=bool(self.diverged[i]),
                    final_val_accuracy=float(self.val_accuracy[i, -1]),
                    policy=self.policy,
                    final_val_loss=None if self.val_loss is None else float(self.val_loss[i, -1]),
                    final_test_loss=None if self.test_loss is None else float(self.test_loss[i, -1]),
                )
            )
        return out


@dataclasses.dataclass
class Evaluation:
    scenario: Task
    lrs: Tuple[float, ...]
    weight_decays: Tuple[float, ...]
    seeds: Tuple[int, ...]
    runsets: List[RunSet]
    unavailable: Dict[str, str]
    seconds: float = 0.0
    num_classes: int = 10
    complete: bool = True  # False: the runs finished so far (harness.evaluate's on_progress)

    def rows(self) -> List[Dict[str, Any]]:
        return [r for rs in self.runsets for r in rs.rows()]

    def get(self, label: str) -> Optional[RunSet]:
        for rs in self.runsets:
            if rs.label == label:
                return rs
        return None
