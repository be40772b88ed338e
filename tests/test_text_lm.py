"""The byte-level language-model task: the fortunes corpus reader and dataset, the ``lm<n>``
network, and training it through SLTrainer, the environment and ``ganno_adamw``."""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mava_ganno.backend.datasets import load_dataset
from mava_ganno.backend.networks import make_network
from mava_ganno.backend.text import FORTUNES_DIR, load_corpus, split_corpus
from mava_ganno.backend.trainer import SLTrainer, TrainState
from mava_ganno.env import make_ganno
from mava_ganno.env.generator import InitialConditionsGenerator
from mava_ganno.layers import EMBEDDING, find_layer_agents, layer_names

SEQ, WIDTH, HIDDEN = 16, 4, 16
NAME = f"fortunes:seq={SEQ}"
LM2_TYPES = ["embedding", "embedding"] + ["attention", "linear", "linear"] * 2 + ["linear"]

_QUOTES = [
    "A journey of a thousand miles begins with a single step.",
    "The early bird catches the worm, but the second mouse gets the cheese.",
    "To be or not to be, that is the question.",
    "All that glitters is not gold.",
    "Time flies like an arrow; fruit flies like a banana.",
    "A penny saved is a penny earned.",
    "Where there is a will, there is a way.",
]


def _fortune_file(seed: int, n: int) -> bytes:
    rng = np.random.default_rng(seed)
    return "".join(f"{_QUOTES[i]}\n%\n" for i in rng.integers(0, len(_QUOTES), n)).encode()


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    """Two fortune files (~6 KB), plus what the reader must skip: a ``.dat`` index, a ``.u8``
    symlink and an ``off/`` subfolder."""
    d = tmp_path_factory.mktemp("fortunes")
    (d / "wisdom").write_bytes(_fortune_file(0, 60))
    (d / "people").write_bytes(_fortune_file(1, 60))
    (d / "people.dat").write_bytes(bytes(range(256)) * 4)
    os.symlink("people", d / "people.u8")
    (d / "off").mkdir()
    (d / "off" / "rude").write_bytes(b"SKIPPED OFFENSIVE TEXT\n%\n")
    return str(d)


@pytest.fixture(scope="module")
def dataset(corpus_dir):
    return load_dataset(NAME, data_dir=corpus_dir)


def _lm2():
    return make_network("lm2", 256, hidden=HIDDEN, width=WIDTH)


# ------------------------------------------------------------------ corpus and dataset
def test_reader_concatenates_text_files_in_name_order_and_skips_the_rest(corpus_dir):
    corpus = load_corpus(corpus_dir)
    expected = _fortune_file(1, 60) + _fortune_file(0, 60)  # "people" < "wisdom"
    assert corpus == expected
    assert b"SKIPPED" not in corpus and bytes(range(256)) not in corpus


@pytest.mark.parametrize("case", ["missing", "empty", "only_skipped"])
def test_missing_corpus_is_one_clear_error_naming_the_folder_and_package(tmp_path, case):
    folder = tmp_path / "fortunes"
    if case != "missing":
        folder.mkdir()
    if case == "only_skipped":
        (folder / "x.dat").write_bytes(b"\0\0")
        (folder / "off").mkdir()
        (folder / "off" / "y").write_text("hidden")
        os.symlink("x.dat", folder / "x.u8")
    with pytest.raises(FileNotFoundError, match="apt-get install fortunes") as e:
        load_corpus(str(folder))
    assert str(folder) in str(e.value) and "data_dir" in str(e.value)
    with pytest.raises(FileNotFoundError, match="apt-get install fortunes"):
        load_dataset(NAME, data_dir=str(folder))


