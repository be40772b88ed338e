"""Training-pool datasets: ``digits:<options>``, ``teacher:<kind>,...`` and the task pool."""

from __future__ import annotations

import numpy as np
import pytest

from mava_ganno.backend.datasets import (
    DIGITS_EXAMPLE,
    TEACHER_EXAMPLE,
    load_dataset,
    pixel_permutation,
)
from mava_ganno.backend.task_pool import (
    TRAINING_POOL,
    check_training_pool,
    is_evaluation_dataset,
    pool_scenarios,
)

SPLITS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
SMALL_TEACHER = "teacher:mlp,n=2000"


def _fresh(name, **kw):
    load_dataset.cache_clear()
    return load_dataset(name, **kw)


def _assert_same(a, b):
    for f in SPLITS:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.std, b.std)


@pytest.mark.parametrize("name", ["digits:perm=3,noise=0.2,shift=1", SMALL_TEACHER + ",noise=0.1"])
def test_same_name_same_arrays(name):
    a, b = _fresh(name, seed=1), _fresh(name, seed=1)
    _assert_same(a, b)
    c = load_dataset(name, seed=2)
    assert not np.array_equal(a.y_val, c.y_val)  # the load seed draws the split


def test_shapes_dtypes_and_sizes():
    for name, sizes in [
        ("digits:perm=0", (1294, 144, 359)),
        ("digits:perm=0,val=0.3", (1007, 431, 359)),
        ("digits:shift=2,val=0.3", (4 * 1007, 431, 359)),
        ("digits:shift=1,copies=2", (2 * 1294, 144, 359)),
        ("teacher:mlp", (6000, 2000, 2000)),
        ("teacher:linear,n=1000,val=0.5,test=0.1", (450, 450, 100)),
    ]:
        ds = load_dataset(name)
        assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == sizes, name
        assert ds.input_shape == (8, 8, 1) and ds.num_classes == 10, name
        assert all(getattr(ds, f).dtype == np.uint8 for f in SPLITS[::2]), name
        assert all(getattr(ds, f).dtype == np.int32 for f in SPLITS[1::2]), name
        xf = ds.x_train.astype(np.float32) / 255.0  # statistics of the final training split
        np.testing.assert_allclose(ds.mean, [xf.mean()], rtol=1e-5)
        np.testing.assert_allclose(ds.std, [xf.std()], rtol=1e-5)
    assert load_dataset("teacher:mlp,n=500,dim=4x6").input_shape == (4, 6, 1)


def test_permutation_is_a_fixed_pixel_permutation_of_digits():
    for seed in (0, 1):
        plain, perm = load_dataset("digits", seed=seed), load_dataset("digits:perm=3", seed=seed)
        p = pixel_permutation(3, 8, 8)
        np.testing.assert_array_equal(np.sort(p), np.arange(64))
        assert not np.array_equal(p, np.arange(64))
        for split in ("train", "val", "test"):
            x0 = getattr(plain, f"x_{split}").reshape(-1, 64)
            x1 = getattr(perm, f"x_{split}").reshape(-1, 64)
            np.testing.assert_array_equal(getattr(plain, f"y_{split}"), getattr(perm, f"y_{split}"))
            np.testing.assert_array_equal(np.sort(x0, axis=1), np.sort(x1, axis=1))  # same multiset
            np.testing.assert_array_equal(x1, x0[:, p])  # the same permutation for every image
            assert not np.array_equal(x0, x1)
    np.testing.assert_array_equal(pixel_permutation(3, 8, 8), pixel_permutation(3, 8, 8))
    assert not np.array_equal(load_dataset("digits:perm=3").x_train, load_dataset("digits:perm=4").x_train)


def test_label_noise_changes_only_the_requested_fraction_of_training_labels():
    for clean_name, noisy_name in [("digits", "digits:noise=0.2"), (SMALL_TEACHER, SMALL_TEACHER + ",noise=0.2")]:
        clean, noisy = load_dataset(clean_name), load_dataset(noisy_name)
        for f in ("x_train", "x_val", "y_val", "x_test", "y_test"):
            np.testing.assert_array_equal(getattr(clean, f), getattr(noisy, f), err_msg=f)
        changed = clean.y_train != noisy.y_train
        assert changed.sum() == round(0.2 * len(clean.y_train))
        assert noisy.y_train.min() >= 0 and noisy.y_train.max() <= 9
        assert len(np.unique(noisy.y_train[changed])) == 10  # spread over the classes
    sub = load_dataset("digits:classes=3-6,noise=0.5")
    assert set(np.unique(sub.y_train)) == {3, 4, 5, 6}  # wrong labels stay among the classes used


