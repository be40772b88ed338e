"""Checkpoints of the full learner state, written atomically, for resuming a killed run.

Layout (Mava's ``checkpoints/<system>/<uid>/``, under ``logger.base_exp_path``)::

    <base_exp_path>/checkpoints/<system_name>/<uid>/
        ckpt_000010/              one per saved evaluation step (complete or absent)
            learner_state.msgpack the learner state's leaves (flax msgpack, no pickle)
            meta.json             step, timestep, tree structure, config
        policy/                   the final policy (mava_ganno.policy.save_policy)

Each checkpoint directory is written to a temporary directory and renamed into place, so a run
killed at any moment leaves only complete checkpoints. ``meta.json`` records the size and the
SHA-256 of ``learner_state.msgpack``; ``verify`` checks them (a checkpoint written before the
checksum existed is verified by parsing it), so a checkpoint damaged after it was written (a
truncated copy, a bad disk) is found before anything is built, and ``--resume`` falls back to
the newest intact one (``mava_ganno.systems.resume``). Restoring needs a template learner state
(the one a fresh run builds) and checks every leaf's shape and dtype against it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from typing import Any, Dict, List, Optional, Tuple

import jax
import numpy as np
from flax import serialization

from mava_ganno.policy import atomic_write_dir
from mava_ganno.policy.io import PolicyFileError, write_file

CKPT_RE = re.compile(r"^ckpt_(\d+)$")
STATE_FILE = "learner_state.msgpack"
META_FILE = "meta.json"
CHECKPOINTER_VERSION = 1


def checkpoint_root(base_exp_path: str, system_name: str) -> str:
    return os.path.join(base_exp_path, "checkpoints", system_name)


def latest_run(base_exp_path: str, system_name: str) -> Optional[str]:
    """The uid of the most recently modified run that holds a checkpoint, or None."""
    root = checkpoint_root(base_exp_path, system_name)
    if not os.path.isdir(root):
        return None
    runs = [d for d in os.listdir(root) if list_checkpoints(os.path.join(root, d))]
    if not runs:
        return None
    return max(runs, key=lambda d: os.path.getmtime(os.path.join(root, d)))


def list_checkpoints(run_dir: str) -> List[Tuple[int, str]]:
    """[(step, path)] of the complete checkpoints in a run directory, oldest first."""
    if not os.path.isdir(run_dir):
        return []
    out = []
    for name in os.listdir(run_dir):
        m = CKPT_RE.match(name)
        path = os.path.join(run_dir, name)
        if m and os.path.isfile(os.path.join(path, META_FILE)) and os.path.isfile(os.path.join(path, STATE_FILE)):
            out.append((int(m.group(1)), path))
    return sorted(out)


class Checkpointer:
    """Saves the learner state every ``save_interval_steps`` evaluation steps (Mava's args)."""

    def __init__(
        self,
        run_dir: str,
        metadata: Optional[Dict[str, Any]] = None,
        save_interval_steps: int = 1,
        max_to_keep: Optional[int] = 1,
        keep_period: Optional[int] = None,
    ):
        self.run_dir = run_dir
        self.metadata = metadata or {}
        self.save_interval_steps = int(save_interval_steps)
        self.max_to_keep = max_to_keep
        self.keep_period = keep_period
        os.makedirs(run_dir, exist_ok=True)

    def should_save(self, step: int) -> bool:
        return step % self.save_interval_steps == 0

    def save(self, step: int, timestep: int, learner_state: Any, extra: Optional[Dict[str, Any]] = None, force: bool = False) -> bool:
        """Save if ``step`` is on the interval (or ``force``). Returns whether it saved."""
        if not (force or self.should_save(step)):
            return False
        leaves, treedef = jax.tree_util.tree_flatten(jax.device_get(learner_state))
        blob = serialization.msgpack_serialize({str(i): np.asarray(x) for i, x in enumerate(leaves)})
        meta = {
            "checkpointer_version": CHECKPOINTER_VERSION,
            "step": int(step),
            "timestep": int(timestep),
            "num_leaves": len(leaves),
            "treedef": str(treedef),
            "state_bytes": len(blob),
            "state_sha256": hashlib.sha256(blob).hexdigest(),
            **(extra or {}),
            "metadata": self.metadata,
        }
        text = json.dumps(meta, indent=2, default=str)

        def write(tmp: str) -> None:
            write_file(os.path.join(tmp, STATE_FILE), blob)
            write_file(os.path.join(tmp, META_FILE), text)

        atomic_write_dir(os.path.join(self.run_dir, f"ckpt_{step:06d}"), write)
        self._prune()
        return True

    def _prune(self) -> None:
        if self.max_to_keep is None:
            return
        ckpts = list_checkpoints(self.run_dir)
        removable = [c for c in ckpts if not (self.keep_period and c[0] % self.keep_period == 0)]
        for _, path in removable[: max(0, len(ckpts) - self.max_to_keep)]:
            shutil.rmtree(path, ignore_errors=True)


class CheckpointFileError(PolicyFileError):
    """A damaged checkpoint file; the message names the file and what is wrong."""


def read_meta(path: str) -> Dict[str, Any]:
    """A checkpoint's ``meta.json``, or a ``CheckpointFileError`` naming it."""
    meta_path = os.path.join(path, META_FILE)
    try:
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointFileError(f"{meta_path}: unreadable ({type(e).__name__}: {e}).") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("num_leaves"), int) or "step" not in meta:
        raise CheckpointFileError(f"{meta_path}: not a checkpoint's metadata (no step / num_leaves).")
    return meta


