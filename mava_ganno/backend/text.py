"""Text data for character-level (byte-level) language models: the ``fortunes`` corpus (an
evaluation dataset) and ``babble``, synthetic text for the training pool.

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

``babble`` or ``babble:<key>=<value>[,...]`` (e.g. ``babble:seed=1,words=2000``) is English-like text made
here, never read: a lexicon of ``words=<W>`` pseudo-words (default 2,000; lengths 1 + Poisson(3.5),
letters drawn with English letter frequencies), a word sequence in which each word is followed,
with probability 0.6, by one of its own eight successors and otherwise by a Zipf-distributed
(exponent 1.1) draw from the whole lexicon, joined by spaces, with commas, capitalised
sentences ending in '. ' and line breaks; ``n=<bytes>`` bytes (default 1,000,000) drawn from
``seed=<s>`` (default 0) only. ``seq=``, ``val=`` and ``test=`` and the splits and windows are
those of ``fortunes``. It gives the pool byte-level LM tasks (256-way next-byte heads over
text-like statistics) without the fortunes corpus.
"""

from __future__ import annotations

import os
from typing import List, Optional, Tuple

import numpy as np

from mava_ganno.backend.missing import MissingDataError

FORTUNES_DIR = "/usr/share/games/fortunes"
BABBLE_EXAMPLE = "babble:seed=1,words=2000"
BABBLE_OPTIONS = ("seed", "words", "n", "seq", "val", "test")
_LETTERS = np.frombuffer(b"etaoinshrdlcumwfgypbvkjxqz", np.uint8)
_LETTER_FREQUENCIES = np.array([12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4, 2.2, 2.0,
                                2.0, 1.9, 1.5, 1.0, 0.8, 0.15, 0.15, 0.1, 0.07])
_TAG_BABBLE = 201
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
    val_fraction, test_fraction = _fractions(name, (val_opt, test_opt), (val_fraction, test_fraction))
    return _windowed_splits(name, load_corpus(data_dir), seq_len, val_fraction, test_fraction)


def _windowed_splits(name: str, corpus: bytes, seq_len: int, val_fraction: float, test_fraction: float):
    """The corpus's contiguous train/validation/test blocks, each cut into windows."""
    blocks = split_corpus(corpus, val_fraction, test_fraction)
    splits = [make_windows(b, seq_len) for b in blocks]
    for split, (x, _), block in zip(("train", "validation", "test"), splits, blocks):
        if len(x) == 0:
            raise ValueError(
                f"dataset {name!r}: the {split} split ({len(block)} of the corpus's {len(corpus)} "
                f"bytes) is shorter than one window of seq={seq_len} + 1 bytes; use a smaller "
                "seq= or a larger corpus (data_dir, or n= of babble)."
            )
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = splits
    return x_tr, y_tr, x_va, y_va, x_te, y_te


def babble_corpus(seed: int = 0, words: int = 2000, n_bytes: int = 1_000_000) -> bytes:
    """``n_bytes`` of synthetic English-like text drawn from ``seed`` (see the module docstring)."""
    rng = np.random.default_rng([int(seed), _TAG_BABBLE])
    letter_p = _LETTER_FREQUENCIES / _LETTER_FREQUENCIES.sum()
    lexicon = [rng.choice(_LETTERS, size=1 + int(k), p=letter_p).tobytes() for k in rng.poisson(3.5, size=words)]
    zipf = 1.0 / np.arange(1, words + 1) ** 1.1
    successors = rng.integers(0, words, size=(words, 8))
    n_words = n_bytes // 4 + 16  # words average 4.5 letters plus a separator: always enough
    own = rng.random(n_words) < 0.6
    pick = rng.integers(0, 8, size=n_words)
    free = rng.choice(words, size=n_words, p=zipf / zipf.sum())
    end, comma, newline = rng.random(n_words) < 1 / 12, rng.random(n_words) < 0.05, rng.random(n_words) < 0.2
    out, size, word, capital = [], 0, int(free[0]), True
    for i in range(n_words):
        word = int(successors[word, pick[i]]) if own[i] else int(free[i])
        text = lexicon[word].capitalize() if capital else lexicon[word]
        capital = bool(end[i])
        text += (b".\n" if newline[i] else b". ") if capital else (b", " if comma[i] else b" ")
        out.append(text)
        size += len(text)
        if size >= n_bytes:
            break
    return b"".join(out)[:n_bytes]


def parse_babble_name(name: str) -> Tuple[Tuple[int, int, int], int, Optional[float], Optional[float]]:
    """((seed, words, n bytes), sequence length T, val fraction or None, test fraction or None)
    of ``babble:<options>`` (strict parsing)."""
    from mava_ganno.backend.transforms import _opt_float, _opt_int, _parse_options

    ex = BABBLE_EXAMPLE
    spec = name[len("babble:") :] if name.startswith("babble:") else ""
    if name == "babble":
        spec = "seed=0"
    if not spec:
        raise ValueError(f"dataset {name!r}: give options after 'babble:', e.g. {ex!r}.")
    opts = _parse_options(name, "babble", spec.split(","), BABBLE_OPTIONS, ex)
    seed = _opt_int(name, "seed", opts["seed"], 0, None, ex) if "seed" in opts else 0
    words = _opt_int(name, "words", opts["words"], 10, 100_000, ex) if "words" in opts else 2000
    n = _opt_int(name, "n", opts["n"], 1000, 100_000_000, ex) if "n" in opts else 1_000_000
    seq = _opt_int(name, "seq", opts["seq"], 2, MAX_SEQ_LEN, ex) if "seq" in opts else DEFAULT_SEQ_LEN
    fracs = [_opt_float(name, k, opts[k], 0.0, 0.5, ex, lo_open=True) if k in opts else None for k in ("val", "test")]
    return (seed, words, n), seq, fracs[0], fracs[1]


def load_babble(name: str, val_fraction: Optional[float] = None, test_fraction: Optional[float] = None):
    """The ``babble[:<options>]`` splits, as ``load_fortunes`` gives its own."""
    (seed, words, n), seq_len, val_opt, test_opt = parse_babble_name(name)
    val_fraction, test_fraction = _fractions(name, (val_opt, test_opt), (val_fraction, test_fraction))
    return _windowed_splits(name, babble_corpus(seed, words, n), seq_len, val_fraction, test_fraction)


def _fractions(name: str, in_name, given) -> Tuple[float, float]:
    """Each split fraction from the name, else the argument, else the default; both is an error."""
    out = []
    for opt, arg, key, default in zip(in_name, given, ("val", "test"), DEFAULT_FRACTIONS):
        if opt is not None and arg is not None:
            raise ValueError(f"dataset {name!r} sets {key}= and {key}_fraction is given too; set it in one place.")
        out.append(float(next(v for v in (opt, arg, default) if v is not None)))
    return out[0], out[1]
