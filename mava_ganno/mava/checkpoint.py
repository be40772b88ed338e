"""Load a policy trained by Mava's ``rec_ippo``/``rec_mappo`` on GANNO into a ``GannoPolicy``.

Mava (``logger.checkpointing.save_model=True``) writes a plain orbax checkpoint per run::

    checkpoints/<system_name>/<checkpoint_uid>/
        <step>/default/          orbax PyTree: {"learner_state": {"params": {"actor_params",
                                 "critic_params"}, "opt_states", "hstates", "env_state", ...}}
        <step>/metrics/metrics   JSON {"episode_return": <mean evaluation return>}
        metadata/metadata        JSON {"checkpointer_version": 1.0, **the run's Hydra config}

Mava keeps the ``max_to_keep`` steps with the best evaluation return. Loading needs neither
Mava nor the dataset: only orbax (a dependency of flax) and the JSON files. The actor's
parameters keep Mava's tree (``pre_torso/Dense_i``, ``ScannedRNN_0/GRUCell_*``,
``post_torso/Dense_i``, ``action_head/Dense_0``), which ``mava_ganno.policy.RecurrentActor``
mirrors; the observation features, action table and ``lr_max`` come from the saved config
(``env.kwargs`` merged with ``env.scenario.env_kwargs``, as Mava's ``make_env`` merges them),
so the policy then runs on any GANNO scenario with the same features and action table, e.g.
zero-shot on a deeper network::

    from mava_ganno.mava.checkpoint import load_mava_policy
    policy = load_mava_policy("/path/to/Mava/checkpoints/rec_ippo/<uid>")
    from mava_ganno.evaluation.harness import evaluate
    evaluate("mlp5-mnist_5k", [policy], seeds=1)

or ``python -m mava_ganno.evaluation.cli --scenario mlp5-mnist_5k --policy <that directory>``.
"""

from __future__ import annotations

import inspect
import json
import os
import warnings
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import jax
import jax.numpy as jnp
import numpy as np

from mava_ganno.evaluation.policies import FolderLoader
from mava_ganno.policy import GannoPolicy, NetworkConfig

METADATA_FILE = os.path.join("metadata", "metadata")
ITEM_DIR = "default"
METRICS_FILE = os.path.join("metrics", "metrics")
SUPPORTED_TORSOS = ("MLPTorso",)

Step = Union[int, str, None]


# ----------------------------------------------------------------------------- locating
def checkpoint_steps(directory: str) -> Tuple[int, ...]:
    """The saved steps (sorted) of a Mava checkpoint directory."""
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"Mava checkpoint directory {directory!r} does not exist; give "
            "<Mava run dir>/checkpoints/<system_name>/<checkpoint_uid>."
        )
    steps = sorted(
        int(name)
        for name in os.listdir(directory)
        if name.isdigit() and os.path.isdir(os.path.join(directory, name, ITEM_DIR))
    )
    if not steps:
        children = sorted(os.listdir(directory))[:10]
        hint = ""
        if any(os.path.isdir(os.path.join(directory, c, "metadata")) for c in children):
            hint = f" It holds runs {children}: pass one of them."
        raise FileNotFoundError(
            f"{directory!r} has no saved step (<step>/{ITEM_DIR}/ folders); is it a Mava "
            f"checkpoint directory checkpoints/<system_name>/<checkpoint_uid>?{hint}"
        )
    return tuple(steps)


def step_return(directory: str, step: int) -> Optional[float]:
    """The evaluation return Mava saved with ``step`` (``None`` if not recorded)."""
    path = os.path.join(directory, str(step), METRICS_FILE)
    try:
        with open(path) as f:
            value = json.load(f).get("episode_return")
    except (OSError, ValueError, AttributeError):
        return None
    return None if value is None else float(value)


