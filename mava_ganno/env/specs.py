"""Specs on both Jumanji stacks: 1.x declares them as cached properties, Mava's pinned 0.3.1
fork as methods. ``spec`` decorates the environment's spec definitions; ``get_spec`` reads one
whichever the installed Jumanji does."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from jumanji import specs
from jumanji.env import Environment

SPECS_ARE_PROPERTIES = isinstance(
    inspect.getattr_static(Environment, "observation_spec"), (property, functools.cached_property)
)


def spec(fn: Callable) -> Any:
    """A spec definition as the installed Jumanji declares specs (property or method)."""
    return functools.cached_property(fn) if SPECS_ARE_PROPERTIES else fn


def get_spec(env: Any, name: str) -> Any:
    """``env.<name>_spec`` whether the installed Jumanji makes specs properties or methods."""
    value = getattr(env, f"{name}_spec")
    return value() if callable(value) and not isinstance(value, specs.Spec) else value
