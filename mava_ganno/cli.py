"""``ganno <command> [args]``: a small dispatcher over mava_ganno's entry points.

Commands are registered in ``COMMANDS`` (name -> "module:function" taking ``argv``), so other
modules can add theirs (e.g. ``COMMANDS["evaluate"] = "mava_ganno.evaluation.cli:main"``).
"""

from __future__ import annotations

import importlib
import sys
from typing import Dict, Optional, Sequence

COMMANDS: Dict[str, str] = {
    "train": "mava_ganno.train:main",
    "main": "mava_ganno.main_job:main",
    "evaluate": "mava_ganno.evaluation.cli:main",
    "bench": "mava_ganno.bench.cli:main",
    "demos": "mava_ganno.offline.cli:main",
    "clone": "mava_ganno.offline.cli:clone_main",
}
HELP: Dict[str, str] = {
    "train": "train GANNO with recurrent IPPO (Hydra overrides, --resume)",
    "main": "the main job: train on mlp2-digits, zero-shot on mlp5-mnist_5k, write results/<run>/",
    "evaluate": "zero-shot evaluation of trained policies vs schedules/optimisers; results/<name>/",
    "bench": "benchmark of real training tasks (Fashion-MNIST, MNIST, a transformer LM): leaderboard",
    "demos": "demonstrations of handcrafted schedules in a training scenario (an .npz file)",
    "clone": "behaviour cloning of the policy on demonstrations; writes a policy folder",
}


def register(name: str, target: str, help: str = "") -> None:
    """Add a subcommand: ``target`` is ``"module:function"``, the function takes argv."""
    COMMANDS[name] = target
    HELP[name] = help


def _usage() -> str:
    lines = ["usage: ganno <command> [args...]", "", "commands:"]
    lines += [f"  {name:<10} {HELP.get(name, '')}" for name in sorted(COMMANDS)]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"ganno: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        sys.exit(2)
    module, func = COMMANDS[name].split(":")
    sys.argv = [f"ganno {name}"] + rest
    getattr(importlib.import_module(module), func)(rest)


if __name__ == "__main__":
    main()