def resolve_step(directory: str, step: Step = None) -> int:
    """``None``/``"latest"``: the last saved step (what Mava's own restore uses);
    ``"best"``: the saved step with the highest evaluation return; an int: that step."""
    steps = checkpoint_steps(directory)
    if step is None or step == "latest":
        return steps[-1]
    if step == "best":
        scored = [(r, s) for s in steps if (r := step_return(directory, s)) is not None]
        return max(scored)[1] if scored else steps[-1]
    if isinstance(step, str) and step.isdigit():
        step = int(step)
    if isinstance(step, (int, np.integer)) and not isinstance(step, bool):
        if int(step) not in steps:
            raise ValueError(f"step {step} is not saved in {directory!r}; saved steps: {list(steps)}.")
        return int(step)
    raise ValueError(f"step must be None, 'latest', 'best' or a saved step {list(steps)}, got {step!r}.")


def read_mava_config(directory: str) -> Dict[str, Any]:
    """The Hydra config Mava saved with the run (``metadata/metadata``), as a dict."""
    path = os.path.join(directory, METADATA_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} not found: Mava saves the run's config there; without it pass "
            "`config=` (a dict with the run's env and network sections) to load_mava_policy."
        )
    with open(path) as f:
        config = json.load(f)
    if not isinstance(config, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(config).__name__}.")
    return config


def restore_learner_state(directory: str, step: int) -> Dict[str, Any]:
    """The raw ``learner_state`` tree of one step (nested dicts of arrays)."""
    import orbax.checkpoint as ocp

    path = os.path.abspath(os.path.join(directory, str(step), ITEM_DIR))
    with warnings.catch_warnings():
        # Restoring without a target reads the sharding from the checkpoint (one host here).
        warnings.filterwarnings("ignore", message=".*[Ss]harding info.*")
        restored = ocp.PyTreeCheckpointer().restore(path)
    if not isinstance(restored, Mapping) or "learner_state" not in restored:
        keys = list(restored) if isinstance(restored, Mapping) else type(restored).__name__
        raise ValueError(f"{path}: not a Mava learner-state checkpoint (top-level keys: {keys}).")
    return restored["learner_state"]


# ----------------------------------------------------------------------------- conversion
def _get(d: Mapping[str, Any], *keys: str, default: Any = None) -> Any:
    for k in keys:
        if not isinstance(d, Mapping) or k not in d:
            return default
        d = d[k]
    return d


def env_constructor_kwargs(config: Mapping[str, Any]) -> Dict[str, Any]:
    """``{**env.kwargs, **env.scenario.env_kwargs}``, exactly what Mava passed to the env."""
    return {**(_get(config, "env", "kwargs") or {}), **(_get(config, "env", "scenario", "env_kwargs") or {})}


def _ganno_default(name: str) -> Any:
    from mava_ganno.env.env import REWARD_KEYWORDS, Ganno

    if name in REWARD_KEYWORDS:
        return REWARD_KEYWORDS[name]
    return inspect.signature(Ganno.__init__).parameters[name].default


def _torso_sizes(config: Mapping[str, Any], which: str) -> Tuple[Tuple[int, ...], str, bool]:
    torso = _get(config, "network", "actor_network", which)
    if not isinstance(torso, Mapping):
        raise ValueError(f"the saved config has no network.actor_network.{which}.")
    target = str(torso.get("_target_", ""))
    if target.rsplit(".", 1)[-1] not in SUPPORTED_TORSOS:
        raise ValueError(
            f"network.actor_network.{which}._target_ is {target!r}; GANNO observations are "
            f"feature vectors and mava_ganno runs {list(SUPPORTED_TORSOS)} torsos: train with "
            "Mava's network=rnn."
        )
    sizes = tuple(int(s) for s in torso.get("layer_sizes", ()))
    return sizes, str(torso.get("activation", "relu")), bool(torso.get("use_layer_norm", False))


