"""Datasets, networks and the layerwise-LR AdamW trainer."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mava_ganno.backend.datasets import load_dataset
from mava_ganno.backend.networks import make_network
from mava_ganno.backend.trainer import SLTrainer, layerwise_adamw, step_keys


@pytest.mark.parametrize("name,shape,n", [("digits", (8, 8, 1), 1797), ("mnist_5k", (28, 28, 1), 5000)])
def test_embedded_datasets_split_deterministically(name, shape, n):
    a = load_dataset(name, seed=0)
    load_dataset.cache_clear()
    b = load_dataset(name, seed=0)
    c = load_dataset(name, seed=1)
    assert a.input_shape == shape and a.num_classes == 10
    assert a.x_train.dtype == np.uint8 and a.y_train.dtype == np.int32
    assert len(a.x_train) + len(a.x_val) + len(a.x_test) == n
    np.testing.assert_array_equal(a.x_val, b.x_val)
    assert not np.array_equal(a.y_val, c.y_val)
    x = np.asarray(a.normalise(jnp.asarray(a.x_train)))
    np.testing.assert_allclose(x.mean(), 0.0, atol=1e-3)
    np.testing.assert_allclose(x.std(), 1.0, atol=1e-2)


def test_synthetic_dataset():
    ds = load_dataset("synthetic:4x4x3:100")
    assert ds.input_shape == (4, 4, 3) and len(ds.x_train) + len(ds.x_val) + len(ds.x_test) == 100


def test_tfds_missing_data_dir_is_a_clear_error(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    with pytest.raises(FileNotFoundError, match="not prepared in data_dir"):
        load_dataset("tfds:mnist", data_dir=str(tmp_path))


def test_layerwise_adamw_equals_optax_adamw_when_lrs_are_equal():
    """One LR for every layer reproduces optax.adamw exactly (the same optax pieces)."""
    ds = load_dataset("digits")
    trainer = SLTrainer(make_network("mlp2", 10, hidden=16), ds, batch_size=8, tau=1)
    ts = trainer.init(jax.random.PRNGKey(0))
    lr, wd = 3e-3, 0.1
    ref = optax.adamw(lr, weight_decay=wd)
    p_ref, s_ref = ts.params, ref.init(ts.params)

    @jax.jit
    def ref_step(p, s, idx):
        x, y = trainer.minibatch(idx)
        g = jax.grad(lambda p: trainer._loss(p, {}, x, y)[0])(p)
        u, s = ref.update(g, s, p)
        return optax.apply_updates(p, u), s

    step = jax.jit(trainer.sgd_step)
    for i in range(3):
        idx = trainer.batch_indices(jax.random.PRNGKey(i), 1)[0]
        ts, _, _ = step(ts, idx, jnp.full((3,), lr), wd)
        p_ref, s_ref = ref_step(p_ref, s_ref, idx)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7), ts.params, p_ref)


def test_the_minibatch_plan_draws_what_the_key_chain_draws_chunk_by_chunk():
    """The environment and the baselines draw an episode's minibatches at its start (one batched
    draw): exactly the indices and carried keys of the documented chunk-by-chunk key chain, so a
    seed trains on the same minibatches as before the plan existed (the published grids stand)."""
    ds = load_dataset("digits", seed=0)
    trainer = SLTrainer(make_network("mlp1", ds.num_classes, hidden=8), ds, batch_size=5, tau=3)
    key = jax.random.PRNGKey(11)
    plan = jax.jit(trainer.minibatch_plan, static_argnums=1)(key, 4)
    assert plan.train.shape == (4, 3, 5) and plan.measure.shape == (4, 5)
    for c in range(4):
        key, k_train, k_measure = step_keys(key)
        np.testing.assert_array_equal(plan.keys[c], key)
        np.testing.assert_array_equal(plan.train[c], trainer.batch_indices(k_train, 3))
        np.testing.assert_array_equal(plan.measure[c], trainer.batch_indices(k_measure, 1)[0])
    assert len(np.unique(np.asarray(plan.train))) > 20  # not one index repeated


def test_layerwise_adamw_needs_layer_lrs():
    tx = layerwise_adamw({"w": 0}, 0.1)
    params = {"w": jnp.ones(2)}
    with pytest.raises(ValueError, match="layer_lrs"):
        tx.update(params, tx.init(params), params)


def test_resnet_batch_stats_update_in_training_only():
    ds = load_dataset("digits")
    trainer = SLTrainer(make_network("resnet9", 10, width=4), ds, batch_size=8, tau=2)
    ts = trainer.init(jax.random.PRNGKey(0))
    assert "layer_00" in ts.batch_stats
    idx = trainer.batch_indices(jax.random.PRNGKey(1), 1)[0]
    new, loss, _ = jax.jit(trainer.sgd_step)(ts, idx, jnp.full((9,), 1e-3), 0.0)
    assert np.isfinite(float(loss))
    before = np.asarray(ts.batch_stats["layer_00"]["norm"]["mean"])
    after = np.asarray(new.batch_stats["layer_00"]["norm"]["mean"])
    assert not np.allclose(before, after)
    # evaluation mode uses the running statistics and returns them unchanged
    x, _ = trainer.minibatch(idx)
    _, bs = trainer._forward(new.params, new.batch_stats, x, train=False)
    jax.tree_util.tree_map(np.testing.assert_array_equal, bs, new.batch_stats)


def test_branches_in_one_scan_train_as_each_branch_alone():
    """``train_branches_on`` (the difference reward's fused branches): every branch ends where
    ``train_on`` alone takes it on the same minibatches, and a branch count that does not match its LRs is a clear error."""
    ds = load_dataset("digits")
    trainer = SLTrainer(make_network("cnn2", 10, width=4), ds, batch_size=8, tau=3)
    ts0 = trainer.init(jax.random.PRNGKey(0))
    ts1 = trainer.init(jax.random.PRNGKey(1))
    indices = trainer.batch_indices(jax.random.PRNGKey(2), 3)
    n = trainer.num_agents
    lrs = (jnp.full((n,), 1e-3), jnp.linspace(1e-4, 1e-2, n))
    both = jax.jit(trainer.train_branches_on)((ts0, ts1), lrs, 0.1, indices)
    alone = [jax.jit(trainer.train_on)(ts, lr, 0.1, indices) for ts, lr in zip((ts0, ts1), lrs)]
    assert len(both) == 2
    for got, want in zip(both, alone):
        jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), got, want)
    leaves = [jax.tree_util.tree_leaves(branch[0].params) for branch in both]
    assert not any(np.allclose(a, b) for a, b in zip(*leaves))  # two different runs
    with pytest.raises(ValueError, match="2 training states but 1 branch_kwargs"):
        trainer.train_branches_with(trainer.optimizer(0.1), (ts0, ts1), indices, (dict(layer_lrs=lrs[0]),))


def test_layer_lrs_per_sgd_step_train_as_one_step_at_a_time():
    """``train_on`` with (k, L) LRs: SGD step i trains with row i, the same as k single steps
    (``sgd_step``) with those LRs; k equal rows are the (L,) held LRs exactly; a held branch
    and a per-step branch share one scan; a wrong shape is refused by name."""
    ds = load_dataset("digits")
    trainer = SLTrainer(make_network("mlp2", 10, hidden=16), ds, batch_size=8, tau=4)
    ts0 = trainer.init(jax.random.PRNGKey(0))
    indices = trainer.batch_indices(jax.random.PRNGKey(2), 4)
    n = trainer.num_agents
    per_step = jnp.outer(jnp.array([1.0, 0.5, 0.25, 0.0]), jnp.linspace(1e-3, 3e-3, n))
    got, _, _ = jax.jit(trainer.train_on)(ts0, per_step, 0.1, indices)
    want = ts0
    for i in range(4):
        want, _, _ = trainer.sgd_step(want, indices[i], per_step[i], 0.1)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7), got.params, want.params)
    held = jnp.full((n,), 2e-3)
    a, _, _ = jax.jit(trainer.train_on)(ts0, held, 0.1, indices)
    b, _, _ = jax.jit(trainer.train_on)(ts0, jnp.tile(held, (4, 1)), 0.1, indices)
    jax.tree_util.tree_map(np.testing.assert_array_equal, a.params, b.params)
    mixed = jax.jit(trainer.train_branches_on)((ts0, ts0), (held, per_step), 0.1, indices)
    jax.tree_util.tree_map(np.testing.assert_array_equal, mixed[0][0].params, a.params)
    jax.tree_util.tree_map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7), mixed[1][0].params, got.params)
    with pytest.raises(ValueError, match=rf"branch_step_kwargs\[0\]\['layer_lrs'\] has shape \(3, {n}\); its leading axis must be the 4"):
        trainer.train_on(ts0, per_step[:3], 0.1, indices)
    with pytest.raises(ValueError, match=rf"layer LRs of shape \(1, 4, {n}\): give \(L,\) held or \(k, L\)"):
        trainer.train_on(ts0, per_step[None], 0.1, indices)
