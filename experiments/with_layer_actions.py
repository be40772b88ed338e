"""Copy saved policies with another ``layer_actions`` setting, nothing else changed.

``layer_actions="shared"`` makes every layer take one action per decision, the most likely joint
one (``GannoPolicy.act``); the study's round 21 (docs/lab/2026-12-05-study-plan.md) scores such
copies of cloned policies on the validation suite. The weights are copied byte for byte.

Usage::

    python experiments/with_layer_actions.py shared --out results/study-shared-actions \\
        docs/results/study-wsd-decay-clone-above-3seeds/clone_s0 ...

Each source folder ``.../<name>`` is written to ``<out>/<name>`` (refused if it exists, or if two
sources share a name).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from mava_ganno.policy import LAYER_ACTIONS, PARAMS_FILE, load_policy, save_policy


def copy_with_layer_actions(source: str, out: str, layer_actions: str) -> str:
    """Write ``source``'s policy with ``layer_actions`` to ``out``; returns ``out``."""
    if os.path.exists(out):
        raise FileExistsError(f"{out} exists; remove it or choose another --out.")
    save_policy(out, load_policy(source).replace(layer_actions=layer_actions))
    with open(os.path.join(source, PARAMS_FILE), "rb") as a, open(os.path.join(out, PARAMS_FILE), "rb") as b:
        if a.read() != b.read():  # the weights must be the source's, not a re-serialisation of them
            raise RuntimeError(f"{out}/{PARAMS_FILE} differs from {source}'s; nothing else may change.")
    return out


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("layer_actions", choices=LAYER_ACTIONS)
    p.add_argument("sources", nargs="+", help="saved policy folders")
    p.add_argument("--out", required=True, help="folder the copies go in, one subfolder per source")
    args = p.parse_args(argv)
    names = [os.path.basename(os.path.normpath(s)) for s in args.sources]
    if len(set(names)) != len(names):
        print(f"two sources share a folder name ({names}); copy them in separate calls", file=sys.stderr)
        return 2
    for source, name in zip(args.sources, names):
        try:
            print(copy_with_layer_actions(source, os.path.join(args.out, name), args.layer_actions))
        except (OSError, ValueError, RuntimeError) as e:
            print(f"{source}: {e}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