def test_size_frames_the_same_digits_as_mnist_lays_out_its_own():
    plain, framed = load_dataset("digits:perm=2,shift=1,val=0.3"), load_dataset("digits:perm=2,shift=1,val=0.3,size=28")
    assert framed.input_shape == (28, 28, 1) and framed.x_train.dtype == np.uint8
    for f in SPLITS[1::2]:  # the same images and labels, only the frame changes
        np.testing.assert_array_equal(getattr(plain, f), getattr(framed, f), err_msg=f)
    for f in SPLITS[::2]:
        x, x8 = getattr(framed, f), getattr(plain, f)
        border = np.ones((28, 28), bool)
        border[4:24, 4:24] = False
        assert not x[:, border].any(), f  # a 4-pixel zero border around a 20x20 box
        box = x[:, 4:24, 4:24, 0].astype(np.int64)
        # linear interpolation with aligned corners: the box's corners are the 8x8 corners and
        # the box's mean is close to the small image's
        np.testing.assert_array_equal(box[:, [0, 0, -1, -1], [0, -1, 0, -1]], x8[:, [0, 0, -1, -1], [0, -1, 0, -1], 0])
        np.testing.assert_allclose(box.mean(axis=(1, 2)), x8.mean(axis=(1, 2, 3)), atol=12.0)
        assert box.max() <= x8.max()  # no overshoot
    # a pixel halfway between two source pixels along a row is their mean (rounded)
    x8, x = plain.x_test[..., 0].astype(np.float64), framed.x_test[..., 0].astype(np.float64)
    # box 20 on 8 pixels: box column j sits at 7 j / 19 of the source, so row 0, column 19
    # / 7 * k hits source column k exactly for k = 0 and 7 only; check the linear weights at j = 1
    w = 7.0 / 19.0
    np.testing.assert_allclose(x[:, 4, 5], np.round((1 - w) * x8[:, 0, 0] + w * x8[:, 0, 1]), atol=0.5)
    small = load_dataset("digits:size=12")
    assert small.input_shape == (12, 12, 1)  # a 9-pixel box in rows and columns 1..9
    assert not small.x_train[:, [0, 10, 11]].any() and not small.x_train[:, :, [0, 10, 11]].any()
    assert all(small.x_train[:, i].any() and small.x_train[:, :, i].any() for i in (1, 9))


def _shifts(x, p):
    """All (2p+1)^2 zero-filled shifts of (N, 8, 8, 1) images: (S, N, 8, 8, 1)."""
    pad = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    return np.stack([pad[:, p - dy : p - dy + 8, p - dx : p - dx + 8]
                     for dy in range(-p, p + 1) for dx in range(-p, p + 1)])


def test_shift_augments_only_the_training_split_without_leaking_held_out_images():
    plain, shifted = load_dataset("digits"), load_dataset("digits:shift=1,copies=3")
    n = len(plain.x_train)
    np.testing.assert_array_equal(shifted.y_train, np.tile(plain.y_train, 3))
    # every training image is a shift of the training image it copies, never of a held-out one
    base = _shifts(np.tile(plain.x_train, (3, 1, 1, 1)), 1)
    assert np.all(np.any(np.all(base == shifted.x_train[None], axis=(2, 3, 4)), axis=0))
    assert not np.array_equal(shifted.x_train[:n], plain.x_train)
    for split in ("val", "test"):  # held-out images: one shift each of the same images
        x0, x1 = getattr(plain, f"x_{split}"), getattr(shifted, f"x_{split}")
        np.testing.assert_array_equal(getattr(plain, f"y_{split}"), getattr(shifted, f"y_{split}"))
        assert np.all(np.any(np.all(_shifts(x0, 1) == x1[None], axis=(2, 3, 4)), axis=0))


