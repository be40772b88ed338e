"""Writing result files safely: atomically (a reader never sees half of a file), by one
writer per folder (``FolderLock``), and ending cleanly on SIGTERM (``terminate_as_exception``)."""

from __future__ import annotations

import os
import sys
import tempfile
from typing import NoReturn


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str, text: "str | bytes") -> str:
    """Write ``text`` (str, or bytes) to ``path`` through a temporary file in the same folder,
    renamed into place (readers see the old file or the new one, never a partial one); returns
    ``path``."""
    path = os.path.abspath(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb" if isinstance(text, (bytes, bytearray)) else "w") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp's 0600 would make results private
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path




class FolderLockedError(RuntimeError):
    """Another live process holds the folder's lock (``pid`` names it)."""

    def __init__(self, folder: str, pid: int):
        self.folder, self.pid = folder, pid
        super().__init__(
            f"{folder} is being written by another run (PID {pid}); wait for it to end, stop it, or choose another output folder."
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class FolderLock:
    """One writer per results folder: ``with FolderLock(folder):`` creates ``<folder>/.lock``
    (``beside=True``: ``<parent>/.<folder name>.lock``, for a folder that is replaced whole)
    holding this process's PID (atomically, ``O_EXCL``) and removes it on exit. A lock held by a
    live process raises ``FolderLockedError``; one left by a dead process (a killed run) is taken
    over, with ``warn(message)`` called once."""

    NAME = ".lock"

    def __init__(self, folder: str, warn=None, beside: bool = False):
        self.folder = os.path.abspath(folder)
        if beside:  # for a folder that is replaced whole: the lock must outlive it
            self.path = os.path.join(os.path.dirname(self.folder), f".{os.path.basename(self.folder)}{self.NAME}")
        else:
            self.path = os.path.join(self.folder, self.NAME)
        self.warn = warn

    def __enter__(self) -> "FolderLock":
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    with open(self.path) as f:
                        pid = int(f.read().strip() or 0)
                except (OSError, ValueError):
                    pid = 0
                if pid and pid != os.getpid() and _alive(pid):
                    raise FolderLockedError(self.folder, pid) from None
                if self.warn is not None:
                    self.warn(f"warning: taking over the lock of {self.folder} left by a run that is no longer running (PID {pid or '?'})")
                os.remove(self.path)
                continue
            with os.fdopen(fd, "w") as f:
                f.write(f"{os.getpid()}\n")
            return self
        raise FolderLockedError(self.folder, 0)

    def __exit__(self, *exc) -> None:
        try:
            with open(self.path) as f:
                mine = f.read().strip() == str(os.getpid())
        except OSError:
            return
        if mine:
            os.remove(self.path)


class Terminated(BaseException):
    """SIGTERM turned into an exception (``terminate_as_exception``), so cleanup and one clear
    line run instead of a silent death; a ``BaseException`` like ``KeyboardInterrupt``."""


class terminate_as_exception:
    """``with terminate_as_exception():`` SIGTERM raises ``Terminated`` and SIGINT
    ``KeyboardInterrupt`` in the main thread inside the block; the previous handlers are restored
    after it (a no-op outside the main thread).

    An exception raised by a signal handler is lost when the signal lands inside a callback
    whose exceptions Python ignores (a garbage-collection callback, a ``__del__``: seen with
    JAX's ``_xla_gc_callback``), and the run would go on as if nothing had happened. So each
    signal is delivered again every ``REDELIVER_S`` seconds until the block has been left, and
    inside the block Python's report of such a lost exception (an "Exception ignored in ..."
    traceback) is left out: the signal's one line comes when it is delivered again."""

    REDELIVER_S = 3.0  # longer than a clean exit takes (one line printed, locks released)

    def __enter__(self) -> "terminate_as_exception":
        import signal
        import threading

        self.previous: dict = {}
        self.active = True
        if threading.current_thread() is not threading.main_thread():
            return self

        def handler(signum, frame):
            def again() -> None:
                if self.active:
                    os.kill(os.getpid(), signum)

            timer = threading.Timer(self.REDELIVER_S, again)
            timer.daemon = True
            timer.start()
            raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

        for sig in (signal.SIGTERM, signal.SIGINT):
            self.previous[sig] = signal.signal(sig, handler)
        self.previous_hook = sys.unraisablehook

        def quiet(unraisable) -> None:  # a lost signal exception: delivered again by the timer
            if not isinstance(unraisable.exc_value, (Terminated, KeyboardInterrupt)):
                self.previous_hook(unraisable)

        sys.unraisablehook = quiet
        return self

    def __exit__(self, *exc) -> None:
        import signal

        self.active = False
        for sig, previous in self.previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        if self.previous:
            sys.unraisablehook = self.previous_hook


def exit_interrupted(e: BaseException, message: str) -> NoReturn:
    """End a command stopped by Ctrl-C (``KeyboardInterrupt``: exit 130) or SIGTERM
    (``Terminated``: exit 143) with one line, ``<interrupt|SIGTERM>: <message>`` (what was kept
    where, and the command that resumes), and no traceback."""
    name, code = ("SIGTERM", 143) if isinstance(e, Terminated) else ("interrupt", 130)
    print(f"\n{name}: {message}", file=sys.stderr)
    raise SystemExit(code) from None


__all__ = ["atomic_write_text", "current_umask", "FolderLock", "FolderLockedError", "Terminated", "terminate_as_exception",
           "exit_interrupted"]  # fmt: skip
