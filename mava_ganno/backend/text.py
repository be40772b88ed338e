"""Text data for character-level (byte-level) language models: the ``fortunes`` dataset.

The corpus is the English quotations of Debian's ``fortunes`` package (``apt-get install
fortunes``): every regular file of ``/usr/share/games/fortunes`` (or ``data_dir``) in sorted
file-name order, concatenated as raw bytes. ``*.dat`` index files, symbolic links (the ``*.u8``
links) and subfolders (the ``off/`` folder of some installs) are skipped.

Dataset names: ``fortunes`` or ``fortunes:<key>=<value>[,...]`` with ``seq=<T>`` (T in [2,
4096], default 64), ``val=<f>`` and ``test=<f>`` (the split fractions, default 0.1 each), e.g.
``fortunes:seq=32,val=0.02,test=0.02``. The corpus is cut into three *contiguous blocks* of
bytes, the last ``test`` fraction the test split, the ``val`` fraction before it the validation
split, the rest the training split, so no text is shared between splits. Each block
is cut into non-overlapping windows of T bytes, in corpus order: window i's inputs are bytes
``[i T, (i + 1) T)`` of the block, its targets bytes ``[i T + 1, (i + 1) T + 1)`` (the next
byte at every position). x arrays are (N, T) uint8 byte tokens, y arrays (N, T) int32, and
``num_classes`` is 256. Nothing is random: the splits do not depend on ``seed``.
"""

from __future__ import annotations

import os
from typing import List, Optional, Tuple

import numpy as np

from mava_ganno.backend.missing import MissingDataError

FORTUNES_DIR = "/usr/share/games/fortunes"
FORTUNES_EXAMPLE = "fortunes:seq=64"
FORTUNES_OPTIONS = ("seq", "val", "test")
DEFAULT_SEQ_LEN = 64
MAX_SEQ_LEN = 4096
VOCAB_SIZE = 256
DEFAULT_FRACTIONS = (0.1, 0.1)  # validation, test


def _missing(folder: str, why: str) -> FileNotFoundError:
    return MissingDataError("the fortunes corpus", folder, "fortunes", why)


def corpus_files(data_dir: Optional[str] = None) -> List[str]:
    """The corpus files of ``data_dir`` (default ``/usr/share/games/fortunes``), in sorted
    file-name order: regular files except ``*.dat``; symlinks and subfolders are skipped.
    ``FileNotFoundError`` (naming the folder and ``apt-get install fortunes``) when the folder
    is missing or holds no such file."""
    folder = os.fspath(data_dir) if data_dir is not None else FORTUNES_DIR
    if not os.path.isdir(folder):
        raise _missing(folder, "is not a folder" if os.path.exists(folder) else "does not exist")
    files = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.endswith(".dat") or os.path.islink(path) or not os.path.isfile(path):
            continue
        files.append(path)
    if not files:
        raise _missing(folder, "holds no fortune text files (only .dat indexes, links or subfolders)")
    return files


def load_corpus(data_dir: Optional[str] = None) -> bytes:
    """Every corpus file of ``data_dir`` (default ``/usr/share/games/fortunes``; see
    ``corpus_files``) concatenated, as raw bytes."""
    parts = []
    for path in corpus_files(data_dir):
        with open(path, "rb") as f:
            parts.append(f.read())
    corpus = b"".join(parts)
    if not corpus:
        raise _missing(os.fspath(data_dir) if data_dir is not None else FORTUNES_DIR, "holds only empty files")
    return corpus


