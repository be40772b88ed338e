"""Running many evaluation runs: ``jit(vmap(run))`` over equal batches (or one at a time), the
grid of (initial LR, weight decay, seed) and its keys. A run function is compiled once per
process and input shape, and reused by every call (the cache is keyed by the function object);
groups of runs that share a runner are cut into calls of one size (``call_size``), so the
runner compiles once for all of them."""

from __future__ import annotations

import math
import weakref
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import jax
import numpy as np


def _batches(num_runs: int, max_runs: int) -> Tuple[int, int]:
    """(number of calls, runs per call) splitting num_runs evenly into calls <= max_runs."""
    calls = max(1, math.ceil(num_runs / max(1, max_runs)))
    return calls, math.ceil(num_runs / calls)


def call_size(counts: Sequence[int], max_runs: int, waste: float = 0.1) -> int:
    """One batch size for several groups of runs that go through one compiled runner.

    Every call of a ``jit(vmap(run))`` with a new batch size compiles again, so groups of
    ``counts`` runs (e.g. one per baseline family: 270, 30, 30, 30, 6) are all cut into calls of
    one size, the last call of each group padded. The size is the largest <= ``max_runs`` whose
    padding adds at most ``waste`` (10%) to the runs (or no more than splitting each group
    evenly on its own would), then shrunk as far as it can be without adding calls
    (270, 30, 30, 30, 6 -> 30: 13 calls, 390 runs computed for 366; one group: ``_batches``).
    """
    counts = [int(n) for n in counts if int(n) > 0]
    if not counts:
        return 1
    cap = max(1, min(int(max_runs), max(counts)))
    extra = lambda b: sum(math.ceil(n / b) * b - n for n in counts)  # noqa: E731
    allowed = max(waste * sum(counts), sum(math.ceil(n / cap) - 1 for n in counts))
    size = max(b for b in range(1, cap + 1) if extra(b) <= allowed or b == 1)
    return max(math.ceil(n / math.ceil(n / size)) for n in counts)


_JIT_CACHE: "weakref.WeakKeyDictionary[Callable, Dict[Tuple, Callable]]" = weakref.WeakKeyDictionary()


def _jitted(fn: Callable, kind: str, num_shared: int, num_args: int) -> Callable:
    """``jit(vmap(fn))`` (or ``jit(fn)``), memoised per ``fn`` so repeated calls (e.g. several
    fixed-distribution agents on one environment) reuse the compiled function."""
    per_fn = _JIT_CACHE.setdefault(fn, {})
    key = (kind, num_shared, num_args)
    if key not in per_fn:
        if kind == "vmap":
            in_axes = (None,) * num_shared + (0,) * num_args
            per_fn[key] = jax.jit(jax.vmap(fn, in_axes=in_axes))
        else:
            per_fn[key] = jax.jit(fn)
    return per_fn[key]


def vmapped_runs(
    fn: Callable,
    args: Sequence[np.ndarray],
    max_runs: int,
    shared: Sequence[Any] = (),
    size: Optional[int] = None,
) -> Dict[str, np.ndarray]:
    """``jit(vmap(fn))(*shared, *args)`` over the leading axis of ``args``, in equal calls.

    ``shared`` are passed unbatched (e.g. the policy, a family index). Calls hold ``size`` runs
    (default: ``num_runs`` split evenly into calls <= ``max_runs``); the last call is padded
    with copies of run 0 (one compiled shape), the padding dropped.
    """
    num_runs = int(args[0].shape[0])
    if size is None:
        calls, size = _batches(num_runs, max_runs)
    else:
        calls = max(1, math.ceil(num_runs / int(size)))
    vfn = _jitted(fn, "vmap", len(shared), len(args))
    outs = []
    for i in range(calls):
        sl = [np.asarray(a[i * size : (i + 1) * size]) for a in args]
        pad = size - sl[0].shape[0]
        if pad:
            sl = [np.concatenate([s, np.repeat(s[:1], pad, axis=0)]) for s in sl]
        out = jax.device_get(vfn(*shared, *sl))
        outs.append(jax.tree_util.tree_map(lambda x: np.asarray(x)[: size - pad], out))
    return jax.tree_util.tree_map(lambda *xs: np.concatenate(xs), *outs)


def sequential_runs(fn: Callable, args: Sequence[np.ndarray], shared: Sequence[Any] = ()) -> Dict[str, np.ndarray]:
    """The same runs one at a time through ``jit(fn)`` (the benchmark's reference loop)."""
    jfn = _jitted(fn, "single", len(shared), len(args))
    n = int(args[0].shape[0])
    outs = [jax.device_get(jfn(*shared, *[a[i] for a in args])) for i in range(n)]
    return jax.tree_util.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *outs)


# ============================================================================ the harness
def grid(lrs, wds, seeds) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lr, weight decay, seed) of every grid point; float64 so tables show the exact grid."""
    g = [(lr, wd, s) for lr in lrs for wd in wds for s in seeds]
    return (
        np.array([x[0] for x in g], np.float64),
        np.array([x[1] for x in g], np.float64),
        np.array([x[2] for x in g], np.int32),
    )


def seed_keys(seeds: np.ndarray) -> np.ndarray:
    return np.stack([np.asarray(jax.random.PRNGKey(int(s))) for s in seeds])
