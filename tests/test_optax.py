"""mava_ganno.optimiser: a GANNO policy as an optax optimiser on any flax model."""

from __future__ import annotations

import json

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import serialization
from thirdparty_dist import TYPE_NAME, TYPE_SLOT, LoRADense, throwaway_layer_type_distribution

from mava_ganno.backend.trainer import TrainState
from mava_ganno.env import make_ganno
from mava_ganno.env.actions import DEFAULT_ACTION_TABLE
from mava_ganno.env.generator import InitialConditionsGenerator
from mava_ganno.env.observations import FEATURE_SETS, FEATURES
from mava_ganno.layers import UnknownLayerError
from mava_ganno.optimiser import (
    GannoState,
    current_lrs,
    ganno_adamw,
    is_decision_step,
    layer_names,
    lr_trajectory,
)
from mava_ganno.policy import NetworkConfig, init_policy

TAU, DECISIONS = 5, 4
FULL = FEATURE_SETS["full"]
ROBUST = FEATURE_SETS["robust"]


def _column(name: str) -> int:
    """First agents_view column of a feature (full feature set, default action table)."""
    return sum(FEATURES[n].width(len(DEFAULT_ACTION_TABLE)) for n in FULL[: FULL.index(name)])


def _decisive_policy(features):
    """A random policy made decisive (large logits), so its actions differ between agents and
    steps and a tiny numerical difference in the observations cannot flip a near-tie."""
    pol = init_policy(jax.random.PRNGKey(3), features, DEFAULT_ACTION_TABLE, 0.1, NetworkConfig((32,), (32,), 16))
    params = jax.tree_util.tree_map(lambda x: x, pol.params)
    head = params["params"]["action_head"]["Dense_0"]
    head["kernel"] = head["kernel"] * 300.0
    return pol.replace(params=params)


@pytest.fixture(scope="module")
def policy():
    return _decisive_policy(FULL)


class TinyNet(nn.Module):
    """A user model: conv, LayerNorm, dense; auto-named modules."""

    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Conv(4, (3, 3), strides=(2, 2))(x)).reshape(x.shape[0], -1)
        x = nn.LayerNorm()(x)
        return nn.Dense(10)(x)


def _data(n=64):
    kx, ky = jax.random.split(jax.random.PRNGKey(7))
    return jax.random.normal(kx, (n, 8, 8, 1)), jax.random.randint(ky, (n,), 0, 10)


def _loss_fn(model):
    def loss_fn(params, x, y):
        logits = model.apply({"params": params}, x)
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
        return loss, jnp.mean(jnp.argmax(logits, -1) == y)

    return loss_fn


def _train_step(model, tx, **fixed):
    loss_fn = _loss_fn(model)

    def step(params, opt_state, batch):
        x, y = batch
        (loss, acc), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, x, y)
        updates, opt_state = tx.update(grads, opt_state, params, loss=loss, accuracy=acc, **fixed)
        return optax.apply_updates(params, updates), opt_state

    return step


def _batches(steps, bs=16):
    x, y = _data()
    idx = jax.random.randint(jax.random.PRNGKey(11), (steps, bs), 0, x.shape[0])
    return x[idx], y[idx]


# ----------------------------------------------------------------------------- equivalence
def _eval_env(features="full", lr_decay="none"):
    """Evaluation mode, measuring the layer statistics on the first minibatch of the next tau
    steps (what the optimiser sees) instead of a fresh one."""
    env = make_ganno(
        InitialConditionsGenerator(lr=2e-3, weight_decay=0.05),
        network="mlp2",
        dataset="digits",
        tau=TAU,
        sl_steps=TAU * DECISIONS,
        hidden=16,
        difference_reward=False,
        measure_batch="next",
        features=features,
        lr_decay=lr_decay,
    )
    return env, jax.jit(env.reset), jax.jit(env.step)


@pytest.fixture(scope="module")
def eval_env():
    return _eval_env()


@pytest.mark.parametrize("greedy", [False])
def test_reproduces_env_evaluation_trajectory(eval_env, policy, greedy):
    _reproduce_env_trajectory(eval_env, policy, greedy)


