"""Shared fixtures: tiny environments, built and compiled once per test run."""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=1")
# Tests compile far more than they run (small networks, a few SGD steps each): XLA's slower
# optimisation passes cost more than they save, so they are off for the run and its CLI
# subprocesses (the same programs, less fused; speed is measured in benchmarks/, never here).
# JAX_DISABLE_MOST_OPTIMIZATIONS=0 in the environment keeps them.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")

import shutil
import tempfile

import jax
import pytest

# One persistent compilation cache per test run, shared by the pytest-xdist workers and the
# CLI subprocesses (they inherit the controller's environment): what two processes compile alike
# is compiled once. Made empty for every run and removed after it, so a run never reads
# executables from an earlier one; a user's own JAX_COMPILATION_CACHE_DIR is used as it is.
_CACHE_MADE_HERE = "JAX_COMPILATION_CACHE_DIR" not in os.environ
if _CACHE_MADE_HERE:
    os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="mava_ganno_test_jax_cache_")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")
    jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]))

import mava_ganno  # noqa: F401, E402  (registers GANNO-v0; after the cache is set)
from mava_ganno.env import Ganno, make_ganno  # noqa: E402
from mava_ganno.env.generator import InitialConditionsGenerator  # noqa: E402

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
def experiment_script():
    """``load(name)``: the module of ``experiments/<name>.py`` (scripts, not a package)."""
    import importlib.util
    from pathlib import Path

    def load(name: str):
        path = Path(__file__).resolve().parents[1] / "experiments" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture(scope="session")
def tiny_train_env() -> Compiled:
    """mlp2 on digits, tau 5, 4 env steps, difference reward (training mode)."""
    return Compiled(make_ganno(**TINY, difference_reward=True))


@pytest.fixture(scope="session")
def tiny_eval_env() -> Compiled:
    """The same in evaluation mode (no counterfactual), fixed initial conditions, test tracked."""
    gen = InitialConditionsGenerator(lr=1e-3, weight_decay=0.1)
    return Compiled(make_ganno(gen, **TINY, difference_reward=False, track_test=True))


def pytest_unconfigure(config):
    """The process that made the run's compilation cache (the xdist controller) removes it."""
    if _CACHE_MADE_HERE:
        shutil.rmtree(os.environ.pop("JAX_COMPILATION_CACHE_DIR"), ignore_errors=True)
