"""The one task type: validated once, where it is made, and the same everywhere it is used."""

from __future__ import annotations

import dataclasses

import pytest

from mava_ganno import Task, ganno_adamw, make_ganno
from mava_ganno.bench.tasks import SUITES
from mava_ganno.env import Ganno
from mava_ganno.env.env import ganno_arguments
from mava_ganno.evaluation.records import make_scenario


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(tau=0), "tau must be a positive integer"),
        (dict(tau=2.5), "tau must be a positive integer"),
        (dict(tau=10, sl_steps=25), "sl_steps must be a positive multiple of tau=10, got 25; e.g. sl_steps=20"),
        (dict(batch_size=0), "batch_size must be a positive integer"),
        (dict(hidden=True), "hidden must be a positive integer"),
        (dict(width=-1), "width must be a positive integer"),
        (dict(network="transformer"), "unknown network 'transformer'"),
        (dict(network="vit0"), "needs at least one transformer block"),
        (dict(dataset=""), "dataset must be a dataset name"),
        (dict(data_seed="0"), "data_seed must be an integer"),
        (dict(data_dir=3), "data_dir must be a folder"),
    ],
)
def test_a_bad_task_names_the_bad_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Task(**kwargs)


def test_a_task_is_named_after_its_network_and_dataset_unless_named():
    assert Task("cnn3", "fashion_mnist", sl_steps=300).name == "cnn3-fashion_mnist"
    assert Task("cnn3", "fashion_mnist", name="cnn-fmnist").name == "cnn-fmnist"
    assert Task("mlp2", "digits", tau=10, sl_steps=50).num_chunks == 5


def test_every_user_of_a_task_rejects_the_same_bad_budget():
    """The environment (flat keywords or a Task), the evaluation scenario and the optimiser
    share one rule; vit names the networks module accepts are accepted by scenarios too."""
    with pytest.raises(ValueError, match="sl_steps must be a positive multiple of tau=10"):
        make_ganno(network="mlp1", tau=10, sl_steps=15)
    with pytest.raises(ValueError, match="scenario 'mlp1-digits': sl_steps must be a positive multiple of tau=10"):
        make_scenario("mlp1-digits", tau=10, sl_steps=15)
    with pytest.raises(ValueError, match="tau must be a positive integer"):
        ganno_arguments(tau=-1)
    with pytest.raises(ValueError, match="tau must be a positive integer"):
        ganno_adamw(tau=0, total_steps=100)
    assert make_scenario("vit3-digits").network == "vit3"
    with pytest.raises(TypeError, match="task must be a mava_ganno.backend.Task"):
        Ganno({"network": "mlp1"})


def test_flat_keywords_and_a_task_build_the_same_environment():
    task = Task("mlp1", "digits", tau=5, sl_steps=10, hidden=8, batch_size=8)
    flat = make_ganno(**{f.name: getattr(task, f.name) for f in dataclasses.fields(Task) if f.name != "name"})
    direct = Ganno(task)
    assert flat.task == direct.task
    assert (flat.num_agents, flat.obs_dim, flat.time_limit, flat.difference_reward) == (
        direct.num_agents, direct.obs_dim, direct.time_limit, direct.difference_reward)  # fmt: skip
    assert repr(flat) == repr(direct)


def test_an_unknown_environment_keyword_names_the_nearest_known_one():
    with pytest.raises(TypeError, match=r"'sl_step' \(did you mean 'sl_steps'\?\)"):
        make_ganno(sl_step=200)
    with pytest.raises(ValueError, match="counterfactual_fn was given without reward_fn"):
        from mava_ganno.env.counterfactuals import NoopStep

        Ganno(Task("mlp1"), counterfactual_fn=NoopStep())


def test_the_benchmark_tasks_are_tasks():
    for suite in SUITES.values():
        for bench_task in suite.tasks:
            assert isinstance(bench_task.scenario, Task) and bench_task.scenario.name == bench_task.name