def test_reproduces_env_trajectory_with_a_cosine_lr_decay(policy):
    """lr_decay="cosine": before each action every LR takes one step of a cosine decay, in the
    env and in ganno_adamw alike (same observations, actions, LRs and parameters); ganno_adamw
    takes the decay from the policy's metadata, as for a policy trained with it."""
    trained_with_decay = policy.replace(metadata_json=json.dumps({"lr_decay": "cosine"}))
    _reproduce_env_trajectory(_eval_env(lr_decay="cosine"), trained_with_decay, False)
    with pytest.raises(ValueError, match="lr_decay='linear' is not known"):
        ganno_adamw(policy, total_steps=20, lr_decay="linear")


@pytest.mark.parametrize("lr_decay", ["cosine_step", "wsd_step"])
def test_reproduces_env_trajectory_with_a_per_step_lr_decay(policy, lr_decay):
    """lr_decay="cosine_step" / "wsd_step": within each decision the LRs follow the decay (a
    cosine; WSD's stable and decay phases, here within the last decision) at every SGD step, in
    the env and in ganno_adamw alike (same observations, actions, LRs and parameters)."""
    trained_with_decay = policy.replace(metadata_json=json.dumps({"lr_decay": lr_decay}))
    _reproduce_env_trajectory(_eval_env(lr_decay=lr_decay), trained_with_decay, False)


def test_robust_features_match_the_environment():
    """The ``robust`` set (chance-relative loss/accuracy, loss trend) is the same in the
    environment and the optimiser, decision by decision (num_classes given to the optimiser,
    the previous decision's train loss carried in GannoState)."""
    env_obs, metrics = _reproduce_env_trajectory(_eval_env("robust"), _decisive_policy(ROBUST), False, num_classes=10)
    width = sum(FEATURES[n].width(len(DEFAULT_ACTION_TABLE)) for n in FULL)
    new = dict(zip(ROBUST[len(FULL) :], np.moveaxis(env_obs[:, 0, width:], -1, 0)))
    loss = metrics["train_loss"]
    np.testing.assert_allclose(new["train_loss_vs_chance"], loss / np.log(10), rtol=1e-5)
    np.testing.assert_allclose(new["test_loss_vs_chance"], metrics["val_loss"] / np.log(10), rtol=1e-5)
    np.testing.assert_allclose(new["train_accuracy_above_chance"], (metrics["train_accuracy"] - 0.1) / 0.9, atol=1e-6)
    np.testing.assert_allclose(new["test_accuracy_above_chance"], (metrics["val_accuracy"] - 0.1) / 0.9, atol=1e-6)
    trend = new["train_loss_trend"]
    assert trend[0] == 0.0 and np.all(trend[1:] != 0.0)  # 0 at the first decision, then it moves
    np.testing.assert_allclose(trend[1:], np.log(loss[1:] / loss[:-1]), rtol=1e-4, atol=1e-6)


