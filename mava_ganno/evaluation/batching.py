"""Running many evaluation runs: ``jit(vmap(run))`` over equal batches (or one at a time), the
grid of (initial LR, weight decay, seed) and its keys. A run function is compiled once per
process and reused by every call (the cache is keyed by the function object)."""

from __future__ import annotations

import math
import weakref
from typing import Any, Callable, Dict, Sequence, Tuple

import jax
import numpy as np


def _batches(num_runs: int, max_runs: int) -> Tuple[int, int]:
    """(number of calls, runs per call) splitting num_runs evenly into calls <= max_runs."""
    calls = max(1, math.ceil(num_runs / max(1, max_runs)))
    return calls, math.ceil(num_runs / calls)


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
    fn: Callable, args: Sequence[np.ndarray], max_runs: int, shared: Sequence[Any] = ()
) -> Dict[str, np.ndarray]:
    """``jit(vmap(fn))(*shared, *args)`` over the leading axis of ``args``, in equal calls.

    ``shared`` are passed unbatched (e.g. the policy). The last call is padded with copies of
    run 0 (one compiled shape), the padding dropped.
    """
    num_runs = int(args[0].shape[0])
    calls, size = _batches(num_runs, max_runs)
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
