"""mava_ganno: GANNO (Generalisable Agents for Neural Network Optimisation) for Mava.

Importing the package registers the environment with Jumanji as ``GANNO-v0``.
"""

from jumanji.registration import register, registered_environments

from mava_ganno.env import (
    DEFAULT_ACTION_TABLE,
    ActionTable,
    Ganno,
    InitialConditions,
    InitialConditionsGenerator,
    Observation,
    State,
)

__version__ = "0.1.0"

ENV_ID = "GANNO-v0"
if ENV_ID not in registered_environments():
    register(ENV_ID, entry_point="mava_ganno.env:Ganno")

__all__ = [
    "ActionTable",
    "DEFAULT_ACTION_TABLE",
    "ENV_ID",
    "Ganno",
    "InitialConditions",
    "InitialConditionsGenerator",
    "Observation",
    "State",
]
