"""Handcrafted schedules and baseline optimisers (mava_ganno.evaluation.baselines)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mava_ganno.evaluation import baselines as S

T = 1000
STEPS = np.array([0, 1, 50, T // 10, T // 7, 200, 3 * (T // 7), T // 2, 600, 3 * T // 4, 900, T - 1, T, T + 5])

# The same schedules built by optax with the LR directly (the reference the traced ones match).
REFERENCE = {
    "constant": lambda lr: optax.constant_schedule(lr),
    "linear": lambda lr: optax.linear_schedule(lr, 0.0, T),
    "quadratic": lambda lr: optax.polynomial_schedule(lr, 0.0, 2, T),
    "cosine": lambda lr: optax.cosine_decay_schedule(lr, T),
    "exponential": lambda lr: optax.exponential_decay(lr, T, 0.01),
    "piecewise": lambda lr: optax.piecewise_constant_schedule(lr, {T // 2: 0.1, 3 * T // 4: 0.1}),
    "sgdr": lambda lr: optax.sgdr_schedule(
        [
            dict(init_value=lr, peak_value=lr, warmup_steps=0, decay_steps=n, end_value=0.0)
            for n in (T // 7, 2 * (T // 7), T - 3 * (T // 7))
        ]
    ),
    "warmup_cosine": lambda lr: optax.warmup_cosine_decay_schedule(0.0, lr, T // 10, T, 0.0),
    "onecycle": lambda lr: optax.cosine_onecycle_schedule(T, lr),
    "wsd": lambda lr: optax.join_schedules(
        [optax.linear_schedule(0.0, lr, T // 20), optax.constant_schedule(lr), optax.linear_schedule(lr, 0.0, T // 5)],
        [T // 20, T - T // 5],
    ),
}


def test_wsd_warms_up_holds_and_decays_to_zero():
    s = S.make_schedule("wsd", 2e-3, T)
    values = np.asarray([s(t) for t in (0, T // 40, T // 20, T // 2, T - T // 5, T - T // 10, T)])
    np.testing.assert_allclose(values, [0.0, 1e-3, 2e-3, 2e-3, 2e-3, 1e-3, 0.0], atol=1e-9)


def test_every_schedule_is_listed():
    assert set(REFERENCE) == set(S.SCHEDULE_NAMES)


@pytest.mark.parametrize("name", S.SCHEDULE_NAMES)
def test_schedule_matches_optax_with_traced_lr(name):
    lrs = jnp.array([1e-4, 3e-3, 1e-2])
    values = jax.jit(jax.vmap(jax.vmap(lambda lr, c: S.make_schedule(name, lr, T)(c), (None, 0)), (0, None)))(
        lrs, jnp.asarray(STEPS)
    )
    for i, lr in enumerate(np.asarray(lrs)):
        ref = np.array([float(REFERENCE[name](float(lr))(int(c))) for c in STEPS])
        np.testing.assert_allclose(np.asarray(values[i]), ref, rtol=2e-5, atol=1e-6 * lr, err_msg=name)


def test_schedule_shapes():
    lr = 1e-3
    at = lambda name, c: float(S.make_schedule(name, lr, T)(c))  # noqa: E731
    # SGDR restarts to the peak at T/7 and 3T/7 and is ~0 just before.
    assert at("sgdr", T // 7) == pytest.approx(lr) and at("sgdr", T // 7 - 1) < 1e-3 * lr
    assert at("sgdr", 3 * (T // 7)) == pytest.approx(lr)
    # Warm-ups: 0 (or peak/25) at the start, the grid LR is the peak.
    assert at("warmup_cosine", 0) == 0.0 and at("warmup_cosine", T // 10) == pytest.approx(lr)
    assert at("onecycle", 0) == pytest.approx(lr / 25) and at("onecycle", int(0.3 * T)) == pytest.approx(lr)
    peak = max(at("onecycle", c) for c in range(0, T, 10))
    assert peak == pytest.approx(lr, rel=1e-3)
    # Decays end at 0 (exponential at lr/100, piecewise at lr/100 after two drops).
    for name in ("linear", "quadratic", "cosine"):
        assert at(name, T) == pytest.approx(0.0, abs=1e-12)
    assert at("exponential", T) == pytest.approx(lr / 100)
    assert at("piecewise", T) == pytest.approx(lr / 100)


def test_schedule_bank_equals_each_optimizer():
    params = {"w": jnp.linspace(-1.0, 1.0, 5)}
    grads = {"w": jnp.array([0.3, -0.2, 0.1, 0.5, -1.0])}

    def updates(opt):
        state = opt.tx.init(params)
        out = []
        for _ in range(3):
            u, state = opt.tx.update(grads, state, params)
            out.append(u["w"])
        return jnp.stack(out)

    names = S.SCHEDULE_NAMES
    for i, name in enumerate(names):
        bank = updates(S.make_adamw_schedule_bank(names, jnp.asarray(i), 3e-3, 0.1, 20))
        single = updates(S.make_optimizer(name, 3e-3, 0.1, 20))
        np.testing.assert_allclose(np.asarray(bank), np.asarray(single), rtol=1e-6, err_msg=name)


@pytest.mark.parametrize("name", S.OPTIMIZER_NAMES)
def test_optimizers_run_with_traced_lr_and_weight_decay(name):
    params = {"w": jnp.ones(4)}
    grads = {"w": jnp.array([0.5, -0.5, 1.0, 0.0])}

    def run(lr, wd):
        opt = S.make_optimizer(name, lr, wd, 100)
        state = opt.tx.init(params)
        p = params
        for _ in range(3):
            u, state = opt.tx.update(grads, state, p)
            p = optax.apply_updates(p, u)
        return opt.eval_params(state, p)["w"]

    out = np.asarray(jax.jit(jax.vmap(run))(jnp.array([1e-3, 1e-2]), jnp.array([0.1, 1e-4])))
    assert np.isfinite(out).all()
    assert np.abs(out - 1.0).max() > 0, f"{name} did not move the parameters"
    if name in S.LR_FREE:  # Prodigy ignores the grid LR
        a = np.asarray(jax.jit(run)(1e-3, 0.1))
        b = np.asarray(jax.jit(run)(1e-1, 0.1))
        np.testing.assert_allclose(a, b)
    else:
        assert not np.allclose(out[0], out[1])
    assert S.takes_lr(name) == (name not in S.LR_FREE)


def test_bad_names_raise_clear_errors():
    with pytest.raises(ValueError, match="unknown schedule 'cosin'"):
        S.make_schedule("cosin", 1e-3, 100)
    with pytest.raises(ValueError, match="offline"):
        S.make_optimizer("velo", 1e-3, 0.1, 100)
    with pytest.raises(ValueError, match="unknown baseline 'adam'"):
        S.make_optimizer("adam", 1e-3, 0.1, 100)
    with pytest.raises(ValueError, match="total_steps must be a positive int"):
        S.make_schedule("cosine", 1e-3, 0)
    with pytest.raises(RuntimeError, match=f"optax {optax.__version__} has no optax.contrib.no_such"):
        S.optax_name("contrib.no_such")
    S.check_optax()  # every name the baselines use exists in the installed optax


def test_a_schedule_at_the_sgd_steps_of_one_env_step_and_its_held_mean():
    """``step_schedule_lrs``: env step t's tau LRs are the per-step schedule's at SGD steps
    t*tau ... t*tau + tau - 1 (optax's one-cycle over the whole run here), and ``hold="mean"``
    holds their mean; a tau that is not a positive int is refused by name."""
    from mava_ganno.backend.schedules import REFERENCE_HOLDS, held_schedule_lr, step_schedule_lrs

    lr0, num_steps, tau = 2e-3, 10, 100
    per_step = np.asarray(S.make_schedule("onecycle", lr0, num_steps * tau)(np.arange(num_steps * tau)))
    for t in (0, 3, 9):
        got = np.asarray(step_schedule_lrs("onecycle", lr0, t, num_steps, tau))
        np.testing.assert_allclose(got, per_step[t * tau:(t + 1) * tau], rtol=1e-5, atol=1e-10)
        np.testing.assert_allclose(float(held_schedule_lr("onecycle", lr0, t, num_steps, "mean", tau)), got.mean(), rtol=1e-5)
    assert REFERENCE_HOLDS == ("first", "mean", "step")
    with pytest.raises(ValueError, match=r"tau=0: give the SGD steps per env step, an int >= 1"):
        step_schedule_lrs("wsd", lr0, 0, num_steps, 0)