def network_config(config: Mapping[str, Any]) -> NetworkConfig:
    """``NetworkConfig`` of the actor from Mava's ``network`` config section."""
    pre, act_pre, ln_pre = _torso_sizes(config, "pre_torso")
    post, act_post, ln_post = _torso_sizes(config, "post_torso")
    if (act_pre, ln_pre) != (act_post, ln_post):
        raise ValueError(
            f"pre_torso ({act_pre}, layer norm {ln_pre}) and post_torso ({act_post}, layer norm "
            f"{ln_post}) differ; mava_ganno's actor uses one activation/layer-norm setting."
        )
    hidden = _get(config, "network", "hidden_state_dim")
    if hidden is None:
        raise ValueError("the saved config has no network.hidden_state_dim.")
    return NetworkConfig(pre, post, int(hidden), act_pre, ln_pre)


def mava_actor_params(actor_params: Mapping[str, Any]) -> Dict[str, Any]:
    """Mava's actor variables -> mava_ganno's ``RecurrentActor`` variables.

    The only difference is the GRU cell's name: Mava's ``ScannedRNN`` creates a parameterless
    ``GRUCell`` (for the carry reset) before the real one, so its cell is ``GRUCell_1``;
    mava_ganno's is ``GRUCell_0``.
    """
    to_jnp = lambda t: jax.tree_util.tree_map(jnp.asarray, t)  # noqa: E731
    params = dict(actor_params)
    inner = dict(params.get("params", {}))
    rnn = dict(inner.get("ScannedRNN_0", {}))
    cells = sorted(k for k in rnn if k.startswith("GRUCell"))
    if len(cells) != 1:
        raise ValueError(f"expected one GRU cell under params/ScannedRNN_0, found {cells or 'none'}.")
    inner["ScannedRNN_0"] = {"GRUCell_0": rnn[cells[0]]}
    params["params"] = inner
    return to_jnp(params)


def _check_shapes(policy: GannoPolicy) -> None:
    """The restored parameters must have exactly the shapes of a fresh actor."""
    from mava_ganno.policy import ScannedRNN

    dummy = (
        jnp.zeros((1, 1, policy.obs_dim), jnp.float32),
        jnp.ones((1, 1, policy.action_dim), bool),
        jnp.zeros((1, 1), bool),
    )
    carry = ScannedRNN.initialize_carry((1,), policy.hidden_state_dim)
    expected = jax.eval_shape(lambda: policy.actor.init(jax.random.PRNGKey(0), carry, dummy))
    exp_leaves = {jax.tree_util.keystr(p): x.shape for p, x in jax.tree_util.tree_leaves_with_path(expected)}
    got_leaves = {jax.tree_util.keystr(p): tuple(np.shape(x)) for p, x in jax.tree_util.tree_leaves_with_path(policy.params)}
    if exp_leaves != got_leaves:
        diff = sorted(
            f"{k}: checkpoint {got_leaves.get(k)} vs expected {exp_leaves.get(k)}"
            for k in set(exp_leaves) | set(got_leaves)
            if exp_leaves.get(k) != got_leaves.get(k)
        )
        raise ValueError(
            "the checkpoint's actor does not match the config saved with it (observation "
            f"width {policy.obs_dim} from features {list(policy.feature_names)}, "
            f"{policy.action_dim} actions, network {policy.network.to_dict()}): " + "; ".join(diff[:6])
        )


