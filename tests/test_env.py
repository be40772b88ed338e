"""The GANNO environment: API, semantics from the paper, determinism, vmap, divergence."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import jumanji
import numpy as np
import pytest
from jumanji.testing.env_not_smoke import check_env_does_not_smoke

try:  # Jumanji >= 1.0
    from jumanji.testing.env_not_smoke import check_env_specs_does_not_smoke
except ImportError:  # Mava's pinned Jumanji 0.3.1 fork has no spec smoke test
    check_env_specs_does_not_smoke = None
from conftest import TINY
from jumanji.types import StepType

from mava_ganno.env import Ganno, get_spec, make_ganno
from mava_ganno.env.generator import InitialConditionsGenerator
from mava_ganno.env.observations import CHANCE_FEATURES, FEATURE_SETS, feature_dim


def _rollout(c, key, actions):
    state, ts = c.reset(key)
    out = [(state, ts)]
    for a in actions:
        state, ts = c.step(state, a)
        out.append((state, ts))
    return out


def test_registered_and_attributes(tiny_train_env):
    env = jumanji.make("GANNO-v0", **TINY)
    assert isinstance(env, Ganno)
    assert env.num_agents == 3 and env.action_dim == 9
    assert env.time_limit == TINY["sl_steps"] // TINY["tau"] == 4
    obs_spec = get_spec(env, "observation")
    assert obs_spec.agents_view.shape == (3, feature_dim(FEATURE_SETS["full"], 9))
    assert get_spec(env, "action").shape == (3,)
    assert get_spec(env, "reward").shape == (3,)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(network="mlp2", dataset="digits"),
        dict(network="cnn2", dataset="digits", width=4),
        dict(network="mlp1", dataset="synthetic:8x8x3:256"),
    ],
    ids=lambda k: f"{k['network']}-{k['dataset']}",
)
def test_jumanji_smoke(kwargs):
    env = make_ganno(tau=2, sl_steps=4, hidden=8, batch_size=8, **kwargs)
    if check_env_specs_does_not_smoke is not None:
        check_env_specs_does_not_smoke(env)
    else:  # the same by hand: every spec generates a value and validates the env's outputs
        _, ts = jax.jit(env.reset)(jax.random.PRNGKey(0))
        for name, value in (("observation", ts.observation), ("reward", ts.reward), ("discount", ts.discount)):
            spec = get_spec(env, name)
            spec.validate(spec.generate_value())
            spec.validate(value)
        get_spec(env, "action").validate(get_spec(env, "action").generate_value())
    check_env_does_not_smoke(env)


def test_reset_shapes_and_initial_conditions(tiny_train_env):
    env = tiny_train_env.env
    state, ts = tiny_train_env.reset(jax.random.PRNGKey(3))
    assert ts.step_type == StepType.FIRST
    view = ts.observation.agents_view
    assert view.shape == (env.num_agents, env.obs_dim) and view.dtype == jnp.float32
    assert bool(jnp.all(jnp.isfinite(view)))
    assert ts.observation.action_mask.shape == (env.num_agents, env.action_dim)
    lr = float(state.global_stats.initial_lr)
    wd = float(state.global_stats.weight_decay)
    assert 1e-5 <= lr <= 1e-2 and 1e-5 <= wd <= 1e-1
    np.testing.assert_allclose(np.asarray(state.lrs), lr)


def test_all_noop_reward_is_exactly_zero(tiny_train_env):
    env = tiny_train_env.env
    noop = jnp.full((env.num_agents,), env.action_table.noop_index, jnp.int32)
    traj = _rollout(tiny_train_env, jax.random.PRNGKey(0), [noop] * env.time_limit)
    for _, ts in traj[1:]:
        assert np.all(np.asarray(ts.reward) == 0.0)
        # the counterfactual is the actual run: same accuracy to the bit
        assert float(ts.extras["val_accuracy"]) == float(ts.extras["counterfactual_val_accuracy"])
    assert traj[-1][1].step_type == StepType.LAST


def test_difference_reward_is_accuracy_difference(tiny_train_env):
    env = tiny_train_env.env
    raise_lr = jnp.full((env.num_agents,), 7, jnp.int32)  # +0.001
    state, ts = tiny_train_env.reset(jax.random.PRNGKey(1))
    state, ts = tiny_train_env.step(state, raise_lr)
    r = np.asarray(ts.reward)
    assert np.all(r == r[0])  # shared
    np.testing.assert_allclose(
        r[0], float(ts.extras["val_accuracy"]) - float(ts.extras["counterfactual_val_accuracy"]), atol=1e-6
    )
    assert r[0] != 0.0  # LR changed by +1e-3 for 5 Adam steps: accuracies differ


def test_eval_mode_reward_is_val_accuracy(tiny_eval_env):
    env = tiny_eval_env.env
    state, ts = tiny_eval_env.reset(jax.random.PRNGKey(0))
    state, ts = tiny_eval_env.step(state, jnp.zeros(env.num_agents, jnp.int32))
    np.testing.assert_allclose(np.asarray(ts.reward), float(ts.extras["val_accuracy"]))
    assert "counterfactual_val_accuracy" not in ts.extras
    assert 0.0 <= float(ts.extras["test_accuracy"]) <= 1.0


def test_action_updates_learning_rates(tiny_eval_env):
    state, _ = tiny_eval_env.reset(jax.random.PRNGKey(0))  # lr fixed at 1e-3
    actions = jnp.asarray([2, 4, 7], jnp.int32)  # *1.1, /1.1, +0.001
    state, ts = tiny_eval_env.step(state, actions)
    np.testing.assert_allclose(np.asarray(state.lrs), [1.1e-3, 1e-3 / 1.1, 2e-3], rtol=1e-5)
    np.testing.assert_allclose(np.asarray(ts.extras["layer_lrs"]), np.asarray(state.lrs))
    np.testing.assert_array_equal(np.asarray(state.prev_actions), [2, 4, 7])


def test_zero_lr_freezes_layer_and_is_escapable():
    gen = InitialConditionsGenerator(lr=0.0, weight_decay=0.1)
    env = make_ganno(gen, **TINY, difference_reward=False)
    state, _ = env.reset(jax.random.PRNGKey(0))
    p0 = state.train_state.params
    step = jax.jit(env.step)
    # layer 0: stays at 0 (no-op), layer 1: -0.001 clipped at 0, layer 2: +0.001 escapes 0
    state, _ = step(state, jnp.asarray([0, 8, 7], jnp.int32))
    np.testing.assert_allclose(np.asarray(state.lrs), [0.0, 0.0, 1e-3], rtol=1e-6)
    p1 = state.train_state.params
    for name in ("layer_00", "layer_01"):
        chex.assert_trees_all_equal(p0[name], p1[name])
    assert not np.allclose(np.asarray(p0["layer_02"]["kernel"]), np.asarray(p1["layer_02"]["kernel"]))


def test_forced_divergence_stays_finite_and_terminates():
    gen = InitialConditionsGenerator(lr=1e12, weight_decay=1e-5)  # activations overflow float32
    env = make_ganno(gen, **TINY, difference_reward=True, lr_max=1e13)
    state, ts = env.reset(jax.random.PRNGKey(0))
    p0 = state.train_state
    state, ts = jax.jit(env.step)(state, jnp.full((env.num_agents,), 2, jnp.int32))  # *1.1
    assert bool(ts.extras["diverged"])
    assert ts.step_type == StepType.LAST and np.all(np.asarray(ts.discount) == 0.0)
    np.testing.assert_array_equal(np.asarray(ts.reward), env.divergence_reward)
    assert float(ts.observation.agents_view[0, env.features.index("nonfinite")]) == 1.0
    chex.assert_tree_all_finite((state, ts))
    chex.assert_trees_all_equal(state.train_state, p0)  # rolled back to the last finite params


def test_same_key_same_trajectory(tiny_train_env):
    env = tiny_train_env.env
    acts = [jnp.asarray([i % 9, (i + 3) % 9, (i + 5) % 9], jnp.int32) for i in range(env.time_limit)]
    a = _rollout(tiny_train_env, jax.random.PRNGKey(7), acts)
    b = _rollout(tiny_train_env, jax.random.PRNGKey(7), acts)
    c = _rollout(tiny_train_env, jax.random.PRNGKey(8), acts)
    chex.assert_trees_all_equal(a, b)
    assert not np.array_equal(np.asarray(a[-1][1].observation.agents_view), np.asarray(c[-1][1].observation.agents_view))


def test_vmap_equals_separate_runs(tiny_train_env):
    env = tiny_train_env.env
    keys = jax.random.split(jax.random.PRNGKey(11), 4)
    acts = jax.random.randint(jax.random.PRNGKey(5), (2, 4, env.num_agents), 0, env.action_dim)
    vstate, vts = tiny_train_env.vreset(keys)
    for t in range(2):
        vstate, vts = tiny_train_env.vstep(vstate, acts[t])
    for i in range(4):
        state, ts = tiny_train_env.reset(keys[i])
        for t in range(2):
            state, ts = tiny_train_env.step(state, acts[t, i])
        take = lambda x: x[i]  # noqa: E731
        chex.assert_trees_all_close(jax.tree_util.tree_map(take, vts), ts, atol=1e-5, rtol=1e-5)
        chex.assert_trees_all_close(
            jax.tree_util.tree_map(take, vstate.train_state.params), state.train_state.params, atol=1e-5, rtol=1e-5
        )


def test_vmapped_envs_share_the_dataset(tiny_train_env):
    """The dataset is a constant of the environment, not part of the (batched) state."""
    env = tiny_train_env.env
    vstate, _ = tiny_train_env.vreset(jax.random.split(jax.random.PRNGKey(0), 4))
    n_state = sum(x.size for x in jax.tree_util.tree_leaves(vstate))
    assert n_state < env.dataset.x_train.size  # the 1,257 x 64 images are not in it


@pytest.mark.parametrize(
    "network,expected,types",
    [
        ("mlp2", 3, ["linear"] * 3),
        ("mlp5", 6, ["linear"] * 6),
        ("cnn2", 3, ["convolutional"] * 2 + ["linear"]),
        ("cnn5", 6, ["convolutional"] * 5 + ["linear"]),
        ("resnet9", 9, ["convolutional"] * 8 + ["linear"]),
        ("resnet18", 21, ["convolutional"] * 20 + ["linear"]),
    ],
)
def test_agent_counts_per_network(network, expected, types):
    from mava_ganno.backend.datasets import load_dataset
    from mava_ganno.backend.networks import make_network
    from mava_ganno.backend.trainer import SLTrainer

    ds = load_dataset("digits")
    trainer = SLTrainer(make_network(network, 10, hidden=8, width=4), ds, batch_size=4, tau=1)
    assert trainer.num_agents == expected
    assert [a.layer_type for a in trainer.agents.agents] == types
    # every parameter leaf is scheduled by exactly one agent, agents in depth order
    ids = trainer.agents.leaf_agent_ids()
    assert set(ids.tolist()) == set(range(expected))
    paths = ["/".join(a.path) for a in trainer.agents.agents]
    assert paths == sorted(paths)


def test_single_agent_and_ablation_feature_sets():
    env = make_ganno(**TINY, single_agent=True, features="single_agent", difference_reward=False)
    assert env.num_agents == 1 and env.num_layers == 3
    state, ts = env.reset(jax.random.PRNGKey(0))
    state, ts = jax.jit(env.step)(state, jnp.asarray([7], jnp.int32))
    np.testing.assert_allclose(np.asarray(ts.extras["layer_lrs"]), float(state.lrs[0]))
    assert ts.observation.agents_view.shape == (1, env.obs_dim)
    lr_only = make_ganno(**TINY, features="lr_only", difference_reward=False)
    assert lr_only.obs_dim == 2
    assert make_ganno(**TINY, features="timestep_only", difference_reward=False).obs_dim == 1
    with pytest.raises(ValueError, match="single_agent mode has no per-layer agent"):
        make_ganno(**TINY, single_agent=True, features="full")
    # the single-agent ablation of the robust configuration: chance features, episode reward
    robust = make_ganno(**TINY, single_agent=True, features="robust_single_agent", reward_counterfactual="constant_episode")
    assert robust.num_agents == 1 and robust.obs_dim == env.obs_dim + len(CHANCE_FEATURES)
    state, ts = robust.reset(jax.random.PRNGKey(0))
    state, ts = jax.jit(robust.step)(state, jnp.asarray([2], jnp.int32))  # *1.1 on every layer
    np.testing.assert_allclose(np.asarray(ts.extras["layer_lrs"]), float(state.lrs[0]))
    assert np.isfinite(np.asarray(ts.observation.agents_view)).all() and np.isfinite(np.asarray(ts.reward)).all()


def test_robust_feature_set_runs_finite_and_flags_a_collapse():
    """``features="robust"``: full + chance-relative loss/accuracy and the loss trend, finite in
    a normal run and in a diverged one (huge LR)."""
    env = make_ganno(**TINY, features="robust", difference_reward=False, lr_max=1e13)
    full = FEATURE_SETS["full"]
    assert env.obs_dim == feature_dim(full, 9) + 5 and env.features[: len(full)] == full
    col = {n: feature_dim(env.features[: env.features.index(n)], 9) for n in env.features[len(full) :]}
    reset, step = jax.jit(env.reset_with_conditions), jax.jit(env.step)
    ln_c = np.log(env.dataset.num_classes)

    state, ts = reset(jax.random.PRNGKey(0), 2e-3, 0.05)
    prev = float(ts.extras["train_loss"])
    assert float(ts.observation.agents_view[0, col["train_loss_trend"]]) == 0.0  # first decision
    for t in range(env.time_limit):
        state, ts = step(state, jnp.full((env.num_agents,), 1 + t % 4, jnp.int32))
        view, loss = np.asarray(ts.observation.agents_view), float(ts.extras["train_loss"])
        assert np.isfinite(view).all() and not bool(ts.extras["diverged"])
        assert np.all(view == view[0], axis=0)[list(col.values())].all()  # global: the same for all
        np.testing.assert_allclose(view[0, col["train_loss_trend"]], np.log(loss / prev), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(view[0, col["train_loss_vs_chance"]], loss / ln_c, rtol=1e-5)
        acc = float(ts.extras["val_accuracy"])
        np.testing.assert_allclose(view[0, col["test_accuracy_above_chance"]], (acc - 0.1) / 0.9, atol=1e-6)
        prev = loss
    assert float(state.global_stats.prev_train_loss) != float(state.global_stats.train_loss)

    state, ts = reset(jax.random.PRNGKey(0), 1e12, 1e-5)  # activations overflow float32
    state, ts = step(state, jnp.full((env.num_agents,), 2, jnp.int32))
    assert bool(ts.extras["diverged"])
    chex.assert_tree_all_finite((state, ts))
    view = np.asarray(ts.observation.agents_view)[0]
    assert view[col["train_loss_vs_chance"]] == view[col["test_loss_vs_chance"]] == 4.0  # clipped
    assert view[col["train_loss_trend"]] == 2.0  # the loss went up (to the cap)
    assert view[col["test_accuracy_above_chance"]] == pytest.approx(-1.0 / 9.0)  # accuracy 0


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(dataset="imagenet"), "unknown dataset 'imagenet'"),
        (dict(dataset="synthetic:8x8"), "malformed synthetic dataset"),
        (dict(network="transformer9"), "unknown network 'transformer9'"),
        (dict(tau=0), "tau must be a positive integer"),
        (dict(tau=-3), "tau must be a positive integer"),
        (dict(sl_steps=21), "sl_steps must be a positive multiple of tau=5"),
        (dict(action_table=["*1.1", "^2"]), r"action table entry 1 \('\^2'\) is malformed"),
        (dict(action_table=["*1.1", "/1.1"]), "has no no-op"),
        (dict(features=["train_loss", "lr"]), r"unknown observation features \['lr'\]"),
        (dict(features="lr-only"), "unknown feature set 'lr-only'"),
        (dict(batch_size=0), "batch_size must be a positive integer"),
        (dict(lr_max=0.0), "lr_max must be a finite number > 0"),
        (dict(lr_max=float("inf")), r"lr_max must be a finite number > 0 \(default 0.1\), got inf"),
        (dict(lr_max=True), "lr_max must be a finite number > 0"),
        (dict(sl_steps=True), "sl_steps must be a positive multiple of tau=5, got True"),
        (dict(eval_batch_size=0), r"eval_batch_size must be a positive integer \(default 1024\), got 0"),
    ],
)
def test_bad_config_raises_before_compute(kwargs, match, monkeypatch):
    import mava_ganno.env.env as env_mod

    def no_compute(*a, **k):  # construction must fail before any network is built
        raise AssertionError("compute started before the config was validated")

    monkeypatch.setattr(env_mod, "SLTrainer", no_compute)
    with pytest.raises(ValueError, match=match):
        make_ganno(**{**TINY, **kwargs})


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(lr=(1e-2, 1e-5)), "min > max"),
        (dict(lr=(0.0, 1e-2)), "log-uniform range needs 0 < min"),
        (dict(weight_decay=(1e-3,)), "a number or a \\[min, max\\] pair"),
        (dict(focus_fraction=0.5), "focus_fraction=0.5 needs lr_focus"),
        (dict(lr_focus=(3e-4, 3e-3), focus_fraction=1.5), "focus_fraction must be in \\[0, 1\\]"),
        (dict(lr_focus=(3e-3, 3e-4), focus_fraction=0.5), "lr_focus range .* has min > max"),
        (dict(lr_focus=[(3e-4, 3e-3), (3e-3, 3e-2)], focus_fraction=[0.7, 0.4]), "sums to 1.1 > 1"),
        (dict(lr_focus=[(3e-4, 3e-3), (3e-3, 3e-2)], focus_fraction=0.5), "one \\[min, max\\] pair per share"),
        (dict(lr_focus=(3e-4, 3e-3), focus_fraction=[0.4, 0.3]), "one \\[min, max\\] pair per share"),
        (dict(lr_focus=[(3e-4, 3e-3), (3e-3,)], focus_fraction=[0.4, 0.3]), "one \\[min, max\\] pair per share"),
        (dict(lr_focus=(3e-4, 3e-3), focus_fraction=[]), "gives no share"),
    ],
)
def test_bad_initial_conditions(kwargs, match):
    with pytest.raises(ValueError, match=match):
        InitialConditionsGenerator(**kwargs)


def test_initial_conditions_are_log_uniform():
    gen = InitialConditionsGenerator()
    ics = jax.vmap(gen)(jax.random.split(jax.random.PRNGKey(0), 4000))
    lr = np.log10(np.asarray(ics.initial_lr))
    wd = np.log10(np.asarray(ics.weight_decay))
    assert lr.min() >= -5 - 1e-4 and lr.max() <= -2 + 1e-4
    assert wd.min() >= -5 - 1e-4 and wd.max() <= -1 + 1e-4
    # uniform in log space: each decade gets about a third / a quarter of the samples
    np.testing.assert_allclose(np.histogram(lr, bins=3, range=(-5, -2))[0] / 4000, 1 / 3, atol=0.04)
    np.testing.assert_allclose(np.histogram(wd, bins=4, range=(-5, -1))[0] / 4000, 1 / 4, atol=0.04)
    fixed = InitialConditionsGenerator(lr=3e-4, weight_decay=0.1)(jax.random.PRNGKey(1))
    assert float(fixed.initial_lr) == pytest.approx(3e-4) and float(fixed.weight_decay) == pytest.approx(0.1)


def test_a_focus_range_draws_its_share_of_initial_lrs_and_leaves_the_rest_alone():
    keys = jax.random.split(jax.random.PRNGKey(0), 4000)
    plain = jax.vmap(InitialConditionsGenerator(lr=(1e-5, 1e-1)))(keys)
    mixed = jax.vmap(InitialConditionsGenerator(lr=(1e-5, 1e-1), lr_focus=(3e-4, 3e-3), focus_fraction=0.4))(keys)
    np.testing.assert_array_equal(mixed.weight_decay, plain.weight_decay)
    changed = np.asarray(mixed.initial_lr) != np.asarray(plain.initial_lr)
    assert abs(changed.mean() - 0.4) < 0.03  # the focus share, drawn afresh
    np.testing.assert_array_equal(np.asarray(mixed.initial_lr)[~changed], np.asarray(plain.initial_lr)[~changed])
    focus = np.log10(np.asarray(mixed.initial_lr)[changed])
    assert focus.min() >= np.log10(3e-4) - 1e-4 and focus.max() <= np.log10(3e-3) + 1e-4
    np.testing.assert_allclose(np.histogram(focus, bins=2, range=(np.log10(3e-4), np.log10(3e-3)))[0] / focus.size, 0.5, atol=0.05)



def test_several_focus_ranges_each_draw_their_share_and_the_first_draws_as_alone():
    from omegaconf import OmegaConf

    keys = jax.random.split(jax.random.PRNGKey(0), 6000)
    plain = jax.vmap(InitialConditionsGenerator(lr=(1e-5, 1e-1)))(keys)
    one = jax.vmap(InitialConditionsGenerator(lr=(1e-5, 1e-1), lr_focus=(3e-4, 3e-3), focus_fraction=0.4))(keys)
    # as a Hydra config gives them: nested ListConfigs
    two_cfg = OmegaConf.create({"lr": [1e-5, 1e-1], "lr_focus": [[3e-4, 3e-3], [3e-3, 3e-2]], "focus_fraction": [0.4, 0.3]})
    gen = InitialConditionsGenerator(**two_cfg)
    two = jax.vmap(gen)(keys)
    assert gen.focus_fraction == pytest.approx(0.7) and "focus_fraction=[0.4, 0.3]" in repr(gen)
    np.testing.assert_array_equal(two.weight_decay, plain.weight_decay)
    lr_one, lr_two, lr_plain = (np.asarray(x.initial_lr) for x in (one, two, plain))
    first = lr_one != lr_plain  # the first range's episodes: the same draws as with it alone
    np.testing.assert_array_equal(lr_two[first], lr_one[first])
    second = ~first & (lr_two != lr_plain)
    rest = ~first & ~second
    assert abs(first.mean() - 0.4) < 0.03 and abs(second.mean() - 0.3) < 0.03
    np.testing.assert_array_equal(lr_two[rest], lr_plain[rest])
    high = np.log10(lr_two[second])
    assert high.min() >= np.log10(3e-3) - 1e-4 and high.max() <= np.log10(3e-2) + 1e-4
    np.testing.assert_allclose(np.histogram(high, bins=2, range=(np.log10(3e-3), np.log10(3e-2)))[0] / high.size, 0.5, atol=0.05)

def test_viewer_writes_pngs(tiny_eval_env, tmp_path):
    env = tiny_eval_env.env
    traj = _rollout(tiny_eval_env, jax.random.PRNGKey(0), [jnp.full((3,), 7, jnp.int32)] * 2)
    states = [s for s, _ in traj]
    env.render(states[-1]).savefig(tmp_path / "frame.png")
    env.animate(states, save_path=str(tmp_path / "episode.png"))
    for name in ("frame.png", "episode.png"):
        assert (tmp_path / name).stat().st_size > 1000


@functools.lru_cache(maxsize=None)
def _episode_runner(mode: str, reward_counterfactual: str):
    """A jitted ``run(key, actions (T, N)) -> (final state, stacked timesteps)`` of a TINY
    difference-reward env whose branches run as ``mode``; one compilation per pair."""
    env = make_ganno(**TINY, difference_reward=True, reward_counterfactual=reward_counterfactual, counterfactual=mode)

    @jax.jit
    def run(key, actions):
        state, _ = env.reset(key)
        return jax.lax.scan(env.step, state, actions)

    return env, run


@pytest.mark.parametrize(
    "mode,reward_counterfactual", [("vmap", "noop_step"), ("fused", "noop_step"), ("fused", "constant_episode")]
)
def test_every_way_of_running_the_branches_computes_the_same_steps(tiny_train_env, mode, reward_counterfactual):
    """The ways of running the two reward branches compute the same steps up to float rounding
    (``auto`` on an MLP is the sequential one, on one draw of minibatch indices), from the
    current parameters (no-op counterfactual) and from a reference episode's own ones."""
    assert tiny_train_env.env.counterfactual == "sequential"
    actions = jnp.asarray([[7, 2, 8], [1, 7, 4], [0, 8, 2], [3, 3, 0]], jnp.int32)
    env, run = _episode_runner(mode, reward_counterfactual)
    assert env.counterfactual == mode
    ref_state, ref_ts = _episode_runner("sequential", reward_counterfactual)[1](jax.random.PRNGKey(4), actions)
    state, ts = run(jax.random.PRNGKey(4), actions)
    assert np.count_nonzero(np.asarray(ref_ts.reward[:, 0])) >= 2  # the branches differ
    chex.assert_trees_all_close(ts, ref_ts, atol=1e-5, rtol=1e-5)
    chex.assert_trees_all_close(state.train_state, ref_state.train_state, atol=1e-5, rtol=1e-5)
    chex.assert_trees_all_close(state.reference, ref_state.reference, atol=1e-5, rtol=1e-5)