def split_corpus(corpus: bytes, val_fraction: float, test_fraction: float) -> Tuple[bytes, bytes, bytes]:
    """(train, validation, test): contiguous blocks of ``corpus``, test last, validation just
    before it."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction}.")
    if not 0.0 < test_fraction < 1.0 - val_fraction:
        raise ValueError(f"test_fraction must lie in (0, 1 - val_fraction), got {test_fraction}.")
    n = len(corpus)
    n_test = int(round(n * test_fraction))
    n_val = int(round(n * val_fraction))
    a, b = n - n_test - n_val, n - n_test
    return corpus[:a], corpus[a:b], corpus[b:]


def make_windows(block: bytes, seq_len: int) -> Tuple[np.ndarray, np.ndarray]:
    """Non-overlapping windows of ``block``: x (N, T) uint8 inputs, y (N, T) int32 next-byte
    targets (y[i, t] = x[i, t + 1], and y[i, T - 1] is the byte after the window), with
    N = (len(block) - 1) // T; a trailing remainder is dropped."""
    data = np.frombuffer(block, np.uint8)
    n = max(0, (len(data) - 1) // seq_len)
    x = data[: n * seq_len].reshape(n, seq_len)
    y = data[1 : n * seq_len + 1].reshape(n, seq_len).astype(np.int32)
    return np.ascontiguousarray(x), y


def parse_fortunes_name(name: str) -> Tuple[int, Optional[float], Optional[float]]:
    """(sequence length T, val fraction or None, test fraction or None) of ``fortunes`` /
    ``fortunes:<options>`` (strict parsing)."""
    from mava_ganno.backend.transforms import _opt_float, _opt_int, _parse_options

    if name == "fortunes":
        return DEFAULT_SEQ_LEN, None, None
    spec = name[len("fortunes:") :] if name.startswith("fortunes:") else None
    if not spec:
        raise ValueError(
            f"dataset {name!r}: use 'fortunes' for the default sequence length {DEFAULT_SEQ_LEN} "
            f"or options, e.g. {FORTUNES_EXAMPLE!r}."
        )
    opts = _parse_options(name, "fortunes", spec.split(","), FORTUNES_OPTIONS, FORTUNES_EXAMPLE)
    seq = _opt_int(name, "seq", opts["seq"], 2, MAX_SEQ_LEN, FORTUNES_EXAMPLE) if "seq" in opts else DEFAULT_SEQ_LEN
    fracs = [_opt_float(name, k, opts[k], 0.0, 0.5, FORTUNES_EXAMPLE, lo_open=True) if k in opts else None for k in ("val", "test")]
    return seq, fracs[0], fracs[1]


def load_fortunes(
    name: str,
    val_fraction: Optional[float] = None,
    test_fraction: Optional[float] = None,
    data_dir: Optional[str] = None,
):
    """The ``fortunes[:<options>]`` splits (see the module docstring): ``(x_train, y_train,
    x_val, y_val, x_test, y_test)``, x (N, T) uint8 byte tokens and y (N, T) int32 next bytes
    (``backend.datasets.load_dataset`` makes them a ``Dataset`` of kind ``"tokens"``). Fractions
    default to 0.1 each."""
    seq_len, val_opt, test_opt = parse_fortunes_name(name)
    for opt, arg, key in ((val_opt, val_fraction, "val"), (test_opt, test_fraction, "test")):
        if opt is not None and arg is not None:
            raise ValueError(f"dataset {name!r} sets {key}= and {key}_fraction is given too; set it in one place.")
    val_fraction = float(next(v for v in (val_opt, val_fraction, DEFAULT_FRACTIONS[0]) if v is not None))
    test_fraction = float(next(v for v in (test_opt, test_fraction, DEFAULT_FRACTIONS[1]) if v is not None))
    corpus = load_corpus(data_dir)
    blocks = split_corpus(corpus, val_fraction, test_fraction)
    splits = [make_windows(b, seq_len) for b in blocks]
    for split, (x, _), block in zip(("train", "validation", "test"), splits, blocks):
        if len(x) == 0:
            raise ValueError(
                f"dataset {name!r}: the {split} split ({len(block)} of the corpus's {len(corpus)} "
                f"bytes) is shorter than one window of seq={seq_len} + 1 bytes; use a smaller "
                "seq= or a larger corpus (data_dir)."
            )
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = splits
    return x_tr, y_tr, x_va, y_va, x_te, y_te