def test_windows_are_next_byte_targets_from_disjoint_contiguous_blocks(corpus_dir, dataset):
    corpus = load_corpus(corpus_dir)
    assert dataset.kind == "tokens" and dataset.num_classes == 256 and dataset.input_shape == (SEQ,)
    blocks = split_corpus(corpus, 0.1, 0.1)
    assert b"".join(blocks) == corpus and len(blocks[2]) == round(0.1 * len(corpus))
    start = 0
    for (x, y), block in zip(
        [(dataset.x_train, dataset.y_train), (dataset.x_val, dataset.y_val), (dataset.x_test, dataset.y_test)],
        blocks,
    ):
        assert x.dtype == np.uint8 and y.dtype == np.int32 and x.shape == y.shape
        n = (len(block) - 1) // SEQ
        assert x.shape == (n, SEQ) and n > 0
        data = np.frombuffer(corpus, np.uint8)
        # non-overlapping windows of this block, in corpus order; targets shifted by one byte
        np.testing.assert_array_equal(x.ravel(), data[start : start + n * SEQ])
        np.testing.assert_array_equal(y.ravel(), data[start + 1 : start + n * SEQ + 1])
        np.testing.assert_array_equal(y[:, :-1], x[:, 1:])
        assert start + n * SEQ + 1 <= start + len(block)  # no target byte from the next block
        start += len(block)
    # deterministic and independent of the seed; normalise gives int32 tokens
    other = load_dataset(NAME, seed=3, data_dir=corpus_dir)
    np.testing.assert_array_equal(other.x_train, dataset.x_train)
    tokens = dataset.normalise(jnp.asarray(dataset.x_val[:2]))
    assert tokens.dtype == jnp.int32
    np.testing.assert_array_equal(tokens, dataset.x_val[:2])


@pytest.mark.parametrize(
    "name, match",
    [
        ("fortunes:", r"e\.g\. 'fortunes:seq=64'"),
        ("fortunes:seq=1", r"seq='1'.*\[2, 4096\]"),
        ("fortunes:len=8", r"unknown option 'len'"),
        ("fortunes:seq=8,seq=9", r"given twice"),
        ("fortunes:seq=4096", r"shorter than one window"),
    ],
)
def test_bad_names_are_clear_errors(corpus_dir, name, match):
    with pytest.raises(ValueError, match=match):
        load_dataset(name, data_dir=corpus_dir)


# ------------------------------------------------------------------ the network
def test_lm2_agents_and_layer_types(dataset):
    params = _lm2().module.init(jax.random.PRNGKey(0), jnp.zeros((1, SEQ), jnp.float32))["params"]
    agents = find_layer_agents(params)
    assert [a.layer_type for a in agents.agents] == LM2_TYPES
    assert agents.type_slots.tolist()[:2] == [EMBEDDING.slot] * 2 == [3, 3]
    assert layer_names(params)[:3] == ("layer_00", "layer_01", "layer_02/attention")
    assert params["layer_00"]["embedding"].shape == (256, 2 * WIDTH)
    assert params["layer_01"]["embedding"].shape == (SEQ, 2 * WIDTH)
    # each LayerNorm follows the agent of the layer it feeds
    assert agents.agent_index["layer_02"]["norm"] == {"scale": 2, "bias": 2}
    assert agents.agent_index["layer_08"]["norm"] == {"scale": 8, "bias": 8}
    # the trainer finds the same agents; an image network on tokens is a clear error
    assert [a.layer_type for a in SLTrainer(_lm2(), dataset, 8, 5).agents.agents] == LM2_TYPES
    with pytest.raises(ValueError, match="'mlp2' does not fit dataset .*'lm' / 'lm<n>'"):
        SLTrainer(make_network("mlp2", 256), dataset, 8, 5)


def test_lm_is_causal():
    module = _lm2().module
    params = module.init(jax.random.PRNGKey(0), jnp.zeros((1, SEQ), jnp.float32))
    x = jax.random.randint(jax.random.PRNGKey(1), (2, SEQ), 0, 256)
    k = 9
    x2 = x.at[:, k].set((x[:, k] + 1) % 256)
    a, b = module.apply(params, x), module.apply(params, x2)
    assert a.shape == (2, SEQ, 256)
    np.testing.assert_array_equal(a[:, :k], b[:, :k])
    assert np.all(np.abs(np.asarray(a[:, k:] - b[:, k:])).max(axis=(0, 2)) > 1e-6)


