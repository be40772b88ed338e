"""Counting XLA compilations: how many functions JAX compiled, which, and how long it took.

``with count_compiles() as log: ...`` records every backend compilation made inside the block
as ``(function name, seconds)`` (``log.events``), plus the seconds JAX spent tracing and
lowering (``log.trace_seconds``). The evaluation's runners are the functions named
``RUNNER_NAMES`` (``log.runners()``); everything else is small eager ops (PRNG seeding,
conversions) that JAX compiles once per process.

Sources, in order: ``jax.monitoring`` duration events ``/jax/core/compile/...``, which carry
the function's name from jax ~0.4.36 (the installed 0.10 does); on older jax (Mava's pinned
0.4.30) the events have no name, so the names and seconds come from JAX's own
"Finished XLA compilation of <name> in <t> sec" log records, captured at DEBUG level while the
block runs. If neither is available ``log.supported`` is False and ``log.message`` says why.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
from typing import Iterator, List, Tuple

import jax

BACKEND_COMPILE = "/jax/core/compile/backend_compile_duration"
TRACE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration")
RUNNER_NAMES = ("baseline_runner", "policy_runner")  # the harness's compiled runners
_LOG_RE = re.compile(r"Finished XLA compilation of (.+?) in ([0-9.eE+-]+) sec")
_LOGGER = "jax._src.dispatch"  # logs "Finished XLA compilation of ..." (DEBUG unless jax_log_compiles)


@dataclasses.dataclass
class CompileLog:
    """Compilations seen inside ``count_compiles``: ``events`` [(function name, seconds)]."""

    events: List[Tuple[str, float]] = dataclasses.field(default_factory=list)
    trace_seconds: float = 0.0
    supported: bool = True
    message: str = ""

    @property
    def count(self) -> int:
        return len(self.events)

    @property
    def seconds(self) -> float:
        return float(sum(s for _, s in self.events))

    def runners(self, names: Tuple[str, ...] = RUNNER_NAMES) -> List[Tuple[str, float]]:
        """The compilations of functions whose name contains one of ``names``."""
        return [(n, s) for n, s in self.events if any(k in n for k in names)]

    def summary(self) -> dict:
        runners = self.runners()
        out = {
            "compilations": self.count,
            "compile_seconds": round(self.seconds, 2),
            "trace_and_lower_seconds": round(self.trace_seconds, 2),
            "runner_compilations": len(runners),
            "runner_compile_seconds": round(sum(s for _, s in runners), 2),
            "runners": [n for n, _ in runners],
        }
        if not self.supported:
            out["note"] = self.message
        return out


class _LogCapture(logging.Filter):
    """A logger filter that reads JAX's compile log records and lets through only what the
    logger would have emitted anyway (its level is lowered to DEBUG while counting)."""

    def __init__(self, threshold: int) -> None:
        super().__init__()
        self.threshold = threshold
        self.events: List[Tuple[str, float]] = []

    def filter(self, record: logging.LogRecord) -> bool:
        m = _LOG_RE.search(record.getMessage())
        if m:
            self.events.append((m.group(1), float(m.group(2))))
        return record.levelno >= self.threshold


@contextlib.contextmanager
def count_compiles() -> Iterator[CompileLog]:
    """Record the XLA compilations made inside the block (see the module docstring)."""
    log = CompileLog()
    named: List[Tuple[str, float]] = []
    unnamed: List[float] = []

    def on_duration(event: str, seconds: float, **kwargs) -> None:
        if event == BACKEND_COMPILE:
            if "fun_name" in kwargs:
                named.append((str(kwargs["fun_name"]), float(seconds)))
            else:
                unnamed.append(float(seconds))
        elif event in TRACE_EVENTS:
            log.trace_seconds += float(seconds)

    monitoring = getattr(jax, "monitoring", None)
    register = getattr(monitoring, "register_event_duration_secs_listener", None)
    if register is not None:
        register(on_duration)
    logger = logging.getLogger(_LOGGER)
    level = logger.level
    capture = _LogCapture(logger.getEffectiveLevel())
    logger.addFilter(capture)
    logger.setLevel(logging.DEBUG)
    try:
        yield log
    finally:
        logger.removeFilter(capture)
        logger.setLevel(level)
        if register is not None:
            _unregister(monitoring, on_duration)
        if named and not unnamed:
            log.events = named
        elif capture.events:
            log.events = capture.events  # jax < ~0.4.36: monitoring events carry no name
        elif unnamed:
            log.events = [("?", s) for s in unnamed]
            log.supported = False
            log.message = (
                f"jax {jax.__version__} reports compilations without function names; runner "
                "compilations cannot be told apart (total count and seconds are still right)."
            )
        elif register is None:
            log.supported = False
            log.message = f"jax {jax.__version__} has no jax.monitoring; compilations were not counted."


def _unregister(monitoring, callback) -> None:
    for name in ("unregister_event_duration_listener", "_unregister_event_duration_listener_by_callback"):
        fn = getattr(monitoring, name, None)
        if fn is not None:
            fn(callback)
            return
    listeners = getattr(getattr(jax, "_src").monitoring, "_event_duration_secs_listeners", None)
    if listeners is not None and callback in listeners:  # pragma: no cover - very old jax
        listeners.remove(callback)
