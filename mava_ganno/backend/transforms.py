"""Pure array pieces of the generated datasets (``mava_ganno.backend.datasets``): strict parsing
of ``name:key=value,...`` options, and the transformations (pixel permutations, shifts, label
noise, MNIST-style frames, smooth random fields, balanced teacher labels), each random one
drawing from its own ``np.random.default_rng([seed, tag])`` stream."""

from __future__ import annotations

import re
from typing import Dict, Optional, Tuple

import numpy as np

_INT_RE = re.compile(r"^\d+$")


_FLOAT_RE = re.compile(r"^(\d+(\.\d*)?|\.\d+)$")


_RANGE_RE = re.compile(r"^(\d)-(\d)$")


_DIM_RE = re.compile(r"^(\d+)x(\d+)$")


# Streams of np.random.default_rng([seed, tag]) so the transformations draw independent numbers.
_TAG_PERM, _TAG_SHIFT, _TAG_NOISE, _TAG_INPUTS, _TAG_TEACHER = 101, 102, 103, 104, 105


def _parse_options(name: str, family: str, parts, known, example: str) -> Dict[str, str]:
    """``["k=v", ...]`` -> {k: v}; unknown, duplicate or malformed options raise ValueError."""
    opts: Dict[str, str] = {}
    for part in parts:
        key, eq, value = part.partition("=")
        if not eq or not key or not value:
            raise ValueError(
                f"malformed option {part!r} in dataset {name!r}: {family} options are "
                f"'<key>=<value>' separated by commas, e.g. {example!r}."
            )
        if key not in known:
            raise ValueError(
                f"unknown option {key!r} in dataset {name!r}; {family} options are "
                f"{list(known)}, e.g. {example!r}."
            )
        if key in opts:
            raise ValueError(f"option {key!r} given twice in dataset {name!r}, e.g. {example!r}.")
        opts[key] = value
    return opts


def _opt_int(name: str, key: str, value: str, lo: int, hi: Optional[int], example: str) -> int:
    if _INT_RE.match(value) and lo <= int(value) and (hi is None or int(value) <= hi):
        return int(value)
    bound = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
    raise ValueError(
        f"option {key}={value!r} of dataset {name!r} must be an integer {bound}, e.g. {example!r}."
    )


def _opt_float(
    name: str, key: str, value: str, lo: float, hi: float, example: str, lo_open: bool = False
) -> float:
    if _FLOAT_RE.match(value):
        f = float(value)
        if (lo < f if lo_open else lo <= f) and f < hi:
            return f
    bound = f"{'(' if lo_open else '['}{lo}, {hi})"
    raise ValueError(
        f"option {key}={value!r} of dataset {name!r} must be a number in {bound}, e.g. {example!r}."
    )


def _fractions(
    name: str,
    opts: Dict[str, str],
    val_fraction: Optional[float],
    test_fraction: Optional[float],
    defaults: Tuple[float, float],
    example: str,
) -> Tuple[float, float]:
    """Split fractions: the name's ``val=``/``test=``, else the arguments, else the defaults."""
    out = []
    for key, arg, default in (("val", val_fraction, defaults[0]), ("test", test_fraction, defaults[1])):
        if key in opts:
            if arg is not None:
                raise ValueError(
                    f"dataset {name!r} sets {key}= in its name and load_dataset got "
                    f"{key}_fraction={arg}; give it in one place only."
                )
            out.append(_opt_float(name, key, opts[key], 0.0, 1.0, example, lo_open=True))
        else:
            out.append(default if arg is None else float(arg))
    return out[0], out[1]


def pixel_permutation(k: int, height: int, width: int) -> np.ndarray:
    """The fixed permutation number ``k`` of ``height * width`` pixel positions."""
    return np.random.default_rng([int(k), _TAG_PERM]).permutation(height * width)