def test_fused_branches_keep_the_noop_counterfactual_exact():
    """With fused branches (the CNN default) an all-no-op episode has the same hold-out
    accuracy to the bit in both branches, a reward of 0 (up to the float rounding of the
    gap's arithmetic, see test_rewards), and its reference episode keeps the actual run's
    parameters to the bit."""
    env, run = _episode_runner("fused", "constant_episode")
    noop = jnp.full((env.time_limit, env.num_agents), env.action_table.noop_index, jnp.int32)
    state, ts = run(jax.random.PRNGKey(1), noop)
    np.testing.assert_array_equal(ts.extras["val_accuracy"], ts.extras["counterfactual_val_accuracy"])
    np.testing.assert_allclose(np.asarray(ts.reward), 0.0, atol=1e-6)
    jax.tree_util.tree_map(np.testing.assert_array_equal, state.train_state.params, state.reference.train_state.params)


def test_auto_counterfactual_is_fused_for_convolutional_networks():
    """``auto`` picks the branches' mode by the network (measured, docs/benchmarks.md): fused
    for networks with convolutional layers, sequential otherwise; a bad mode is named."""
    small = dict(dataset="digits", tau=2, sl_steps=4)
    assert make_ganno(network="cnn2", width=4, **small).counterfactual == "fused"
    assert make_ganno(network="resnet9", width=4, **small).counterfactual == "fused"
    assert make_ganno(network="mlp2", hidden=8, **small).counterfactual == "sequential"
    assert make_ganno(network="cnn2", width=4, counterfactual="sequential", **small).counterfactual == "sequential"
    with pytest.raises(ValueError, match="counterfactual must be 'auto', 'vmap', 'sequential' or 'fused', got 'parallel'"):
        make_ganno(**TINY, counterfactual="parallel")


def test_reset_with_conditions_is_reset_with_given_values(tiny_train_env):
    env = tiny_train_env.env
    key = jax.random.PRNGKey(9)
    state, ts = jax.jit(env.reset_with_conditions)(key, 0.0, 0.05)
    assert float(state.global_stats.initial_lr) == 0.0
    assert float(state.global_stats.weight_decay) == pytest.approx(0.05)
    np.testing.assert_array_equal(np.asarray(state.lrs), 0.0)
    ref, _ = tiny_train_env.reset(key)  # same network init and data order, other conditions
    chex.assert_trees_all_equal(state.train_state, ref.train_state)
    chex.assert_trees_all_equal(state.key, ref.key)