def _reproduce_env_trajectory(eval_env, policy, greedy, num_classes=None):
    """Drives the env with the policy, then ganno_adamw on the same network, init, minibatch
    order and hold-out split; asserts both see the same observations and take the same
    actions. Returns the env's observations, (DECISIONS, N, F), and the global metrics
    (``extras``) each observation was computed from, each (DECISIONS,)."""
    env, reset, step = eval_env
    trainer, n = env.trainer, env.num_agents
    seed_key = jax.random.PRNGKey(5)
    k_policy = jax.random.fold_in(seed_key, 1)  # mava_ganno.evaluation.harness's policy key chain

    # --- the environment, driven by the policy (as mava_ganno.evaluation.harness does)
    state, ts = reset(seed_key)
    params0, env_keys = state.train_state.params, []
    hidden, key = policy.init_hidden(n), k_policy
    env_obs, env_actions, env_lrs = [], [], []
    metrics = {k: [] for k in ("train_loss", "val_loss", "train_accuracy", "val_accuracy")}
    act = jax.jit(policy.act, static_argnums=5)
    for t in range(env.time_limit):
        key, k_act = jax.random.split(key)
        hidden, actions, _ = act(hidden, ts.observation.agents_view, ts.observation.action_mask, jnp.full((n,), t == 0), k_act, greedy)
        env_obs.append(np.asarray(ts.observation.agents_view))
        for k, v in metrics.items():
            v.append(float(ts.extras[k]))
        env_actions.append(np.asarray(actions))
        env_keys.append(state.key)
        state, ts = step(state, actions)
        env_lrs.append(np.asarray(ts.extras["layer_lrs"]))
        assert not bool(ts.extras["diverged"])

    # --- the optimiser on the same network, init, minibatch order and hold-out split
    tx = ganno_adamw(
        policy, total_steps=env.sl_steps, tau=TAU, weight_decay=0.05, initial_lr=2e-3, greedy=greedy, seed=k_policy,
        num_classes=num_classes,
    )  # fmt: skip

    @jax.jit
    def sgd(params, opt_state, idx):
        x, y = trainer.minibatch(idx)
        (loss, (acc, _)), grads = jax.value_and_grad(trainer._loss, has_aux=True)(params, {}, x, y)
        val_loss, val_acc = trainer.evaluate(TrainState(params, {}, None), "val")
        updates, opt_state = tx.update(
            grads, opt_state, params, loss=loss, accuracy=acc, val_loss=val_loss, val_accuracy=val_acc
        )
        return optax.apply_updates(params, updates), opt_state

    params, opt_state = params0, tx.init(params0)
    for t in range(env.time_limit):
        _, k_train, _ = jax.random.split(env_keys[t], 3)  # Ganno.step's key split
        for j, idx in enumerate(trainer.batch_indices(k_train, TAU)):
            params, opt_state = sgd(params, opt_state, idx)
            if j == 0:
                np.testing.assert_allclose(opt_state.last_obs, env_obs[t], rtol=1e-5, atol=1e-5)
                np.testing.assert_array_equal(opt_state.action_history[t], env_actions[t])

    traj = lr_trajectory(opt_state)
    np.testing.assert_array_equal(traj["steps"], np.arange(DECISIONS) * TAU)
    np.testing.assert_array_equal(traj["actions"], np.stack(env_actions))
    np.testing.assert_allclose(traj["lrs"], np.stack(env_lrs), rtol=1e-6)
    chex_close = lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)  # noqa: E731
    jax.tree_util.tree_map(chex_close, params, state.train_state.params)
    # the trajectory is not trivial: the policy changes its actions, and the LRs move
    assert len(np.unique(np.stack(env_actions))) >= 2
    assert len(np.unique(np.stack(env_lrs))) >= 3
    return np.stack(env_obs), {k: np.asarray(v) for k, v in metrics.items()}


# ----------------------------------------------------------------------------- jit, scan, checkpoint
CHUNK = TAU + 2  # steps per scanned chunk: two decisions, and steps in between


@pytest.fixture(scope="module")
def tiny_setup(policy):
    """A user model, the optimiser, and a jitted lax.scan over CHUNK training steps (compiled
    once, shared by the tests below)."""
    model = TinyNet()
    params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 1)))["params"]
    tx = ganno_adamw(policy, total_steps=3 * TAU, tau=TAU, weight_decay=1e-3, initial_lr=3e-3, greedy=False, seed=1)
    step = _train_step(model, tx)

    @jax.jit
    def run_chunk(params, opt_state, xs, ys):
        def body(carry, batch):
            return step(*carry, batch), None

        return jax.lax.scan(body, (params, opt_state), (xs, ys))[0]

    return model, params, tx, run_chunk


def test_robust_input_features_match_the_environment():
    """``robust_input``: the first layer's weight variance, shown to every agent, is the same in
    the environment and the optimiser, decision by decision, and moves as the first layer trains."""
    names = FEATURE_SETS["robust_input"]
    env_obs, _ = _reproduce_env_trajectory(_eval_env("robust_input"), _decisive_policy(names), False, num_classes=10)
    var_col = sum(FEATURES[n].width(len(DEFAULT_ACTION_TABLE)) for n in names[: names.index("weight_var")])
    shown = env_obs[:, :, -1]
    np.testing.assert_array_equal(shown, np.broadcast_to(env_obs[:, :1, var_col], shown.shape))
    assert len(np.unique(shown[:, 0])) > 1 and len(np.unique(env_obs[0, :, var_col])) > 1


