"""The demonstrations file (``ganno demos`` writes it; ``ganno clone`` and recurrent IPPO's
critic pre-fit read it): ``numpy.savez_compressed`` arrays, loaded with ``allow_pickle=False``
(no pickle). The arrays are described in ``mava_ganno.offline.demos``. It lives in ``utils`` so
the training system can read demonstrations without importing the offline tools."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from typing import Any, Dict

import numpy as np

FORMAT = "mava_ganno.demonstrations/1"


def save_demonstrations(path: str, data: Dict[str, np.ndarray]) -> str:
    """Write ``data`` to ``path`` (.npz) atomically: a temporary file, then renamed."""
    path = os.path.abspath(path)
    fd, tmp = tempfile.mkstemp(prefix=".demos-", suffix=".npz", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def load_demonstrations(path: str) -> Dict[str, Any]:
    """The arrays of a demonstrations file and its ``meta`` (a dict); no pickle. A file that
    is not one names itself and what is wrong."""
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise ValueError(f"{path}: not a readable demonstrations file ({e}); generate it with `ganno demos`.") from None
    required = ("obs", "actions", "rewards", "dones", "mask", "meta_json")
    missing = [k for k in required if k not in data]
    if missing:
        raise ValueError(f"{path}: missing arrays {missing}; generate it with `ganno demos`.")
    meta = json.loads(str(data.pop("meta_json")))
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: format {meta.get('format')!r}, expected {FORMAT!r}.")
    data["meta"] = meta
    return data
