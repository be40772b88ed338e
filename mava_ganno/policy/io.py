"""Save/load of a ``GannoPolicy``: flax msgpack (parameters) plus JSON (everything else).

No pickle, and loading needs no dataset. Directories are written atomically.

Loading validates everything before returning: a file that does not parse, a config that is
not what ``save_policy`` writes, an unknown network key or a parameter array whose shape does
not match a network freshly built from the stored config raises ``PolicyFileError`` (a
``ValueError``) naming the file and what is wrong, so a bad policy fails at load time, not at
its first use. Writes that fail (a full disk, no permission) raise an ``OSError`` naming the
path being written; ``ensure_writable_dir`` checks an output folder up front.

Shipped policies: ``SHIPPED_POLICIES`` names the policies that ship inside the package
(``mava_ganno/policies/<name>/``, with a ``MODEL_CARD.md``); ``load_policy("default")`` loads
one when no folder of that name exists in the working directory (and refuses to guess when one
does), ``load_shipped_policy(name)`` always loads the shipped one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.resources
import json
import math
import os
import shutil
import tempfile
import uuid
from typing import Any, Dict, Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from mava_ganno.policy.networks import NetworkConfig
from mava_ganno.policy.normalisation import ObsNormStats
from mava_ganno.policy.policy import GannoPolicy, check_layer_actions

POLICY_FORMAT = "ganno-policy/1"
CONFIG_FILE = "policy.json"
PARAMS_FILE = "params.msgpack"
SHIPPED_POLICIES = ("default",)  # folders of mava_ganno/policies/, installed as package data


class PolicyFileError(ValueError):
    """A saved policy file that cannot be used; the message names the file and what is wrong."""


def _oserror_naming(e: OSError, path: str, what: Optional[str] = None) -> OSError:
    """``e`` (same errno, so the same OSError subclass) with ``path`` named in its message."""
    detail = e.strerror or str(e)
    return OSError(e.errno, f"{detail} while writing {what or path}", e.filename or path)


def write_file(path: str, data: Any) -> str:
    """Write ``data`` (bytes or str) to ``path``; an OSError (e.g. a full disk, errno 28, which
    ``write`` raises without a file name) names ``path``."""
    try:
        with open(path, "wb" if isinstance(data, (bytes, bytearray)) else "w") as f:
            f.write(data)
    except OSError as e:
        raise _oserror_naming(e, path) from e
    return path


def ensure_writable_dir(path: str, fix: str = "choose a folder you can write to") -> str:
    """Create ``path`` (and its parents) and write and remove a probe file in it, so that an
    unwritable output is found before any work is done. Raises an ``OSError`` (the same
    subclass: ``PermissionError``, ``NotADirectoryError``, ...) whose message names the path,
    the reason and ``fix``. Returns the absolute path."""
    path = os.path.abspath(path)
    probe = os.path.join(path, f".ganno-write-probe-{uuid.uuid4().hex}")
    try:
        os.makedirs(path, exist_ok=True)
        with open(probe, "w") as f:
            f.write("probe\n")
    except OSError as e:
        reason = e.strerror or str(e)
        culprit = f" ({e.filename})" if e.filename and os.path.abspath(str(e.filename)) not in (path, probe) else ""
        raise OSError(e.errno, f"cannot write to {path}{culprit}: {reason}; {fix}", path) from None
    finally:
        if os.path.lexists(probe):  # also when the write failed (a full disk creates it empty)
            os.remove(probe)
    return path


def _to_numpy(tree: Any) -> Any:
    return jax.tree_util.tree_map(lambda x: np.asarray(x), tree)


def atomic_write_dir(directory: str, write_fn) -> str:
    """Write a directory atomically: ``write_fn(tmp_dir)`` then rename into place.

    Readers see either the old complete directory or the new complete one, never a partial
    one (an old one is moved aside, the new one renamed in, the old one deleted).
    """
    directory = os.path.abspath(directory)
    parent = os.path.dirname(directory)
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(directory)}.tmp-", dir=parent)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would make the folder private
    except OSError as e:
        raise _oserror_naming(e, directory) from e
    try:
        write_fn(tmp)
        old = None
        if os.path.exists(directory):
            old = os.path.join(parent, f".{os.path.basename(directory)}.old-{uuid.uuid4().hex}")
            os.rename(directory, old)
        os.rename(tmp, directory)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        name = str(e.filename) if e.filename else None
        if name and name.startswith(tmp):  # name the file as it would have been in place
            name = directory + name[len(tmp):]
        raise OSError(e.errno, f"{e.strerror or e} while writing {directory}", name or directory) from e
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
    if policy.layer_actions != "own":  # written only when set, so older policies' files are unchanged
        cfg["layer_actions"] = policy.layer_actions
    if policy.obs_norm is not None:
        cfg["obs_norm"] = {"min_std": policy.obs_norm.min_std, "clip": policy.obs_norm.clip}
    return cfg


def _policy_bytes(policy: GannoPolicy) -> Tuple[bytes, str]:
    """(``params.msgpack`` bytes, ``policy.json`` text) of ``policy``: what ``save_policy`` writes."""
    state: Dict[str, Any] = {"actor": _to_numpy(serialization.to_state_dict(policy.params))}
    if policy.obs_norm is not None:
        n = policy.obs_norm
        state["obs_norm"] = _to_numpy(
            {"mean": n.mean, "var": n.var, "count": n.count, "norm_mask": n.norm_mask}
        )
    return serialization.msgpack_serialize(state), json.dumps(policy_config(policy), indent=2, sort_keys=True)


def save_policy(directory: str, policy: GannoPolicy) -> str:
    """Save to ``directory`` (``policy.json`` + ``params.msgpack``), atomically."""
    blob, text = _policy_bytes(policy)

    def write(tmp: str) -> None:
        write_file(os.path.join(tmp, PARAMS_FILE), blob)
        write_file(os.path.join(tmp, CONFIG_FILE), text + "\n")

    return atomic_write_dir(directory, write)


def policy_digest(policy: GannoPolicy) -> str:
    """sha256 of what defines ``policy`` (its weights, normalisation statistics and settings,
    serialised as ``save_policy`` writes them): equal digests, equal actions."""
    blob, text = _policy_bytes(policy)
    return hashlib.sha256(blob + b"\0" + text.encode()).hexdigest()


def policy_folder_digest(directory: str) -> str:
    """sha256 over the files a saved policy is loaded from (``policy.json`` and
    ``params.msgpack``: names and bytes), so a retrained policy at the same path is told apart
    while an edited model card or note in the folder is not."""
    h = hashlib.sha256()
    for name in (CONFIG_FILE, PARAMS_FILE):
        h.update(name.encode())
        with open(os.path.join(directory, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def _read_config(cfg_path: str) -> Dict[str, Any]:
    """``policy.json`` as a dict with the keys ``save_policy`` writes, or a PolicyFileError."""
    try:
        with open(cfg_path, encoding="utf-8") as f:
            cfg = json.load(f)
    except UnicodeDecodeError as e:
        raise PolicyFileError(f"{cfg_path}: not a text file ({e.reason} at byte {e.start}); the file is corrupt.") from None
    except json.JSONDecodeError as e:
        raise PolicyFileError(f"{cfg_path}: not valid JSON ({e.msg}, line {e.lineno} column {e.colno}); the file is corrupt.") from None
    if not isinstance(cfg, dict):
        raise PolicyFileError(f"{cfg_path}: expected a JSON object written by save_policy, got a JSON {type(cfg).__name__}.")
    if cfg.get("format") != POLICY_FORMAT:
        raise PolicyFileError(f"{cfg_path}: unknown policy format {cfg.get('format')!r} (expected {POLICY_FORMAT!r}).")
    missing = [k for k in ("network", "feature_names", "action_table", "lr_max", "obs_dim") if k not in cfg]
    if missing:
        raise PolicyFileError(f"{cfg_path}: missing key(s) {missing}; it was not written by save_policy or is damaged.")
    return cfg


def _network_config(cfg_path: str, net: Any) -> NetworkConfig:
    if not isinstance(net, dict):
        raise PolicyFileError(f"{cfg_path}: 'network' must be an object of network sizes, got {net!r}.")
    known = [f.name for f in dataclasses.fields(NetworkConfig)]
    unknown = sorted(set(net) - set(known))
    if unknown:
        raise PolicyFileError(f"{cfg_path}: unknown key(s) {unknown} in 'network'; known keys: {known}.")
    try:
        return NetworkConfig(**net)
    except (TypeError, ValueError) as e:
        raise PolicyFileError(f"{cfg_path}: invalid 'network' {net}: {e}") from None


def _check_fields(cfg_path: str, cfg: Dict[str, Any]) -> None:
    from mava_ganno.env.actions import ActionTable
    from mava_ganno.env.observations import resolve_features

    names, table, lr_max = cfg["feature_names"], cfg["action_table"], cfg["lr_max"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise PolicyFileError(f"{cfg_path}: 'feature_names' must be a list of strings, got {names!r}.")
    if not isinstance(table, list):
        raise PolicyFileError(f"{cfg_path}: 'action_table' must be a list of strings, got {table!r}.")
    try:
        resolve_features(tuple(names))
        ActionTable.from_strings(tuple(table))
    except ValueError as e:
        raise PolicyFileError(f"{cfg_path}: {e}") from None
    if isinstance(lr_max, bool) or not isinstance(lr_max, (int, float)) or not 0 < lr_max < math.inf:
        raise PolicyFileError(f"{cfg_path}: 'lr_max' must be a finite number > 0, got {lr_max!r}.")
    try:
        check_layer_actions(cfg.get("layer_actions", "own"), "'layer_actions'")
    except ValueError as e:
        raise PolicyFileError(f"{cfg_path}: {e}") from None
    norm = cfg.get("obs_norm")
    if norm is not None and not (isinstance(norm, dict) and {"min_std", "clip"} <= set(norm)):
        raise PolicyFileError(f"{cfg_path}: 'obs_norm' must be an object with min_std and clip, got {norm!r}.")


def _read_params(params_path: str) -> Dict[str, Any]:
    with open(params_path, "rb") as f:
        blob = f.read()
    try:
        state = serialization.msgpack_restore(blob)
    except Exception as e:  # msgpack raises ValueError / ExtraData / TypeError ... on damaged bytes
        raise PolicyFileError(
            f"{params_path}: not a readable flax msgpack file ({type(e).__name__}: {e}; {len(blob)} bytes): "
            "the file is truncated or corrupt; save the policy again (ganno train writes <run>/policy)."
        ) from None
    if not isinstance(state, dict) or not isinstance(state.get("actor"), dict):
        found = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise PolicyFileError(f"{params_path}: expected the 'actor' parameters written by save_policy; found {found}.")
    return state


def _check_shapes(params_path: str, what: str, found: Any, expected: Any) -> None:
    """Every leaf of ``found`` has the shape (and kind) of ``expected`` (a shape tree), and the
    two trees hold the same arrays; else a PolicyFileError naming the first culprit."""
    exp = {jax.tree_util.keystr(k): v for k, v in jax.tree_util.tree_flatten_with_path(expected)[0]}
    got = {jax.tree_util.keystr(k): v for k, v in jax.tree_util.tree_flatten_with_path(found)[0]}
    missing, extra = sorted(set(exp) - set(got)), sorted(set(got) - set(exp))
    if missing or extra:
        raise PolicyFileError(
            f"{params_path}: the {what} do not match the network in {CONFIG_FILE}"
            + (f"; missing {missing[:5]}" if missing else "") + (f"; unexpected {extra[:5]}" if extra else "") + "."
        )
    for k, e in exp.items():
        x = np.asarray(got[k])
        if x.shape != tuple(e.shape) or (x.dtype.kind != np.dtype(e.dtype).kind):
            raise PolicyFileError(
                f"{params_path}: {what} {k} has shape {x.shape} {x.dtype}, the network in {CONFIG_FILE} "
                f"needs {tuple(e.shape)} {np.dtype(e.dtype)}; the files do not belong together or are damaged."
            )


def shipped_policy_dir(name: str = "default") -> str:
    """The folder of the shipped policy ``name`` (one of ``SHIPPED_POLICIES``) in the installed
    package: ``mava_ganno/policies/<name>/`` (``policy.json``, ``params.msgpack``, ``MODEL_CARD.md``)."""
    if name not in SHIPPED_POLICIES:
        raise ValueError(f"no shipped policy named {name!r}; the shipped policies are {list(SHIPPED_POLICIES)}.")
    path = str(importlib.resources.files("mava_ganno") / "policies" / name)
    if not os.path.isfile(os.path.join(path, PARAMS_FILE)):
        raise FileNotFoundError(
            f"the shipped policy {name!r} is missing from this installation ({path}); reinstall mava_ganno "
            "from a wheel or a source checkout that has mava_ganno/policies/ (it is package data)."
        )
    return path


def load_shipped_policy(name: str = "default") -> GannoPolicy:
    """Load the policy ``name`` shipped with mava_ganno (see its ``MODEL_CARD.md`` in
    ``shipped_policy_dir(name)``), whatever folders the working directory holds."""
    return load_policy(shipped_policy_dir(name))


def resolve_policy_dir(directory: str, command_line: bool = False) -> str:
    """``directory``, or the shipped policy's folder when ``directory`` is a shipped name
    (``"default"``) and nothing of that name exists here; both existing is a
    ``PolicyFileError`` that says how to pick either (in Python, or with ``command_line`` as
    command-line arguments). The one place that decides what a policy name means."""
    if not isinstance(directory, str) or directory not in SHIPPED_POLICIES:
        return directory
    if os.path.lexists(directory):
        pick = (
            f"give './{directory}' for the folder or {shipped_policy_dir(directory)} for the shipped policy"
            if command_line
            else f"load the folder with load_policy('./{directory}') or the shipped policy with "
            f"load_shipped_policy({directory!r})"
        )
        raise PolicyFileError(
            f"policy {directory!r} is ambiguous: {os.path.abspath(directory)} exists in the working "
            f"directory and {directory!r} is also the name of the policy shipped with mava_ganno; {pick}."
        )
    return shipped_policy_dir(directory)


def load_policy(directory: str) -> GannoPolicy:
    """Load a policy saved by ``save_policy`` (needs no dataset and no training config).

    ``directory`` is a folder written by ``save_policy`` or the name of a shipped policy
    (``SHIPPED_POLICIES``: ``"default"``), used when no file or folder of that name exists in
    the working directory; when one does, ``PolicyFileError`` says how to pick either.

    Raises ``FileNotFoundError`` when a file is missing and ``PolicyFileError`` (a
    ``ValueError`` naming the file) when one is corrupt or does not match the other.
    """
    directory = resolve_policy_dir(directory)
    cfg_path, params_path = os.path.join(directory, CONFIG_FILE), os.path.join(directory, PARAMS_FILE)
    for path in (cfg_path, params_path):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} not found: is {directory!r} a directory written by save_policy?")
    cfg = _read_config(cfg_path)
    network = _network_config(cfg_path, cfg["network"])
    _check_fields(cfg_path, cfg)
    state = _read_params(params_path)
    to_jnp = lambda t: jax.tree_util.tree_map(jnp.asarray, t)  # noqa: E731
    shell = GannoPolicy(
        params=None, obs_norm=None, network=network, feature_names=tuple(cfg["feature_names"]),
        action_table=tuple(cfg["action_table"]), lr_max=float(cfg["lr_max"]),
        layer_actions=cfg.get("layer_actions", "own"),
    )  # fmt: skip
    if shell.obs_dim != cfg["obs_dim"]:
        raise PolicyFileError(f"{cfg_path}: obs_dim {cfg['obs_dim']} does not match its features ({shell.obs_dim}).")
    dummy = (
        jnp.zeros((1, 1, shell.obs_dim), jnp.float32),
        jnp.ones((1, 1, shell.action_dim), bool),
        jnp.zeros((1, 1), bool),
    )
    expected = jax.eval_shape(shell.actor.init, jax.random.PRNGKey(0), shell.init_hidden(1), dummy)
    _check_shapes(params_path, "actor parameters", state["actor"], expected)
    norm = None
    if ("obs_norm" in state) != (cfg.get("obs_norm") is not None):
        raise PolicyFileError(
            f"{directory}: {PARAMS_FILE} {'holds' if 'obs_norm' in state else 'lacks'} observation-normalisation "
            f"statistics but {CONFIG_FILE} {'lacks' if 'obs_norm' in state else 'holds'} their settings; the files do not belong together."
        )
    if "obs_norm" in state:
        s = state["obs_norm"]
        f = shell.obs_dim
        vec = jax.ShapeDtypeStruct((f,), np.float32)
        want = {"mean": vec, "var": vec, "count": jax.ShapeDtypeStruct((), np.float32), "norm_mask": jax.ShapeDtypeStruct((f,), np.bool_)}
        found = s if isinstance(s, dict) else {}
        _check_shapes(params_path, "observation statistics", found, want)
        norm = ObsNormStats(
            to_jnp(s["mean"]), to_jnp(s["var"]), to_jnp(s["count"]), jnp.asarray(s["norm_mask"], bool),
            float(cfg["obs_norm"]["min_std"]), float(cfg["obs_norm"]["clip"]),
        )
    return shell.replace(
        params=to_jnp(state["actor"]),
        obs_norm=norm,
        metadata_json=json.dumps(cfg.get("metadata", {}), sort_keys=True, default=str),
    )
