"""Resuming a training run: which checkpoint, whether the config still matches it, and the
checkpoint's learner state (``logger.checkpointing.load_model=True``, ``ganno train --resume``).

Checkpoints are written by ``mava_ganno.utils.checkpointing``; a run resumed from its last
checkpoint ends with the parameters of the uninterrupted run. A damaged checkpoint (its
learner state's size or checksum does not match its ``meta.json``, or a file does not parse)
is skipped with a warning naming it, and the run resumes from the newest intact one; if none
is intact, a ``ConfigError`` names the damaged files."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import jax.numpy as jnp
from omegaconf import DictConfig, OmegaConf

from mava_ganno.policy.io import ensure_writable_dir, save_policy
from mava_ganno.utils import checkpointing
from mava_ganno.utils.config import ConfigError

# Config sections a resumed run must share with its checkpoint, but for these keys (derived,
# or evaluation-only: they do not change the learner's trajectory).
RESUME_SECTIONS = ("system", "arch", "network", "env")
RESUME_IGNORED = {
    "system.num_agents",
    "arch.num_eval_episodes",
    "arch.evaluation_greedy",
    "arch.absolute_metric",
    "arch.num_absolute_metric_eval_episodes",
}


class ResumePoint(NamedTuple):
    uid: str  # the run being resumed
    path: str  # its last complete checkpoint


def config_diff(a: Dict[str, Any], b: Dict[str, Any], prefix: str = "") -> List[str]:
    """``"key: checkpoint x != now y"`` for every leaf that differs between two config dicts."""
    keys = []
    for k in sorted(set(a) | set(b)):
        ka = f"{prefix}{k}"
        va, vb = a.get(k, "<absent>"), b.get(k, "<absent>")
        if isinstance(va, dict) and isinstance(vb, dict):
            keys += config_diff(va, vb, ka + ".")
        elif va != vb:
            keys.append(f"{ka}: checkpoint {va!r} != now {vb!r}")
    return keys


def find_resume_point(config: DictConfig) -> Optional[ResumePoint]:
    """The checkpoint to resume from (None when ``load_model`` is off), checked against the
    config before anything is built: a ``ConfigError`` names every differing key."""
    ckpt_cfg = config.logger.checkpointing
    if not ckpt_cfg.load_model:
        return None
    base, system = config.logger.base_exp_path, config.logger.system_name
    uid = ckpt_cfg.load_args.checkpoint_uid or checkpointing.latest_run(base, system)
    if not uid:
        raise ConfigError(
            f"logger.checkpointing.load_model=True (--resume) but no checkpoint exists under "
            f"{checkpointing.checkpoint_root(base, system)}."
        )
    ckpts = checkpointing.list_checkpoints(os.path.join(checkpointing.checkpoint_root(base, system), str(uid)))
    if not ckpts:
        raise ConfigError(f"logger.checkpointing.load_args.checkpoint_uid={uid!r}: no complete checkpoint in it.")
    path, bad = None, []
    for _, candidate in reversed(ckpts):
        problem = checkpointing.verify(candidate)
        if problem is None:
            path = candidate
            break
        bad.append(problem)
        print(f"warning: --resume skips the damaged checkpoint {candidate}: {problem}", file=sys.stderr)
    if path is None:
        raise ConfigError(
            f"logger.checkpointing.load_model=True (--resume): no intact checkpoint in run {uid!r}: "
            + " ".join(bad) + " Start a fresh run, or pick another run with logger.checkpointing.load_args.checkpoint_uid."
        )
    if bad:
        print(f"warning: resuming from the older checkpoint {path}", file=sys.stderr)
    saved_cfg = checkpointing.read_meta(path).get("metadata", {}).get("config", {})
    now_cfg = OmegaConf.to_container(config, resolve=True)
    diff = [
        d for s in RESUME_SECTIONS
        for d in config_diff(saved_cfg.get(s, {}), now_cfg.get(s, {}), s + ".")
        if d.split(":")[0] not in RESUME_IGNORED
    ]
    if diff:
        raise ConfigError("cannot resume: the config differs from the checkpoint's: " + "; ".join(diff))
    return ResumePoint(str(uid), path)


def check_output_dir(config: DictConfig, point: Optional[ResumePoint] = None) -> str:
    """Create ``logger.base_exp_path``'s checkpoint folder (checkpoints and the final policy go
    there, even with ``save_model=False``) and write and remove a probe file in it, and in the
    run being resumed, before anything is built: a ``ConfigError`` names the path otherwise."""
    base = str(config.logger.base_exp_path)
    root = checkpointing.checkpoint_root(base, config.logger.system_name)
    fix = f"set logger.base_exp_path to a folder you can write to (now {base!r})."
    try:
        for path in [base, root] + ([os.path.dirname(point.path)] if point is not None else []):
            ensure_writable_dir(path, fix)
    except OSError as e:
        raise ConfigError(f"logger.base_exp_path: {e.strerror or e}") from None
    return root


def save_final_policy(run_dir: str, policy: Any, save: Any = None) -> str:
    """Save the trained policy in ``<run_dir>/policy``; where that fails (a full disk, the folder
    gone or made read-only during training) save it in a new temporary folder instead, say so
    on stderr naming both, and return where it is. Only if both fail is the error raised."""
    save = save_policy if save is None else save
    path = os.path.join(run_dir, "policy")
    try:
        save(path, policy)
        return path
    except OSError as e:
        rescue = os.path.join(tempfile.mkdtemp(prefix="ganno-policy-"), "policy")
        save(rescue, policy)
        print(f"error: could not save the policy to {path}: {e.strerror or e}; it was saved to {rescue} instead.",
              file=sys.stderr)
        return rescue


def restore(point: ResumePoint, template: Any) -> Tuple[Any, Any, int]:
    """(learner state on the host, evaluation key, evaluation steps already done)."""
    state, meta = checkpointing.restore(point.path, template)
    return state, jnp.asarray(meta["eval_key"], jnp.uint32), int(meta["step"])


def make_checkpointer(config: DictConfig, run_dir: str, resuming: bool) -> Optional[checkpointing.Checkpointer]:
    """The run's checkpointer (None if ``save_model`` is off). A fresh run reusing a uid first
    removes that uid's old checkpoints, so a later ``--resume`` cannot pick them up."""
    ckpt_cfg = config.logger.checkpointing
    if not ckpt_cfg.save_model:
        return None
    stale = [] if resuming else checkpointing.list_checkpoints(run_dir)
    if stale:
        print(f"note: removing {len(stale)} checkpoint(s) of an earlier run in {run_dir}")
        for _, path in stale:
            shutil.rmtree(path, ignore_errors=True)
    sa = ckpt_cfg.save_args
    cfg = OmegaConf.to_container(config, resolve=True)
    return checkpointing.Checkpointer(run_dir, {"config": cfg}, sa.save_interval_steps, sa.max_to_keep, sa.keep_period)


def interrupted_training(e: BaseException, resume: str) -> str:
    """What an interrupted ``run_experiment`` kept, in one sentence ending with ``resume`` (the
    command that continues it) when there is a checkpoint to continue from."""
    info = getattr(e, "training", None)
    if info is None:
        return "training had not started; nothing was kept. Run the same command again."
    if not info["saving"] and not checkpointing.list_checkpoints(info["run_dir"]):
        return "checkpointing is off (logger.checkpointing.save_model=False), so nothing was kept. Run the same command again."
    ckpts = checkpointing.list_checkpoints(info["run_dir"])
    if not ckpts:
        return (f"no checkpoint was written yet (one every {info['every']} evaluations), so there is nothing to resume. "
                "Run the same command again.")  # fmt: skip
    path = ckpts[-1][1]
    done = checkpointing.read_meta(path).get("timestep", "?")
    return f"the last checkpoint is {path} (timestep {done} of {info['total']}); {resume} continues from it."
