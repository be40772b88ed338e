"""Writing result files so that a reader never sees half of one."""

from __future__ import annotations

import os
import tempfile


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str, text: str) -> str:
    """Write ``text`` to ``path`` through a temporary file in the same folder, renamed into place
    (readers see the old file or the new one, never a partial one); returns ``path``."""
    path = os.path.abspath(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp's 0600 would make results private
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


__all__ = ["atomic_write_text", "current_umask"]
