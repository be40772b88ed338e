"""The training task: which network trains on which data, with what budget.

A ``Task`` is validated once, when it is made, and then used everywhere a training problem is
named: the environment (``mava_ganno.env.Ganno``), the evaluation scenarios
(``mava_ganno.evaluation.make_scenario``) and the benchmark's tasks. ``check_tau`` is the one
rule for the decision interval, shared with ``ganno_adamw``.

Example:
    >>> task = Task("cnn3", "fashion_mnist", sl_steps=2000)
    >>> task.name, task.num_chunks
    ('cnn3-fashion_mnist', 20)
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import numpy as np

from mava_ganno.backend.networks import make_network


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_tau(tau: Any) -> int:
    """``tau`` (SGD steps per decision) as an int; ``ValueError`` unless a positive integer."""
    if not _is_int(tau) or tau <= 0:
        raise ValueError(f"tau must be a positive integer (the paper uses 100), got {tau!r}.")
    return int(tau)


def _check_positive_int(name: str, value: Any, example: str) -> None:
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{name} must be a positive integer (e.g. {name}={example}), got {value!r}.")


@dataclasses.dataclass(frozen=True)
class Task:
    """A network, its data and its training budget.

    network: ``mlp<n>``, ``cnn<n>``, ``vit<n>``, ``resnet7``, ``resnet9``, ``resnet18``, and
        ``lm<n>`` for text datasets (``mava_ganno.backend.networks``).
    dataset: ``digits``, ``mnist_5k``, ``fashion_mnist``, ``tfds:<name>``,
        ``synthetic:<H>x<W>x<C>``, ``fortunes[:seq=<T>]`` (``mava_ganno.backend.datasets``).
    tau: SGD steps per decision (the paper's tau, 100).
    sl_steps: SGD steps of one training run; a multiple of ``tau``.
    batch_size: SGD minibatch size.
    hidden, width: hidden units of MLPs (the MLP width of transformer blocks) and base channels
        of CNNs/ResNets (half the embedding size of transformers).
    data_seed: seed of the deterministic train/validation/test split.
    data_dir: where the data is read from: tensorflow-datasets' folder (``tfds:`` datasets),
        the folder of Fashion-MNIST's IDX files or of the fortune text files; None for the
        default locations.
    name: a label for tables and folders; default ``<network>-<dataset>``.
    """

    network: str = "mlp2"
    dataset: str = "digits"
    tau: int = 100
    sl_steps: int = 2000
    batch_size: int = 32
    hidden: int = 64
    width: int = 16
    data_seed: int = 0
    data_dir: Optional[str] = None
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.dataset, str) or not self.dataset:
            raise ValueError(f"dataset must be a dataset name such as 'digits' or 'fashion_mnist', got {self.dataset!r}.")
        if not isinstance(self.network, str):
            raise ValueError(f"network must be a network name such as 'mlp2' or 'cnn3', got {self.network!r}.")
        tau = check_tau(self.tau)
        if not _is_int(self.sl_steps) or self.sl_steps <= 0 or self.sl_steps % tau:
            multiple = max(1, int(self.sl_steps) // tau if _is_int(self.sl_steps) else 1) * tau
            raise ValueError(f"sl_steps must be a positive multiple of tau={tau}, got {self.sl_steps!r}; e.g. sl_steps={multiple}.")
        _check_positive_int("batch_size", self.batch_size, "32")
        _check_positive_int("hidden", self.hidden, "64")
        _check_positive_int("width", self.width, "16")
        if not _is_int(self.data_seed):
            raise ValueError(f"data_seed must be an integer, got {self.data_seed!r}.")
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise ValueError(f"data_dir must be a folder (a string) or None, got {self.data_dir!r}.")
        if not isinstance(self.name, str):
            raise ValueError(f"name must be a string, got {self.name!r}.")
        make_network(self.network, num_classes=10, hidden=int(self.hidden), width=int(self.width))  # the name's check
        for field in ("tau", "sl_steps", "batch_size", "hidden", "width", "data_seed"):
            object.__setattr__(self, field, int(getattr(self, field)))
        if not self.name:
            object.__setattr__(self, "name", f"{self.network}-{self.dataset}")

    @property
    def num_chunks(self) -> int:
        """Decisions in one training run: ``sl_steps // tau``."""
        return self.sl_steps // self.tau


TASK_FIELDS = tuple(f.name for f in dataclasses.fields(Task))
