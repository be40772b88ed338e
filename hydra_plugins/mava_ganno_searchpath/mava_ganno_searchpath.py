"""Hydra SearchPathPlugin: ``env=ganno`` in Mava's systems, with no edit to Mava.

Hydra imports every module under ``hydra_plugins`` at each start-up of *any* Hydra app, so
this module imports nothing but the standard library and Hydra. It acts only in Mava's
systems: ``mava`` is already imported (Mava's system scripts import it at module level, before
``@hydra.main`` starts) and the app's primary config directory is Mava's ``configs`` tree. In
every other app (mava_ganno's own entry points included) it leaves the search path alone.

In a Mava app it appends, after Hydra's and the app's own entries:

1. ``file://<installed mava>/configs``: Mava's own config tree, so that for the names both
   trees have (``arch/anakin``, ``system/ppo/rec_ippo``, ``network/rnn``, ``logger/logger``)
   Mava's files win. Mava's own ``hydra.searchpath`` entry (``file://mava/configs``, relative
   to the working directory) is placed by Hydra *after* every plugin's entries, so without
   this a plugin's tree would shadow Mava's.
2. ``pkg://mava_ganno.configs``: ``env/ganno.yaml`` and ``env/scenario/*.yaml``.
3. ``pkg://mava_ganno.mava.configs``: ``mava_host/ganno.yaml``, CPU-sized ``arch``/``system``
   values that ``env/ganno.yaml`` pulls in (optionally) only when Mava runs.

and, as ``mava.utils.make_env`` is then loaded, registers GANNO in Mava's Jumanji registry
(``mava_ganno.mava.wrapper.register_with_mava``; imported lazily, here only).
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Optional

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

PROVIDER = "mava_ganno"
GANNO_CONFIGS = "pkg://mava_ganno.configs"
MAVA_HOST_CONFIGS = "pkg://mava_ganno.mava.configs"


def mava_config_dir() -> Optional[str]:
    """The ``configs`` directory of the imported ``mava`` package, if it has one."""
    mava = sys.modules.get("mava")
    for path in list(getattr(mava, "__path__", None) or []):
        candidate = os.path.join(os.path.realpath(path), "configs")
        if os.path.isdir(candidate):
            return candidate
    return None


def is_mava_app(search_path: ConfigSearchPath) -> bool:
    """True for a Mava system: ``mava`` is imported and the app's primary config directory
    (the ``main`` search-path entry) is Mava's ``configs`` tree."""
    if "mava" not in sys.modules:
        return False
    main = next((e.path for e in search_path.get_path() if e.provider == "main"), None) or ""
    if main.startswith("pkg://mava.configs") or main.startswith("pkg://mava/configs"):
        return True
    if main.startswith("file://"):
        main = main[len("file://") :]
    elif "://" in main or not main:
        return False  # pkg:// of another package, structured://, or no primary config dir
    path = os.path.realpath(main)  # @hydra.main gives a plain path, the compose API file://
    mava_dir = mava_config_dir()
    if mava_dir is not None and (path == mava_dir or path.startswith(mava_dir + os.sep)):
        return True
    parts = path.split(os.sep)  # another Mava checkout than the imported package
    return any(parts[i : i + 2] == ["mava", "configs"] for i in range(len(parts) - 1))


class MavaGannoSearchPathPlugin(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        if not is_mava_app(search_path):
            return  # not a Mava system: leave its search path alone
        present = {element.path for element in search_path.get_path()}
        wanted = []
        mava_dir = mava_config_dir()
        if mava_dir is not None:
            wanted.append("file://" + mava_dir)
        wanted += [GANNO_CONFIGS, MAVA_HOST_CONFIGS]
        for path in wanted:
            if path not in present:
                search_path.append(provider=PROVIDER, path=path)
        if "mava.utils.make_env" in sys.modules:
            try:
                from mava_ganno.mava.wrapper import register_with_mava

                register_with_mava()
            except Exception as e:  # never break Mava's other environments
                warnings.warn(
                    f"mava_ganno could not register GANNO with Mava ({type(e).__name__}: {e}); "
                    "env=ganno will not work until this is fixed (check that mava_ganno imports: "
                    "python -c 'import mava_ganno.mava.wrapper').",
                    stacklevel=2,
                )