def _permute_pixels(x: np.ndarray, perm: np.ndarray) -> np.ndarray:
    n, h, w, c = x.shape
    return x.reshape(n, h * w, c)[:, perm].reshape(n, h, w, c)


def _shift_images(x: np.ndarray, p: int, rng: np.random.Generator) -> np.ndarray:
    """Each image moved by its own (dy, dx), uniform in [-p, p]^2; uncovered pixels are 0."""
    n, h, w, _ = x.shape
    d = rng.integers(-p, p + 1, size=(n, 2))
    padded = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    out = np.empty_like(x)
    for dy in range(-p, p + 1):
        for dx in range(-p, p + 1):
            m = (d[:, 0] == dy) & (d[:, 1] == dx)
            out[m] = padded[m, p - dy : p - dy + h, p - dx : p - dx + w]
    return out


MNIST_BOX = 20 / 28  # MNIST digits fill a 20x20 box centred in a 28x28 frame


def _linear_resize_matrix(src: int, dst: int) -> np.ndarray:
    """(dst, src) weights of linear interpolation with the corner pixels aligned."""
    pos = np.linspace(0.0, src - 1.0, dst)
    lo = np.minimum(np.floor(pos).astype(int), src - 2)
    frac = pos - lo
    m = np.zeros((dst, src))
    m[np.arange(dst), lo] = 1.0 - frac
    m[np.arange(dst), lo + 1] = frac
    return m


def _frame_images(x: np.ndarray, size: int) -> np.ndarray:
    """(N, h, w, C) uint8 images scaled linearly to fill a centred box of ``round(size * 20 /
    28)`` pixels in a zero ``size`` x ``size`` frame, MNIST's layout; uint8 out."""
    n, h, w, c = x.shape
    box = int(round(size * MNIST_BOX))
    ry, rx = _linear_resize_matrix(h, box), _linear_resize_matrix(w, box)
    inner = np.einsum("ih,nhwc,jw->nijc", ry, x.astype(np.float64), rx)
    out = np.zeros((n, size, size, c), np.uint8)
    top = (size - box) // 2
    out[:, top : top + box, top : top + box] = np.clip(np.round(inner), 0, 255).astype(np.uint8)
    return out


def _corrupt_labels(
    y: np.ndarray, fraction: float, classes: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Exactly ``round(fraction * len(y))`` labels replaced by a different class, uniformly."""
    y = y.copy()
    n_bad = int(round(fraction * len(y)))
    if n_bad == 0:
        return y
    idx = rng.choice(len(y), size=n_bad, replace=False)
    k = len(classes)
    pos = np.searchsorted(classes, y[idx])  # position of the true label among the classes
    y[idx] = classes[(pos + rng.integers(1, k, size=n_bad)) % k]
    return y


def smooth_random_field(
    n: int, height: int, width: int, sigma: float, rng: np.random.Generator
) -> np.ndarray:
    """(n, height, width) Gaussian noise blurred by a Gaussian of ``sigma`` pixels, unit variance."""
    if sigma <= 0.0:
        return rng.standard_normal((n, height, width))
    r = int(np.ceil(3.0 * sigma))
    g = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    g /= np.sqrt(np.sum(g**2))  # unit variance of the 1-D blur of white noise
    z = rng.standard_normal((n, height + 2 * r, width + 2 * r))
    z = sum(g[i] * z[:, i : i + height, :] for i in range(2 * r + 1))
    return sum(g[i] * z[:, :, i : i + width] for i in range(2 * r + 1))


def _balanced_argmax(logits: np.ndarray, iters: int = 200) -> np.ndarray:
    """argmax(logits - b) with per-class offsets b fitted so the classes are about equally big."""
    n, k = logits.shape
    b = np.zeros(k)
    step = 0.1 * float(logits.std())
    for _ in range(iters):
        counts = np.bincount(np.argmax(logits - b, axis=1), minlength=k)
        b += step * np.log((counts + 1.0) / (n / k + 1.0))
    return np.argmax(logits - b, axis=1)
