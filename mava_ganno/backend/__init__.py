"""The supervised-learning backend: networks, datasets, the task and the tau-step trainer."""

from mava_ganno.backend.datasets import Dataset, load_dataset
from mava_ganno.backend.networks import NetworkSpec, make_network
from mava_ganno.backend.task import Task
from mava_ganno.backend.trainer import (
    LayerStats,
    SLTrainer,
    TrainState,
    adam_direction,
    layerwise_adamw,
    scale_by_layerwise_lr,
)

__all__ = [
    "Dataset",
    "load_dataset",
    "NetworkSpec",
    "make_network",
    "Task",
    "LayerStats",
    "SLTrainer",
    "TrainState",
    "adam_direction",
    "layerwise_adamw",
    "scale_by_layerwise_lr",
]
