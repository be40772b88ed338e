"""The GANNO environment, laid out as Jumanji's environment folders are.

``env.py`` (the ``Ganno`` environment and ``make_ganno``, its flat-keyword factory), ``types.py`` (``State``, ``Observation``),
``generator.py`` (initial conditions), ``actions.py`` (the action table), ``rewards.py``
(reward functions injected into the environment), ``observations.py`` (feature extractors and
the one ``observe``), ``stats.py`` (global statistics), ``viewer.py`` (depends on ``State``
only), ``specs.py`` (spec helpers for Jumanji 1.x and Mava's 0.3.1 fork).
"""

from mava_ganno.env.actions import DEFAULT_ACTION_TABLE, ActionTable
from mava_ganno.env.env import Ganno, make_ganno
from mava_ganno.env.generator import InitialConditions, InitialConditionsGenerator
from mava_ganno.env.specs import get_spec
from mava_ganno.env.types import Observation, State

__all__ = [
    "DEFAULT_ACTION_TABLE",
    "ActionTable",
    "Ganno",
    "InitialConditions",
    "InitialConditionsGenerator",
    "Observation",
    "State",
    "get_spec",
    "make_ganno",
]
