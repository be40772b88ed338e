"""GANNO inside Mava: the wrapper Mava's systems train it through, and its registration.

This module imports Mava (``mava.wrappers``, ``mava.types``), so import it only where Mava is
installed. Mava's systems never import it themselves: the Hydra plugin in
``hydra_plugins/mava_ganno_searchpath`` calls :func:`register_with_mava` when a Mava system
starts, which puts GANNO into ``mava.utils.make_env._jumanji_registry``. Mava then builds the
environment exactly as for its own Jumanji environments::

    generator = InitialConditionsGenerator(**config.env.scenario.task_config)
    env = jumanji.make("GANNO-v0", generator=generator,
                       **config.env.kwargs, **config.env.scenario.env_kwargs)
    env = GannoMavaWrapper(env, add_global_state=...)  # True for MAPPO's centralised critic

and adds its own AgentID (off for GANNO: ``implicit_agent_id: True``), AutoReset and
RecordEpisodeMetrics wrappers on top.

What the wrapper gives Mava (its ``MarlEnv`` contract):

- ``num_agents``, ``time_limit``, ``action_dim`` attributes; ``observation_spec`` and
  ``action_spec`` as methods under Mava's pinned Jumanji 0.3.1 fork and as (cached)
  properties under Jumanji 1.x, whichever the installed Jumanji's ``Wrapper`` uses;
- observations as ``mava.types.Observation`` (``agents_view`` (N, F) float32, ``action_mask``
  (N, A) bool, ``step_count`` (N,) int32), or ``mava.types.ObservationGlobalState`` with
  ``add_global_state=True`` (see :meth:`GannoMavaWrapper.get_global_state`);
- per-agent reward (N,) (GANNO's reward is shared by all layer agents), scalar step type;
- ``extras``: a fresh dict of the environment's *scalar* per-step statistics
  (``train_loss``, ``train_accuracy``, ``val_loss``, ``val_accuracy``, ``diverged``,
  ``counterfactual_val_accuracy``, and ``test_*`` with ``track_test``), the same keys after
  ``reset`` and ``step``. Per-layer vectors (``layer_lrs``) are left out: Mava's loggers only
  handle per-environment scalars.

Mava evaluates with an environment built from the same config as the training one, so its
``episode_return`` (``env.eval_metric``) is the return of GANNO's *training* reward: with
``difference_reward: True`` (the default) the sum over the episode of the hold-out accuracy
gained over keeping every learning rate unchanged for that step; with ``False``, the sum of
hold-out accuracies (area under the validation-accuracy curve).
"""

from __future__ import annotations

from typing import Any, Dict

import chex
import jax.numpy as jnp
from jumanji import specs
from jumanji.types import TimeStep
from mava.types import Observation as MavaObservation
from mava.types import ObservationGlobalState
from mava.wrappers.jumanji import JumanjiMarlWrapper

import mava_ganno
from mava_ganno.backend.task_pool import check_training_pool
from mava_ganno.env.env import Ganno
from mava_ganno.env.generator import InitialConditionsGenerator
from mava_ganno.env.specs import get_spec
from mava_ganno.env.specs import spec as _spec
from mava_ganno.mava.global_state import feature_columns, global_state


class GannoMavaWrapper(JumanjiMarlWrapper):
    """Mava's multi-agent wrapper for a :class:`mava_ganno.env.Ganno` environment.

    Args:
        env: a ``Ganno`` environment (what ``jumanji.make("GANNO-v0", ...)`` returns).
        add_global_state: return ``ObservationGlobalState`` (MAPPO's centralised critic).
    """

    def __init__(self, env: Ganno, add_global_state: bool = False):
        inner = getattr(env, "unwrapped", env)
        if not isinstance(inner, Ganno):
            raise TypeError(
                f"GannoMavaWrapper wraps a mava_ganno Ganno environment, got {type(inner).__name__}; "
                "build it with jumanji.make('GANNO-v0', ...) after `import mava_ganno`."
            )
        # Mava's systems train on what they wrap: never on evaluation or benchmark data.
        check_training_pool([inner.dataset.name])
        super().__init__(env, add_global_state)
        self._ganno: Ganno = inner
        self._global_cols, self._layer_cols = feature_columns(inner.features, inner.action_dim)
        self.global_state_dim = len(self._global_cols) + 4 * len(self._layer_cols)

    @property
    def action_dim(self) -> int:  # Mava's base reads action_spec() as a method; this works on both
        return int(self._ganno.action_dim)

    def __repr__(self) -> str:
        return f"GannoMavaWrapper({self._env!r}, add_global_state={self.add_global_state})"

    # ------------------------------------------------------------------ timesteps
    def modify_timestep(self, timestep: TimeStep) -> TimeStep:
        obs = timestep.observation
        observation = MavaObservation(
            agents_view=jnp.asarray(obs.agents_view, jnp.float32),
            action_mask=jnp.asarray(obs.action_mask, bool),
            step_count=jnp.asarray(obs.step_count, jnp.int32),
        )
        return timestep.replace(observation=observation, extras=self.scalar_extras(timestep.extras))

    @staticmethod
    def scalar_extras(extras: Dict[str, Any]) -> Dict[str, chex.Array]:
        """A new dict with the per-environment scalar entries of ``extras``."""
        return {k: v for k, v in (extras or {}).items() if jnp.ndim(v) == 0}

    def get_global_state(self, obs: MavaObservation) -> chex.Array:
        """MAPPO's global state (N, G + 4 * Lf): global features, the agent's own layer
        features, and mean/min/max over all layers (``mava_ganno.mava.global_state``)."""
        return global_state(obs.agents_view, self._global_cols, self._layer_cols)

    # ------------------------------------------------------------------ specs
    @_spec
    def observation_spec(self) -> specs.Spec:
        inner = get_spec(self._env, "observation")
        n = self.num_agents
        data = {
            "agents_view": specs.Array(inner.agents_view.shape, jnp.float32, "agents_view"),
            "action_mask": inner.action_mask,
            "step_count": specs.BoundedArray((n,), jnp.int32, 0, self.time_limit, "step_count"),
        }
        if self.add_global_state:
            data["global_state"] = specs.Array((n, self.global_state_dim), jnp.float32, "global_state")
            return specs.Spec(ObservationGlobalState, "ObservationSpec", **data)
        return specs.Spec(MavaObservation, "ObservationSpec", **data)

    @_spec
    def action_spec(self) -> specs.MultiDiscreteArray:
        return get_spec(self._env, "action")

    @_spec
    def reward_spec(self) -> specs.Array:
        return get_spec(self._env, "reward")

    @_spec
    def discount_spec(self) -> specs.BoundedArray:
        return get_spec(self._env, "discount")


MAVA_REGISTRY_ENTRY = {"generator": InitialConditionsGenerator, "wrapper": GannoMavaWrapper}


def register_with_mava() -> None:
    """Register GANNO in Jumanji (``GANNO-v0``) and in Mava's Jumanji registry (idempotent).

    After this, Mava's ``make_env.make`` builds GANNO for any config whose
    ``env.scenario.name`` is ``GANNO-v0`` (``env=ganno``).
    """
    import mava.utils.make_env as mava_make_env

    registry = getattr(mava_make_env, "_jumanji_registry", None)
    if not isinstance(registry, dict):
        raise RuntimeError(
            "this Mava version has no dict mava.utils.make_env._jumanji_registry to register "
            "GANNO in; mava_ganno supports Mava's JAX version 0.2.x (develop, Oct 2024)."
        )
    registry[mava_ganno.ENV_ID] = dict(MAVA_REGISTRY_ENTRY)