def test_sltrainer_trains_the_lm_and_evaluates_per_token(dataset):
    trainer = SLTrainer(_lm2(), dataset, 16, 5, eval_batch_size=7)  # 7: padded last chunk
    ts = trainer.init(jax.random.PRNGKey(0))
    # evaluate = the mean per-token cross-entropy and accuracy over the whole split
    logits = trainer.network.module.apply({"params": ts.params}, jnp.asarray(dataset.x_val, jnp.int32))
    y = jnp.asarray(dataset.y_val)
    val_loss, val_acc = trainer.evaluate(ts, "val")
    np.testing.assert_allclose(val_loss, optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), rtol=1e-5)
    np.testing.assert_allclose(val_acc, jnp.mean(jnp.argmax(logits, -1) == y), rtol=1e-5)

    tx = optax.adamw(1e-2, weight_decay=1e-4)
    run = jax.jit(lambda ts, idx: trainer.train_with(tx, ts, idx))
    ts, losses, accs = run(TrainState(ts.params, ts.batch_stats, tx.init(ts.params)),
                           trainer.batch_indices(jax.random.PRNGKey(1), 300))  # fmt: skip
    after_loss, after_acc = trainer.evaluate(ts, "val")
    assert np.isfinite(losses).all() and losses.shape == (300,)
    assert float(after_loss) < 0.6 * float(val_loss), (float(val_loss), float(after_loss))
    assert float(after_acc) > float(val_acc) + 0.2


# ------------------------------------------------------------------ environment and optimiser
def test_ganno_with_an_lm_resets_and_steps_under_jit(corpus_dir):
    from mava_ganno.evaluation.records import make_scenario

    sc = make_scenario("lm2-fortunes")
    assert (sc.network, sc.dataset) == ("lm2", "fortunes")
    env = make_ganno(
        InitialConditionsGenerator(lr=1e-2, weight_decay=1e-4), network="lm2", dataset=NAME,
        data_dir=corpus_dir, tau=5, sl_steps=10, batch_size=8, hidden=HIDDEN, width=WIDTH,
    )  # fmt: skip
    assert env.num_agents == 9 and env.layout.type_slots.tolist()[:2] == [3, 3]
    state, ts = jax.jit(env.reset)(jax.random.PRNGKey(0))
    assert ts.observation.agents_view.shape == (9, env.obs_dim)
    step = jax.jit(env.step)
    for i in range(2):
        state, ts = step(state, jnp.zeros(env.num_agents, jnp.int32))
        assert np.isfinite(ts.observation.agents_view).all() and np.isfinite(ts.reward).all()
        assert int(state.step_count) == i + 1 and not bool(ts.extras["diverged"])
    assert bool(ts.last())
    assert 0.0 < float(ts.extras["val_loss"]) < np.log(256) + 1.0


def test_ganno_adamw_schedules_an_lm(dataset):
    from mava_ganno.optimiser import current_lrs, ganno_adamw, lr_trajectory

    module = _lm2().module
    params = module.init(jax.random.PRNGKey(0), jnp.zeros((1, SEQ), jnp.float32))["params"]
    tau = 4
    tx = ganno_adamw(total_steps=3 * tau, tau=tau, num_classes=256, weight_decay=1e-4, initial_lr=1e-3)

    @jax.jit
    def step(p, s, x, y):
        def loss_fn(p):
            logits = module.apply({"params": p}, x)
            loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
            return loss, jnp.mean(jnp.argmax(logits, -1) == y)

        (loss, acc), g = jax.value_and_grad(loss_fn, has_aux=True)(p)
        u, s = tx.update(g, s, p, loss=loss, accuracy=acc)
        return optax.apply_updates(p, u), s

    p, s = params, tx.init(params)
    for i in range(3 * tau):
        sl = slice(8 * i, 8 * i + 8)
        p, s = step(p, s, jnp.asarray(dataset.x_train[sl], jnp.int32), jnp.asarray(dataset.y_train[sl]))
    lrs = np.asarray(current_lrs(s))
    assert lrs.shape == (9,) and np.isfinite(lrs).all() and (lrs >= 0).all()
    assert lr_trajectory(s)["lrs"].shape == (3, 9)
    assert np.isfinite(np.asarray(s.last_obs)).all()
    assert np.abs(p["layer_00"]["embedding"] - params["layer_00"]["embedding"]).max() > 0