def _read_state(path: str) -> Dict[str, Any]:
    state_path = os.path.join(path, STATE_FILE)
    try:
        with open(state_path, "rb") as f:
            raw = serialization.msgpack_restore(f.read())
    except Exception as e:  # msgpack's errors on damaged bytes: ValueError, ExtraData, TypeError ...
        raise CheckpointFileError(f"{state_path}: not a readable flax msgpack file ({type(e).__name__}: {e}).") from None
    if not isinstance(raw, dict):
        raise CheckpointFileError(f"{state_path}: expected the learner state's arrays, got {type(raw).__name__}.")
    return raw


def verify(path: str) -> Optional[str]:
    """None if the checkpoint at ``path`` is intact, else what is wrong (naming the file):
    ``meta.json`` must parse and ``learner_state.msgpack`` must have the size and SHA-256 it
    records (checkpoints written without a checksum are parsed instead)."""
    try:
        meta = read_meta(path)
        state_path = os.path.join(path, STATE_FILE)
        if "state_sha256" not in meta:
            raw = _read_state(path)
            if len(raw) != meta["num_leaves"]:
                return f"{state_path}: holds {len(raw)} arrays, {META_FILE} says {meta['num_leaves']}."
            return None
        size = os.path.getsize(state_path)
        if size != meta.get("state_bytes"):
            return f"{state_path}: {size} bytes, {META_FILE} records {meta.get('state_bytes')} (truncated or damaged)."
        digest = hashlib.sha256()
        with open(state_path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != meta["state_sha256"]:
            return f"{state_path}: its SHA-256 differs from the one in {META_FILE} (damaged)."
    except CheckpointFileError as e:
        return str(e)
    except OSError as e:
        return f"{path}: unreadable ({e})."
    return None


def restore(path: str, template: Any) -> Tuple[Any, Dict[str, Any]]:
    """Load a checkpoint directory into the structure of ``template``; returns (state, meta).

    A damaged file raises ``CheckpointFileError`` (a ``ValueError``) naming it."""
    meta = read_meta(path)
    raw = _read_state(path)
    t_leaves, treedef = jax.tree_util.tree_flatten(template)
    if meta["num_leaves"] != len(t_leaves) or len(raw) != len(t_leaves):
        raise ValueError(
            f"checkpoint {path} holds {meta['num_leaves']} arrays but this config's learner state has "
            f"{len(t_leaves)}: it was written by a different config or version."
        )
    leaves = []
    for i, t in enumerate(t_leaves):
        if str(i) not in raw:
            raise CheckpointFileError(f"{os.path.join(path, STATE_FILE)}: array {i} is missing (damaged file).")
        x = np.asarray(raw[str(i)])
        if x.shape != np.shape(t) or x.dtype != np.asarray(t).dtype:
            raise ValueError(
                f"checkpoint {path}: array {i} has shape {x.shape} {x.dtype}, the learner state expects "
                f"{np.shape(t)} {np.asarray(t).dtype} (different config, number of devices or agents?)."
            )
        leaves.append(x)
    return jax.tree_util.tree_unflatten(treedef, leaves), meta
