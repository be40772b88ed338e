"""mava_ganno: GANNO (Generalisable Agents for Neural Network Optimisation) for Mava.

Importing the package registers the environment with Jumanji as ``GANNO-v0``. What a user
needs is importable from here::

    from mava_ganno import Ganno, Task, make_ganno, ganno_adamw, lr_trajectory, load_policy, save_policy, evaluate, run_bench

The optimiser, policy, evaluation and benchmark names are imported on first use (``import
mava_ganno`` stays as light as the environment).
"""

import importlib
from typing import Any

from jumanji.registration import register, registered_environments

from mava_ganno.backend.task import Task
from mava_ganno.env import (
    DEFAULT_ACTION_TABLE,
    ActionTable,
    Ganno,
    InitialConditions,
    InitialConditionsGenerator,
    Observation,
    State,
    make_ganno,
)

__version__ = "0.1.0"

ENV_ID = "GANNO-v0"
if ENV_ID not in registered_environments():
    register(ENV_ID, entry_point="mava_ganno.env:make_ganno")

# name -> module it lives in, imported when the name is first used
_LAZY = {
    "ganno_adamw": "mava_ganno.optimiser",
    "lr_trajectory": "mava_ganno.optimiser",
    "load_policy": "mava_ganno.policy",
    "save_policy": "mava_ganno.policy",
    "evaluate": "mava_ganno.evaluation.harness",
    "run_bench": "mava_ganno.bench",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mava_ganno' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "ActionTable",
    "DEFAULT_ACTION_TABLE",
    "ENV_ID",
    "Ganno",
    "InitialConditions",
    "InitialConditionsGenerator",
    "Observation",
    "State",
    "Task",
    "make_ganno",
    *_LAZY,
]