# ------------------------------------------------------------------ the real corpus
def test_real_fortunes_corpus():
    if not os.path.isdir(FORTUNES_DIR):
        pytest.skip(f"{FORTUNES_DIR} is absent (apt-get install fortunes)")
    ds = load_dataset("fortunes")
    n = len(load_corpus())
    assert n > 500_000
    assert ds.x_train.shape[1:] == (64,) and ds.x_train.dtype == np.uint8
    total = sum(len(x) for x in (ds.x_train, ds.x_val, ds.x_test))
    assert abs(total - n // 64) <= 3
    assert abs(len(ds.x_test) - n // 640) <= 2


def test_split_fractions_in_the_name(corpus_dir):
    corpus = load_corpus(corpus_dir)
    ds = load_dataset(f"fortunes:seq={SEQ},val=0.2,test=0.05", data_dir=corpus_dir)
    blocks = split_corpus(corpus, 0.2, 0.05)
    assert [len(ds.x_train), len(ds.x_val), len(ds.x_test)] == [(len(b) - 1) // SEQ for b in blocks]
    with pytest.raises(ValueError, match=r"val='0.6'.*\(0.0, 0.5\)"):
        load_dataset(f"fortunes:seq={SEQ},val=0.6", data_dir=corpus_dir)
    with pytest.raises(ValueError, match="set it in one place"):
        load_dataset(f"fortunes:seq={SEQ},test=0.1", data_dir=corpus_dir, test_fraction=0.1)
    with pytest.raises(FileNotFoundError, match="apt-get install fortunes"):  # MissingDataError
        load_dataset(f"fortunes:seq={SEQ},val=0.1", data_dir=corpus_dir + "-absent")


# ------------------------------------------------------------------ babble: synthetic text for the pool
def test_babble_is_english_like_text_drawn_from_its_seed_only():
    from mava_ganno.backend.text import babble_corpus

    text = babble_corpus(1, 500, 50_000)
    assert len(text) == 50_000 and babble_corpus(1, 500, 50_000) == text and babble_corpus(2, 500, 50_000) != text
    assert set(text) <= set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,\n")
    words = text.replace(b".", b" ").replace(b",", b" ").split()
    lexicon = {w.lower() for w in words}
    assert len(lexicon) <= 500 and 3.5 < np.mean([len(w) for w in words]) < 6.0
    # sentences: a capital after every '. ' and never inside one; letters at English frequencies
    assert all(s[:1].isupper() for s in text.replace(b".\n", b". ").split(b". ")[1:-1])
    assert all(w[1:].islower() for w in words if len(w) > 1)
    letters = np.frombuffer(text.lower(), np.uint8)
    counts = np.bincount(letters, minlength=256)
    assert counts[ord("e")] > counts[ord("t")] > counts[ord("k")] > counts[ord("z")]
    # each word prefers its own successors: the next word is far more predictable than a unigram draw
    pairs = list(zip(words[:-1], words[1:]))
    from collections import Counter

    top = Counter(w.lower() for w in words).most_common(1)[0][0]
    after = Counter(b.lower() for a, b in pairs if a.lower() == top)
    assert after.most_common(8)[-1][1] > 3 * after.most_common(20)[-1][1]


def test_babble_dataset_splits_and_windows_like_fortunes():
    from mava_ganno.backend.task_pool import check_training_pool, is_evaluation_dataset
    from mava_ganno.backend.text import babble_corpus

    ds = load_dataset("babble:seed=3,words=300,n=20000,seq=32,val=0.1,test=0.1")
    corpus = babble_corpus(3, 300, 20_000)
    blocks = split_corpus(corpus, 0.1, 0.1)
    assert ds.kind == "tokens" and ds.num_classes == 256 and ds.input_shape == (32,)
    assert [len(ds.x_train), len(ds.x_val), len(ds.x_test)] == [(len(b) - 1) // 32 for b in blocks]
    np.testing.assert_array_equal(ds.x_train.ravel(), np.frombuffer(blocks[0], np.uint8)[: len(ds.x_train) * 32])
    np.testing.assert_array_equal(ds.y_val[:, :-1], ds.x_val[:, 1:])
    assert load_dataset("babble").x_train.shape == (int(0.8 * 1_000_000 - 1) // 64, 64)  # the defaults
    assert not is_evaluation_dataset("babble:seed=1") and check_training_pool(["babble:seed=1", "digits"])
    with pytest.raises(ValueError, match="set it in one place"):
        load_dataset("babble:val=0.1", val_fraction=0.1)


@pytest.mark.parametrize(
    "name, match",
    [
        ("babble:", r"e\.g\. 'babble:seed=1,words=2000'"),
        ("babble:words=5", r"words='5'.*\[10, 100000\]"),
        ("babble:n=10", r"n='10'"),
        ("babble:seed=-1", r"seed='-1'"),
        ("babble:size=3", r"unknown option 'size'"),
        ("babble:n=1000,seq=4096", r"shorter than one window.*n= of babble"),
    ],
)
def test_bad_babble_names_are_clear_errors(name, match):
    with pytest.raises(ValueError, match=match):
        load_dataset(name)