def policy_from_mava(
    actor_params: Mapping[str, Any], config: Mapping[str, Any], metadata: Optional[Mapping[str, Any]] = None
) -> GannoPolicy:
    """A ``GannoPolicy`` from Mava actor variables and the run's (GANNO) config."""
    from mava_ganno.env.observations import resolve_features

    scenario_name = _get(config, "env", "scenario", "name")
    if scenario_name is not None and not str(scenario_name).startswith("GANNO"):
        raise ValueError(
            f"this checkpoint was trained on env.scenario.name={scenario_name!r}, not on GANNO "
            "(env=ganno); only GANNO policies load into a GannoPolicy."
        )
    add_agent_id = _get(config, "system", "add_agent_id")
    implicit = _get(config, "env", "implicit_agent_id")
    if add_agent_id is not None and bool(add_agent_id) and not bool(implicit):
        raise ValueError(
            "this policy was trained with one-hot agent ids in its observations "
            "(system.add_agent_id true and env.implicit_agent_id false), so it only runs on its "
            "training depth; retrain with env=ganno's implicit_agent_id: True."
        )
    kwargs = env_constructor_kwargs(config)
    single_agent = bool(kwargs.get("single_agent", _ganno_default("single_agent")))
    features = kwargs.get("features", _ganno_default("features"))
    feature_names = resolve_features(features if isinstance(features, str) else tuple(features), single_agent)
    action_table = tuple(str(a) for a in kwargs.get("action_table", _ganno_default("action_table")))
    lr_max = float(kwargs.get("lr_max", _ganno_default("lr_max")))
    meta = {
        "source": "mava",
        "single_agent": single_agent,
        "lr_decay": str(kwargs.get("lr_decay", _ganno_default("lr_decay"))),
        "difference_reward": bool(kwargs.get("difference_reward", _ganno_default("difference_reward"))),
        "scenario": _get(config, "env", "scenario", "task_name"),
        "system_name": _get(config, "logger", "system_name"),
        "mava_config": dict(config),
        **dict(metadata or {}),
    }
    policy = GannoPolicy(
        params=mava_actor_params(actor_params),
        obs_norm=None,  # Mava's systems feed raw observations
        network=network_config(config),
        feature_names=tuple(feature_names),
        action_table=action_table,
        lr_max=lr_max,
        metadata_json=json.dumps(meta, sort_keys=True, default=str),
    )
    _check_shapes(policy)
    return policy


def load_mava_policy(directory: str, step: Step = None, config: Optional[Mapping[str, Any]] = None) -> GannoPolicy:
    """Load the actor of a Mava ``rec_ippo``/``rec_mappo`` GANNO checkpoint as a ``GannoPolicy``.

    Args:
        directory: ``checkpoints/<system_name>/<checkpoint_uid>`` (under the directory the
            Mava system ran in).
        step: ``None``/``"latest"`` (Mava's default), ``"best"`` or a saved step.
        config: the run's config, if the checkpoint has no ``metadata/metadata``.

    The policy's ``metadata`` records the checkpoint, step, its evaluation return and the
    whole Mava config (``mava_config``).
    """
    directory = os.path.abspath(os.path.expanduser(directory))
    chosen = resolve_step(directory, step)
    config = dict(config) if config is not None else read_mava_config(directory)
    learner_state = restore_learner_state(directory, chosen)
    actor_params = _get(learner_state, "params", "actor_params")
    if actor_params is None:
        raise ValueError(f"{directory}/{chosen}: the learner state has no params/actor_params.")
    return policy_from_mava(
        actor_params,
        config,
        {"checkpoint": directory, "step": chosen, "episode_return": step_return(directory, chosen)},
    )




def is_mava_run_dir(path: str) -> bool:
    """Whether ``path`` looks like a Mava checkpoint run directory (``<step>/`` folders or
    ``metadata/``), as ``checkpoints/<system>/<uid>``."""
    children = os.listdir(path)
    return "metadata" in children or any(c.isdigit() for c in children)


# Registered in setup.py (entry point group mava_ganno.policy_loaders), so that `ganno evaluate
# --policy <Mava run dir>` works without the evaluation importing this seam.
LOADER = FolderLoader(
    "a Mava checkpoint run directory (<step>/ folders and metadata/, as in checkpoints/<system>/<uid>)",
    is_mava_run_dir,
    load_mava_policy,
)


__all__ = [
    "LOADER",
    "checkpoint_steps",
    "env_constructor_kwargs",
    "is_mava_run_dir",
    "load_mava_policy",
    "mava_actor_params",
    "network_config",
    "policy_from_mava",
    "read_mava_config",
    "resolve_step",
    "restore_learner_state",
]