def test_jitted_scan_and_eager_loop_agree(tiny_setup):
    model, params, tx, run_chunk = tiny_setup
    xs, ys = _batches(CHUNK)
    grad_fn = jax.jit(jax.value_and_grad(_loss_fn(model), has_aux=True))

    p_eager, s_eager = params, tx.init(params)
    for i in range(CHUNK):
        (loss, acc), grads = grad_fn(p_eager, xs[i], ys[i])
        with jax.disable_jit():  # the optimiser uncompiled: lax.cond, the policy, Adam op by op
            updates, s_eager = tx.update(grads, s_eager, p_eager, loss=loss, accuracy=acc)
            p_eager = optax.apply_updates(p_eager, updates)

    p_scan, s_scan = run_chunk(params, tx.init(params), xs, ys)
    close = lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # noqa: E731
    jax.tree_util.tree_map(close, p_eager, p_scan)
    jax.tree_util.tree_map(close, s_eager, s_scan)
    assert int(s_scan.count) == CHUNK
    traj = lr_trajectory(s_scan)
    assert traj["lrs"].shape == (2, 2) and np.all(np.isfinite(traj["lrs"]))
    assert np.all(traj["actions"] >= 0)
    # the LRs the policy chose are the ones in use
    np.testing.assert_array_equal(current_lrs(s_scan), traj["lrs"][-1])
    assert layer_names({"params": params}) == ("Conv_0", "Dense_0")


def test_state_round_trips_through_a_checkpoint(tiny_setup, tmp_path):
    model, params, tx, run_chunk = tiny_setup
    xs, ys = _batches(2 * CHUNK)
    first, second = (xs[:CHUNK], ys[:CHUNK]), (xs[CHUNK:], ys[CHUNK:])
    p, s = run_chunk(params, tx.init(params), *first)
    path = tmp_path / "ckpt.msgpack"
    path.write_bytes(serialization.to_bytes({"params": p, "opt_state": s}))
    restored = serialization.from_bytes({"params": params, "opt_state": tx.init(params)}, path.read_bytes())
    assert isinstance(restored["opt_state"], GannoState)
    jax.tree_util.tree_map(np.testing.assert_array_equal, restored["opt_state"], s)
    # resuming from the checkpoint gives exactly the uninterrupted run
    p, s = run_chunk(p, s, *second)
    p2, s2 = run_chunk(restored["params"], restored["opt_state"], *second)
    jax.tree_util.tree_map(np.testing.assert_array_equal, (p, s), (p2, s2))
    assert int(s2.count) == 2 * CHUNK and lr_trajectory(s2)["lrs"].shape == (3, 2)


def test_the_state_is_found_inside_any_wrapper(policy):
    """``lr_trajectory``/``current_lrs`` find the GannoState in a chain, a multi_transform's dict
    or a user's own container (optax.tree_utils), and say so when there is none or two."""
    model = TinyNet()
    params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 1)))["params"]
    tx = ganno_adamw(policy, total_steps=2 * TAU, tau=TAU, initial_lr=2e-3)
    s = tx.init(params)
    chained = optax.chain(optax.clip_by_global_norm(1.0), tx).init(params)
    for wrapped in (chained, {"outer": (optax.EmptyState(), s)}, [s]):
        np.testing.assert_array_equal(current_lrs(wrapped), np.full(s.lrs.shape, 2e-3, np.float32))
        assert lr_trajectory(wrapped)["lrs"].shape == (0, s.lrs.shape[0])
    with pytest.raises(ValueError, match="no GannoState"):
        current_lrs(optax.adam(1e-3).init(params))
    with pytest.raises(ValueError, match="more than one GannoState"):
        current_lrs((s, s))


