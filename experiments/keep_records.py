"""Keep a study run's finished steps in a folder git tracks, and put them back on a new machine.

    python experiments/keep_records.py RUN RECORDS [--cache CACHE]             # keep
    python experiments/keep_records.py RUN RECORDS [--cache CACHE] --restore   # put back

A study chain (``experiments/study_demonstrations.sh`` and the rescoring after it) writes into RUN,
a folder outside git that a lost machine loses. Keeping copies into RECORDS, rerunnable (run it
every few minutes beside the chain and commit RECORDS), what the chain's next call would skip:

- each finished demonstration group (``demos.npz.parts/groupNNN.npz``), compressed; a part being
  written (``*.tmp.npz``) is left;
- each finished policy folder (one holding ``policy.json``, at any depth: the clones, an RL run's
  ``policy_best``) and each RL run's ``done`` file; an RL run's checkpoints are not kept (a run
  lost part-way starts again);
- the score rows, rule files and logs at RUN's top level (``*.jsonl``, ``*.part``, ``*.md``,
  ``*.txt``, ``*.log``): copied again whenever RUN's copy is newer and differs;
- with ``--cache``, the suite's reference cache (``<hash>.npz`` files of
  ``rescore_validation.py --reference-cache``) into ``RECORDS/reference_cache``.

``--restore`` copies all of RECORDS back into RUN (the chain's scripts too; ``reference_cache``
into CACHE), never over a file RUN already has, with the files' times, so the chain's next call
goes on from the kept steps and a later keep copies only what the chain changed. Both directions print
one line per file copied.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import sys
from typing import Iterator, List, Optional

import numpy as np

PARTS = "demos.npz.parts"
TOP_LEVEL = (".jsonl", ".part", ".md", ".txt", ".log")
CACHE = "reference_cache"


def _copy(src: str, dst: str, replace: bool) -> bool:
    """``src`` -> ``dst`` with its modification time, through a temporary name (whole or not at
    all). An existing ``dst`` is replaced only with ``replace`` and a newer, different ``src`` (a
    log the chain wrote since; not a file edited in RECORDS after it was restored). False when
    nothing was copied."""
    if os.path.exists(dst) and (not replace or os.path.getmtime(src) <= os.path.getmtime(dst)
                                or filecmp.cmp(src, dst, shallow=False)):
        return False
    os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
    tmp = dst + ".keeping"
    shutil.copy2(src, tmp)
    os.replace(tmp, dst)
    return True


def _compress_part(src: str, dst: str) -> bool:
    if os.path.exists(dst):
        return False
    with np.load(src, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    tmp = dst[: -len(".npz")] + ".tmp.npz"
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, dst)
    return True


def _finished_files(run: str) -> Iterator[str]:
    """RUN-relative paths of the files of every finished policy folder and every ``done`` file."""
    for root, dirs, files in os.walk(run):
        dirs[:] = sorted(d for d in dirs if d != PARTS)
        rel = os.path.relpath(root, run)
        if "policy.json" in files:
            for name in sorted(files):
                yield os.path.normpath(os.path.join(rel, name))
        elif "done" in files and rel != ".":
            yield os.path.join(rel, "done")


def keep(run: str, records: str, cache: Optional[str] = None) -> List[str]:
    kept = []
    parts = os.path.join(run, PARTS)
    if os.path.isdir(parts):
        for name in sorted(os.listdir(parts)):
            if name.startswith("group") and name.endswith(".npz") and not name.endswith(".tmp.npz"):
                if _compress_part(os.path.join(parts, name), os.path.join(records, PARTS, name)):
                    kept.append(os.path.join(PARTS, name))
    for rel in _finished_files(run):
        if _copy(os.path.join(run, rel), os.path.join(records, rel), replace=False):
            kept.append(rel)
    for name in sorted(os.listdir(run)):
        if name.endswith(TOP_LEVEL) and os.path.isfile(os.path.join(run, name)):
            if _copy(os.path.join(run, name), os.path.join(records, name), replace=True):
                kept.append(name)
    if cache and os.path.isdir(cache):
        for name in sorted(os.listdir(cache)):
            if name.endswith(".npz") and not name.endswith(".tmp.npz"):
                if _copy(os.path.join(cache, name), os.path.join(records, CACHE, name), replace=True):
                    kept.append(os.path.join(CACHE, name))
    return kept


def restore(run: str, records: str, cache: Optional[str] = None) -> List[str]:
    put = []
    for root, dirs, files in os.walk(records):
        dirs.sort()
        rel = os.path.relpath(root, records)
        for name in sorted(files):
            path = os.path.normpath(os.path.join(rel, name))
            if path.split(os.sep)[0] == CACHE:
                if cache and _copy(os.path.join(records, path), os.path.join(cache, name), replace=False):
                    put.append(os.path.join(cache, name))
            elif _copy(os.path.join(records, path), os.path.join(run, path), replace=False):
                put.append(path)
    return put


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="keep_records.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="the study run's folder (outside git)")
    p.add_argument("records", help="the folder git tracks")
    p.add_argument("--cache", default=None, help="the suite's reference cache folder (--reference-cache)")
    p.add_argument("--restore", action="store_true", help="copy RECORDS back into RUN (and CACHE)")
    args = p.parse_args(argv)
    src = args.records if args.restore else args.run
    if not os.path.isdir(src):
        print(f"error: {src} is not a folder; give the {'records' if args.restore else 'run'} folder.", file=sys.stderr)
        return 2
    done = (restore if args.restore else keep)(args.run, args.records, args.cache)
    for path in done:
        print(f"{'restored' if args.restore else 'kept'} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
