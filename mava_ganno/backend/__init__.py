"""The supervised-learning backend: networks, datasets and the tau-step trainer."""

from mava_ganno.backend.datasets import Dataset, load_dataset
from mava_ganno.backend.networks import NetworkSpec, make_network
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
    "LayerStats",
    "SLTrainer",
    "TrainState",
    "adam_direction",
    "layerwise_adamw",
    "scale_by_layerwise_lr",
]