# ----------------------------------------------------------------------------- metrics
def test_loss_only_and_chained_with_other_transforms(policy):
    model = TinyNet()
    params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 1)))["params"]
    tx = optax.chain(
        optax.clip_by_global_norm(1.0),
        ganno_adamw(policy, total_steps=2 * TAU, tau=TAU, weight_decay=1e-3, initial_lr=1e-3),
    )
    loss_fn = _loss_fn(model)
    xs, ys = _batches(TAU + 1)

    @jax.jit
    def step(params, opt_state, x, y):
        (loss, _), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, x, y)
        updates, opt_state = tx.update(grads, opt_state, params, value=loss)  # optax's name
        return optax.apply_updates(params, updates), opt_state, loss

    s = tx.init(params)
    losses = []
    for i in range(TAU + 1):
        assert bool(is_decision_step(s)) == (i % TAU == 0)
        params, s, loss = step(params, s, xs[i], ys[i])
        losses.append(float(loss))
    obs = np.asarray(s[1].last_obs)  # the decision at step TAU saw the window of steps 0..TAU-1
    mean_loss = np.mean(losses[:TAU])
    np.testing.assert_allclose(obs[:, _column("train_loss")], np.log10(mean_loss), rtol=1e-5)
    np.testing.assert_allclose(obs[:, _column("test_loss")], np.log10(mean_loss), rtol=1e-5)
    np.testing.assert_allclose(obs[:, _column("loss_ratio")], 0.0, atol=1e-6)
    proxy = np.mean(np.exp(-np.asarray(losses[:TAU], np.float32)))
    np.testing.assert_allclose(obs[:, _column("train_accuracy")], proxy, rtol=1e-5)
    np.testing.assert_allclose(obs[:, _column("training_progress")], 0.5)
    assert lr_trajectory(s)["lrs"].shape == (2, 2)


def test_clear_errors(policy):
    params = nn.Dense(3).init(jax.random.PRNGKey(0), jnp.zeros((1, 2)))["params"]
    tx = ganno_adamw(policy, total_steps=10, tau=TAU)
    s = tx.init(params)
    grads = jax.tree_util.tree_map(jnp.ones_like, params)
    with pytest.raises(ValueError, match="needs the minibatch loss"):
        tx.update(grads, s, params)
    with pytest.raises(ValueError, match="needs params"):
        tx.update(grads, s, loss=1.0)
    with pytest.raises(ValueError, match="total_steps must be an integer >= tau=5"):
        ganno_adamw(policy, total_steps=3, tau=TAU)
    with pytest.raises(ValueError, match="initial_lr"):
        ganno_adamw(policy, total_steps=10, tau=TAU, initial_lr=1.0)
    robust = _decisive_policy(ROBUST)
    with pytest.raises(ValueError, match=r"observes \['train_loss_vs_chance'.*pass ganno_adamw\(policy, \.\.\., num_classes=C\)"):
        ganno_adamw(robust, total_steps=10, tau=TAU)
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2, got 1"):
        ganno_adamw(robust, total_steps=10, tau=TAU, num_classes=1)
    assert ganno_adamw(robust, total_steps=10, tau=TAU, num_classes=10).init(params).prev_train_loss.shape == ()
    with pytest.raises(ValueError, match="measure_batch must be 'fresh' or 'next', got 'last'"):
        make_ganno(network="mlp2", tau=TAU, sl_steps=10, measure_batch="last")

    # tau defaults to the policy's training tau
    assert ganno_adamw(policy.replace(metadata_json='{"env": {"tau": 7}}'), 14).init(params).loss_window.shape == (7,)

    class Loose(nn.Module):
        @nn.compact
        def __call__(self, x):
            return nn.Dense(3, name="head")(x) * self.param("temperature", nn.initializers.ones, ())

    loose = Loose().init(jax.random.PRNGKey(0), jnp.zeros((1, 2)))
    with pytest.raises(UnknownLayerError, match=r"unknown parameter kind at <root> \(leaves: temperature\(\)\)"):
        tx.init(loose)


