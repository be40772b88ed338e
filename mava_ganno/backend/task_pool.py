"""The training pool: cheap, varied, unsaturated 8x8 tasks for training the policy on.

Every pool task is generated locally by ``mava_ganno.backend.datasets.load_dataset`` (see its
module docstring for the name syntax) and has 8x8x1 inputs and 10 classes, so one network
shape fits them all. The evaluation datasets (``mnist_5k``, the benchmark's ``fashion_mnist``
and ``fortunes``, and every ``tfds:`` dataset, e.g. ``tfds:cifar10``) are never in the pool:
``check_training_pool`` rejects them, and training calls it on the datasets it trains on.
Reference accuracies of an MLP on each task are in docs/training.md ("Training-pool datasets").

Pool names contain ``,`` and ``=``: in a Hydra override quote them, e.g.
``'env.kwargs.dataset="teacher:mlp,seed=1"'``.
"""

from __future__ import annotations

from typing import Iterable, Tuple

TRAINING_POOL: Tuple[str, ...] = (
    "teacher:mlp,seed=0",
    "teacher:mlp,seed=1",
    "teacher:linear,seed=0",
    "teacher:mlp,seed=2,noise=0.2",
    "digits:shift=2,val=0.3",
    "digits:shift=2,perm=1,val=0.3",
    "digits:shift=1,noise=0.2,val=0.3",
    "digits:noise=0.3,val=0.3",
)

EVALUATION_DATASETS: Tuple[str, ...] = (
    "mnist_5k", "fashion_mnist", "fortunes", "tfds:mnist", "tfds:fashion_mnist", "tfds:cifar10",
)  # fmt: skip


def is_evaluation_dataset(name: str) -> bool:
    """True for the held-out evaluation datasets: ``mnist_5k``, Fashion-MNIST and the fortunes
    corpus (the benchmark's data, with or without options) and anything from ``tfds:``."""
    family = name.split(":")[0]
    return name in EVALUATION_DATASETS or family in EVALUATION_DATASETS or name.startswith(("tfds:", "mnist", "fashion"))


def check_training_pool(names: Iterable[str] = TRAINING_POOL) -> Tuple[str, ...]:
    """The names as a tuple; ValueError for an evaluation dataset, a repeat or an empty pool."""
    names = tuple(names)
    if not names:
        raise ValueError("the training pool is empty; e.g. mava_ganno.backend.task_pool.TRAINING_POOL.")
    bad = [n for n in names if is_evaluation_dataset(n)]
    if bad:
        raise ValueError(
            f"evaluation datasets {bad} must stay out of the training pool; train on 'digits' or on "
            "'digits:...' / 'teacher:...' tasks, e.g. 'teacher:mlp,seed=1'."
        )
    repeats = sorted({n for n in names if names.count(n) > 1})
    if repeats:
        raise ValueError(f"datasets {repeats} appear more than once in the training pool.")
    return names


def pool_scenarios(network: str = "mlp2", names: Iterable[str] = TRAINING_POOL) -> Tuple[str, ...]:
    """``<network>-<dataset>`` scenario names (``evaluation.records.make_scenario``) for the pool."""
    return tuple(f"{network}-{n}" for n in check_training_pool(names))


__all__ = [
    "TRAINING_POOL",
    "EVALUATION_DATASETS",
    "is_evaluation_dataset",
    "check_training_pool",
    "pool_scenarios",
]
