"""Shared fixtures: tiny environments, built and compiled once per test session."""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=1")

import jax
import pytest

import mava_ganno  # noqa: F401  (registers GANNO-v0)
from mava_ganno.env import Ganno
from mava_ganno.env.generator import InitialConditionsGenerator

TINY = dict(network="mlp2", dataset="digits", tau=5, sl_steps=20, hidden=16)


class Compiled:
    """An environment with its reset/step jitted once and shared between tests."""

    def __init__(self, env: Ganno):
        self.env = env
        self.reset = jax.jit(env.reset)
        self.step = jax.jit(env.step)
        self.vreset = jax.jit(jax.vmap(env.reset))
        self.vstep = jax.jit(jax.vmap(env.step))


@pytest.fixture(scope="session")
def tiny_train_env() -> Compiled:
    """mlp2 on digits, tau 5, 4 env steps, difference reward (training mode)."""
    return Compiled(Ganno(**TINY, difference_reward=True))


@pytest.fixture(scope="session")
def tiny_eval_env() -> Compiled:
    """The same in evaluation mode (no counterfactual), fixed initial conditions, test tracked."""
    gen = InitialConditionsGenerator(lr=1e-3, weight_decay=0.1)
    return Compiled(Ganno(gen, **TINY, difference_reward=False, track_test=True))