def test_single_agent_policy_sets_one_lr_for_all_layers():
    pol = init_policy(
        jax.random.PRNGKey(0), FEATURE_SETS["single_agent"], DEFAULT_ACTION_TABLE, 0.1, NetworkConfig((8,), (8,), 8)
    )
    model = nn.Sequential([lambda x: x.reshape(x.shape[0], -1), nn.Dense(8), nn.relu, nn.Dense(10)])
    params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 1)))["params"]
    tx = ganno_adamw(pol, total_steps=2 * TAU, tau=TAU, weight_decay=0.0, initial_lr=1e-2)
    step = jax.jit(_train_step(model, tx))
    xs, ys = _batches(TAU + 1)
    p, s = params, tx.init(params)
    for i in range(TAU + 1):
        p, s = step(p, s, (xs[i], ys[i]))
    assert s.lrs.shape == (1,) and s.last_obs.shape == (1, 9 + 2 + 9)
    assert lr_trajectory(s)["lrs"].shape == (2, 1)
    # one LR drives both layers: a (non-decision) step moves every layer by -lr * Adam direction
    p2, s2 = step(p, s, (xs[0], ys[0]))
    lr, adam = float(s2.lrs[0]), s2.inner[0][0]
    t = int(adam.count)
    for name in ("layers_1", "layers_3"):
        for leaf in ("kernel", "bias"):
            m_hat = np.asarray(adam.mu[name][leaf]) / (1 - 0.9**t)
            v_hat = np.asarray(adam.nu[name][leaf]) / (1 - 0.999**t)
            expected = np.asarray(p[name][leaf]) - lr * m_hat / (np.sqrt(v_hat) + 1e-8)
            np.testing.assert_allclose(p2[name][leaf], expected, rtol=1e-5, atol=1e-7)


# ----------------------------------------------------------------------------- third-party layers
class AdapterNet(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = x.reshape(x.shape[0], -1)
        x = nn.relu(nn.Dense(16, name="layer_0")(x))
        x = nn.relu(LoRADense(16, a_std=0.1, b_std=0.1, name="layer_1")(x))
        return nn.Dense(10, name="layer_2")(x)


class FreezeSlot:
    """A scripted policy (the minimal protocol, no GannoPolicy): agents whose layer-type
    one-hot is ``slot`` take ``-0.001`` (their LR drops to 0 from 1e-3), the others the no-op."""

    feature_names = FULL
    action_table = DEFAULT_ACTION_TABLE
    lr_max = 0.1

    def __init__(self, slot):
        self.slot = slot

    def init_hidden(self, num_agents):
        return jnp.zeros((num_agents, 1))

    def act(self, hidden, agents_view, action_mask, reset, key, greedy=True):
        hot = agents_view[:, _column("layer_type") + self.slot] > 0.5
        actions = jnp.where(hot, DEFAULT_ACTION_TABLE.index("-0.001"), 0).astype(jnp.int32)
        return hidden, actions, jax.nn.one_hot(actions, len(DEFAULT_ACTION_TABLE))


def test_third_party_layer_type_from_entry_points_is_scheduled(tmp_path):
    model = AdapterNet()
    params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 1)))["params"]
    with pytest.raises(UnknownLayerError, match="layer_1"):
        layer_names(params)  # not registered yet: reported, not guessed
    with throwaway_layer_type_distribution(tmp_path / "site"):
        assert layer_names(params) == ("layer_0", "layer_1", "layer_2")
        tx = ganno_adamw(FreezeSlot(TYPE_SLOT), total_steps=2 * TAU, tau=TAU, weight_decay=1e-2, initial_lr=1e-3)
        step = jax.jit(_train_step(model, tx))
        xs, ys = _batches(2 * TAU)
        p, s = params, tx.init(params)
        for i in range(2 * TAU):
            p, s = step(p, s, (xs[i], ys[i]))
    onehot = np.asarray(s.last_obs[:, _column("layer_type") : _column("layer_type") + 8])
    assert onehot.argmax(1).tolist() == [0, TYPE_SLOT, 0]
    np.testing.assert_array_equal(lr_trajectory(s)["lrs"], np.float32([[1e-3, 0.0, 1e-3]] * 2))
    # the lora layer (kernel and both low-rank factors) is frozen; the others train
    for name in ("kernel", "lora_a", "lora_b"):
        np.testing.assert_array_equal(p["layer_1"][name], params["layer_1"][name])
    assert np.abs(p["layer_0"]["kernel"] - params["layer_0"]["kernel"]).max() > 0
    assert np.abs(p["layer_2"]["kernel"] - params["layer_2"]["kernel"]).max() > 0
    assert TYPE_NAME == "lora"