def test_class_subset_keeps_ten_outputs():
    ds = load_dataset("digits:classes=3-6")
    ys = np.concatenate([ds.y_train, ds.y_val, ds.y_test])
    assert set(np.unique(ys)) == {3, 4, 5, 6} and ds.num_classes == 10
    digits = load_dataset("digits")
    all_y = np.concatenate([digits.y_train, digits.y_val, digits.y_test])
    assert len(ys) == np.isin(all_y, [3, 4, 5, 6]).sum()


def test_teacher_tasks_are_balanced_and_depend_on_their_seed():
    for name in ("teacher:mlp", "teacher:linear", "teacher:mlp,seed=1,hidden=8,smooth=0"):
        ds = load_dataset(name)
        for y in (ds.y_train, ds.y_val):
            freq = np.bincount(y, minlength=10) / len(y)
            assert freq.min() >= 0.07 and freq.max() <= 0.13, (name, freq)
    a, b = load_dataset("teacher:mlp,n=1000"), load_dataset("teacher:mlp,n=1000,seed=1")
    assert not np.array_equal(a.x_train, b.x_train) and not np.array_equal(a.y_train, b.y_train)
    # the load seed only re-splits the same images
    c = load_dataset("teacher:mlp,n=1000", seed=5)
    key = lambda d: sorted(zip(map(bytes, np.concatenate([d.x_train, d.x_val, d.x_test])),  # noqa: E731
                               np.concatenate([d.y_train, d.y_val, d.y_test])))
    assert key(a) == key(c)


@pytest.mark.parametrize(
    "name,match",
    [
        ("digits:perm=-1", r"perm='-1'.*integer >= 0"),
        ("digits:bogus=1", r"unknown option 'bogus'"),
        ("teacher:mlp,n=abc", r"n='abc'.*integer"),
        ("digits:", r"no options"),
        ("digits:perm", r"malformed option 'perm'"),
        ("digits:perm=1,,noise=0.1", r"malformed option ''"),
        ("digits:perm=1,perm=2", r"'perm' given twice"),
        ("digits:noise=1", r"noise='1'"),
        ("digits:noise=nan", r"noise='nan'"),
        ("digits:noise=-0.1", r"noise='-0.1'"),
        ("digits:classes=5-2", r"classes='5-2'"),
        ("digits:classes=0-10", r"classes='0-10'"),
        ("digits:copies=2", r"copies= .*needs shift"),
        ("digits:shift=0", r"shift='0'"),
        ("digits:size=8", r"size='8'.*in \[12, 64\]"),
        ("digits:size=65", r"size='65'"),
        ("digits:val=0", r"val='0'"),
        ("teacher:cnn", r"unknown teacher 'cnn'"),
        ("teacher:", r"unknown teacher ''"),
        ("teacher:mlp,dim=8", r"dim='8'"),
        ("teacher:mlp,n=50", r"n='50'"),
        ("teacher:mlp,perm=1", r"unknown option 'perm'"),
        ("digit:perm=1", r"unknown dataset"),
    ],
)
def test_malformed_names_raise_with_the_problem_and_an_example(name, match):
    with pytest.raises(ValueError, match=match) as info:
        load_dataset(name)
    assert "e.g." in str(info.value)


def test_examples_in_messages_are_valid_and_fractions_are_given_once():
    assert load_dataset(DIGITS_EXAMPLE).num_classes == 10
    assert load_dataset(TEACHER_EXAMPLE).num_classes == 10
    with pytest.raises(ValueError, match="one place"):
        load_dataset("digits:val=0.3", val_fraction=0.2)
    assert len(load_dataset("digits:perm=1", val_fraction=0.3).x_val) == 431


def test_training_pool_loads_and_excludes_evaluation_datasets():
    assert check_training_pool() == TRAINING_POOL
    for name in TRAINING_POOL:
        assert not is_evaluation_dataset(name)
        ds = load_dataset(name)
        assert ds.input_shape == (8, 8, 1) and ds.num_classes == 10, name
        assert len(ds.x_val) >= 400, name
    for bad in ("mnist_5k", "tfds:fashion_mnist", "tfds:cifar10"):
        with pytest.raises(ValueError, match="out of the training pool"):
            check_training_pool(TRAINING_POOL + (bad,))
    with pytest.raises(ValueError, match="more than once"):
        check_training_pool(TRAINING_POOL[:1] * 2)
    assert pool_scenarios("mlp2")[0] == "mlp2-" + TRAINING_POOL[0]
