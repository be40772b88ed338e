"""Save/load of a ``GannoPolicy``: flax msgpack (parameters) plus JSON (everything else).

No pickle, and loading needs no dataset. Directories are written atomically.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from typing import Any, Dict

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from mava_ganno.policy.networks import NetworkConfig
from mava_ganno.policy.normalisation import ObsNormStats
from mava_ganno.policy.policy import GannoPolicy

POLICY_FORMAT = "ganno-policy/1"
CONFIG_FILE = "policy.json"
PARAMS_FILE = "params.msgpack"


def _to_numpy(tree: Any) -> Any:
    return jax.tree_util.tree_map(lambda x: np.asarray(x), tree)


def atomic_write_dir(directory: str, write_fn) -> str:
    """Write a directory atomically: ``write_fn(tmp_dir)`` then rename into place.

    Readers see either the old complete directory or the new complete one, never a partial
    one (an old one is moved aside, the new one renamed in, the old one deleted).
    """
    directory = os.path.abspath(directory)
    parent = os.path.dirname(directory)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(directory)}.tmp-", dir=parent)
    try:
        write_fn(tmp)
        old = None
        if os.path.exists(directory):
            old = os.path.join(parent, f".{os.path.basename(directory)}.old-{uuid.uuid4().hex}")
            os.rename(directory, old)
        os.rename(tmp, directory)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def policy_config(policy: GannoPolicy) -> Dict[str, Any]:
    """The JSON-able description of a policy (everything but the arrays)."""
    cfg: Dict[str, Any] = {
        "format": POLICY_FORMAT,
        "network": policy.network.to_dict(),
        "action_dim": policy.action_dim,
        "obs_dim": policy.obs_dim,
        "feature_names": list(policy.feature_names),
        "action_table": list(policy.action_table),
        "lr_max": policy.lr_max,
        "metadata": policy.metadata,
    }
    if policy.obs_norm is not None:
        cfg["obs_norm"] = {"min_std": policy.obs_norm.min_std, "clip": policy.obs_norm.clip}
    return cfg


def save_policy(directory: str, policy: GannoPolicy) -> str:
    """Save to ``directory`` (``policy.json`` + ``params.msgpack``), atomically."""
    state: Dict[str, Any] = {"actor": _to_numpy(serialization.to_state_dict(policy.params))}
    if policy.obs_norm is not None:
        n = policy.obs_norm
        state["obs_norm"] = _to_numpy(
            {"mean": n.mean, "var": n.var, "count": n.count, "norm_mask": n.norm_mask}
        )
    blob = serialization.msgpack_serialize(state)
    text = json.dumps(policy_config(policy), indent=2, sort_keys=True)

    def write(tmp: str) -> None:
        with open(os.path.join(tmp, PARAMS_FILE), "wb") as f:
            f.write(blob)
        with open(os.path.join(tmp, CONFIG_FILE), "w") as f:
            f.write(text + "\n")

    return atomic_write_dir(directory, write)


def load_policy(directory: str) -> GannoPolicy:
    """Load a policy saved by ``save_policy`` (needs no dataset and no training config)."""
    cfg_path, params_path = os.path.join(directory, CONFIG_FILE), os.path.join(directory, PARAMS_FILE)
    for path in (cfg_path, params_path):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} not found: is {directory!r} a directory written by save_policy?")
    with open(cfg_path) as f:
        cfg = json.load(f)
    if cfg.get("format") != POLICY_FORMAT:
        raise ValueError(f"{cfg_path}: unknown policy format {cfg.get('format')!r} (expected {POLICY_FORMAT!r}).")
    with open(params_path, "rb") as f:
        state = serialization.msgpack_restore(f.read())
    to_jnp = lambda t: jax.tree_util.tree_map(jnp.asarray, t)  # noqa: E731
    norm = None
    if "obs_norm" in state:
        s = state["obs_norm"]
        norm = ObsNormStats(
            to_jnp(s["mean"]), to_jnp(s["var"]), to_jnp(s["count"]), jnp.asarray(s["norm_mask"], bool),
            float(cfg["obs_norm"]["min_std"]), float(cfg["obs_norm"]["clip"]),
        )
    policy = GannoPolicy(
        params=to_jnp(state["actor"]),
        obs_norm=norm,
        network=NetworkConfig(**cfg["network"]),
        feature_names=tuple(cfg["feature_names"]),
        action_table=tuple(cfg["action_table"]),
        lr_max=float(cfg["lr_max"]),
        metadata_json=json.dumps(cfg.get("metadata", {}), sort_keys=True, default=str),
    )
    if policy.obs_dim != cfg["obs_dim"]:
        raise ValueError(f"{cfg_path}: obs_dim {cfg['obs_dim']} does not match its features ({policy.obs_dim}).")
    return policy
