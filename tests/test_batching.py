"""Batching evaluation runs (mava_ganno.evaluation.batching) and counting their compilations
(mava_ganno.evaluation.compiles). The harness's own compile count is asserted on a tiny
evaluation in tests/test_evaluate.py."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from mava_ganno.evaluation import batching as BAT
from mava_ganno.evaluation.compiles import count_compiles


def test_call_size_gives_every_group_one_shape():
    # The default grid's baseline families (AdamW bank, LAMB, Lion, schedule-free, Prodigy):
    # 13 calls of 30 runs (390 computed for 366) rather than 5 shapes.
    assert BAT.call_size([270, 30, 30, 30, 6], 128) == 30
    assert BAT.call_size([72, 36], 128) == 36  # GANNO sampled + greedy, random agent
    for n, m in ((270, 128), (100, 128), (5, 2), (1, 1), (129, 128)):  # one group: as before
        assert BAT.call_size([n], m) == BAT._batches(n, m)[1]
    assert BAT.call_size([], 8) == 1


def test_one_call_size_compiles_once_and_keeps_results():
    def policy_runner(shared, x):  # named like the harness's runner, so it is counted as one
        return {"y": jnp.sin(x) * shared}

    args = [np.linspace(0, 1, 7, dtype=np.float32)]
    with count_compiles() as log:
        a = BAT.vmapped_runs(policy_runner, args, 128, shared=(np.float32(2.0),), size=3)
        b = BAT.vmapped_runs(policy_runner, [args[0][:2]], 128, shared=(np.float32(3.0),), size=3)
    assert [n for n, _ in log.runners()] == ["jit(policy_runner)"]  # 5 calls, one compilation
    np.testing.assert_allclose(a["y"], 2 * np.sin(args[0]), rtol=1e-6)
    np.testing.assert_allclose(b["y"], 3 * np.sin(args[0][:2]), rtol=1e-6)


def test_count_compiles_names_and_times_compilations():
    @jax.jit
    def baseline_runner(x):
        return x * 2 + 1

    with count_compiles() as log:
        baseline_runner(jnp.ones(3))
        baseline_runner(jnp.ones(3))  # cached: no second compilation
        baseline_runner(jnp.ones(4))  # a new shape compiles again
    assert [n for n, _ in log.runners()] == ["jit(baseline_runner)"] * 2
    assert log.supported and log.summary()["runner_compilations"] == 2 and log.count == len(log.events)
    # one (name, duration) record per compilation; how long they take is for benchmarks/eval_grid.py
    assert all(isinstance(name, str) and isinstance(s, float) for name, s in log.events)


def test_count_compiles_reads_the_compile_log_when_events_have_no_names(monkeypatch):
    """jax < ~0.4.36 (Mava's 0.4.30) records compile events without the function's name: the
    names and seconds then come from JAX's "Finished XLA compilation" log records."""
    from jax._src import dispatch

    record = dispatch.record_event_duration_secs
    monkeypatch.setattr(dispatch, "record_event_duration_secs", lambda event, secs, **kw: record(event, secs))

    @jax.jit
    def policy_runner(x):
        return x - 1

    with count_compiles() as log:
        policy_runner(jnp.ones(5))
    assert log.supported and [n for n, _ in log.runners()] == ["jit(policy_runner)"]
    assert log.runners()[0][1] > 0
