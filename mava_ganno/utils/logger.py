"""Logging for training, with Mava's backends and names (``mava/utils/logger.py``).

- ``console`` (``logger.use_console``): one line per update (episode return, mean hold-out
  accuracy, policy entropy, losses) and one per evaluation.
- ``json`` (``logger.use_json``): marl-eval's ``metrics.json`` layout
  ``{env_name: {task_name: {system_name: {seed_<s>: {step_<i>: {step_count, elapsed_time,
  <agg>_<metric>: [value]}, absolute_metrics: {...}}}}}}``, evaluation metrics only.
- ``neptune`` (``logger.use_neptune``, optional extra ``mava_ganno[neptune]``): the API token
  is read by neptune itself from ``NEPTUNE_API_TOKEN`` (never from the config, never printed);
  ``NEPTUNE_MODE=offline`` logs to ``.neptune/`` without a network.
- ``tensorboard`` (``logger.use_tb``, optional: ``tensorboardX`` or ``tensorboard``).

Plus a progress bar (``logger.progress_bar``; rich) with timesteps/s and ETA.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from enum import Enum
from typing import Any, Dict, List, Optional

import numpy as np
from omegaconf import DictConfig, OmegaConf


class LogEvent(Enum):
    ACT = "actor"
    TRAIN = "trainer"
    EVAL = "evaluator"
    ABSOLUTE = "absolute"
    MISC = "misc"


def _scalar(v: Any) -> Any:
    a = np.asarray(v)
    return a.item() if a.size == 1 else a.tolist()


def flatten(data: Dict[str, Any], sep: str = "/", prefix: str = "") -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for k, v in data.items():
        key = f"{prefix}{sep}{k}" if prefix else str(k)
        if isinstance(v, dict):
            out.update(flatten(v, sep, key))
        else:
            out[key] = v
    return out


def describe(x: Any) -> Any:
    """Summary statistics of an array of metrics (mean, std, min, max), as Mava."""
    a = np.asarray(x)
    if a.ndim == 0:
        return _scalar(a)
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()), "max": float(a.max())}


class BaseLogger:
    def log_dict(self, data: Dict[str, Any], step: int, eval_step: int, event: LogEvent) -> None:
        for key, value in flatten(data).items():
            self.log_stat(key, value, step, eval_step, event)

    def log_stat(self, key: str, value: Any, step: int, eval_step: int, event: LogEvent) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        return None


class ConsoleLogger(BaseLogger):
    """One line per call: ``EVENT - Key: value | Key: value``."""

    def __init__(self, stream=None) -> None:
        self.logger = logging.getLogger("mava_ganno")
        self.logger.handlers = []
        self.logger.propagate = False
        handler = logging.StreamHandler(stream or sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        self.logger.addHandler(handler)
        self.logger.setLevel("INFO")

    @staticmethod
    def _fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}" if abs(v) < 1e-2 and v != 0 else f"{v:.3f}"
        if isinstance(v, list):
            return "[" + " ".join(ConsoleLogger._fmt(x) for x in v) + "]"
        return str(v)

    def log_dict(self, data: Dict[str, Any], step: int, eval_step: int, event: LogEvent) -> None:
        data = flatten(data, sep=" ")
        parts = [f"{k.replace('_', ' ').capitalize()}: {self._fmt(v)}" for k, v in data.items()]
        self.logger.info(f"{event.value.upper()} - " + " | ".join(parts))

    def log_stat(self, key, value, step, eval_step, event) -> None:
        self.log_dict({key: value}, step, eval_step, event)


class JsonLogger(BaseLogger):
    """marl-eval's JSON format (evaluation and absolute metrics only, as Mava)."""

    METRICS = ("episode_return/mean", "val_accuracy/mean", "final_val_accuracy/mean", "steps_per_second")

    def __init__(self, path: str, env_name: str, task_name: str, system_name: str, seed: int) -> None:
        os.makedirs(path, exist_ok=True)
        self.file_path = os.path.join(path, "metrics.json")
        self.data: Dict[str, Any] = {}
        if os.path.isfile(self.file_path):
            with open(self.file_path) as f:
                self.data = json.load(f)
        algo = self.data.setdefault(env_name, {}).setdefault(task_name, {}).setdefault(system_name, {})
        # A resumed run continues its own record.
        self.run_data = algo.setdefault(f"seed_{seed}", {"absolute_metrics": {}})
        self.start_time: Optional[float] = None
        self._write()

    def _write(self) -> None:
        tmp = self.file_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f, indent=4)
        os.replace(tmp, self.file_path)

    def log_stat(self, key, value, step, eval_step, event) -> None:
        if key not in self.METRICS or event not in (LogEvent.EVAL, LogEvent.ABSOLUTE):
            return
        if "/" in key:
            key = "_".join(reversed(key.split("/")))
        now = time.time()
        if self.start_time is None:
            self.start_time = now
        if event == LogEvent.ABSOLUTE:
            self.run_data["absolute_metrics"][key] = [_scalar(value)]
        else:
            entry = self.run_data.setdefault(f"step_{eval_step}", {})
            entry.update({"step_count": int(step), "elapsed_time": now - self.start_time, key: [_scalar(value)]})
        self._write()


class NeptuneLogger(BaseLogger):
    """neptune.ai. The token comes from NEPTUNE_API_TOKEN (read by neptune) and is never logged."""

    def __init__(self, cfg: DictConfig, detailed: bool) -> None:
        try:
            import neptune
        except ImportError as e:  # pragma: no cover - depends on the extra
            raise ImportError(
                "logger.use_neptune=True needs neptune: pip install 'mava_ganno[neptune]'."
            ) from e
        kwargs = cfg.logger.kwargs
        mode = os.environ.get("NEPTUNE_MODE")
        if mode not in ("offline", "debug") and not os.environ.get("NEPTUNE_API_TOKEN"):
            raise ValueError(
                "logger.use_neptune=True: set the NEPTUNE_API_TOKEN environment variable (the token is "
                "never read from the config), or NEPTUNE_MODE=offline to log locally."
            )
        self.run = neptune.init_run(project=kwargs.neptune_project, tags=list(kwargs.neptune_tag))
        config = OmegaConf.to_container(cfg, resolve=True)
        self.run["config"] = json.dumps(config, default=str)
        self.detailed = detailed

    def log_stat(self, key, value, step, eval_step, event) -> None:
        if not self.detailed and not ("/" not in key or key.endswith("/mean")):
            return
        value = np.asarray(value)
        if value.size != 1:
            return
        self.run[f"{event.value}/{key}"].append(float(value), step=step)

    def stop(self) -> None:
        self.run.stop()


class TensorboardLogger(BaseLogger):
    def __init__(self, path: str) -> None:
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            try:
                from torch.utils.tensorboard import SummaryWriter  # type: ignore
            except ImportError as e:  # pragma: no cover
                raise ImportError("logger.use_tb=True needs tensorboardX: pip install tensorboardX.") from e
        self.writer = SummaryWriter(path)

    def log_stat(self, key, value, step, eval_step, event) -> None:
        value = np.asarray(value)
        if value.size == 1:
            self.writer.add_scalar(f"{event.value}/{key}", float(value), step)

    def stop(self) -> None:
        self.writer.close()


class GannoLogger:
    """Mava's ``MavaLogger``: describes arrays of metrics and fans out to every backend."""

    def __init__(self, cfg: DictConfig, unique_token: str) -> None:
        lg = cfg.logger
        system = lg.get("system_name", "rec_ippo")
        base = lg.base_exp_path
        self.loggers: List[BaseLogger] = []
        if lg.use_neptune and lg.use_json and lg.kwargs.upload_json_data and lg.kwargs.json_path:
            raise ValueError("logger.kwargs.upload_json_data needs logger.kwargs.json_path unset.")
        if lg.use_neptune:
            self.loggers.append(NeptuneLogger(cfg, bool(lg.kwargs.detailed_neptune_logging)))
        if lg.use_tb:
            self.loggers.append(TensorboardLogger(os.path.join(base, "tensorboard", system, unique_token)))
        if lg.use_json:
            path = os.path.join(base, "json", system, unique_token)
            if lg.kwargs.json_path is not None:
                path = os.path.join(base, "json", lg.kwargs.json_path)
            self.json_path = path
            self.loggers.append(
                JsonLogger(path, cfg.env.env_name, cfg.env.scenario.task_name, system, int(cfg.system.seed))
            )
        if lg.use_console:
            self.loggers.append(ConsoleLogger())

    def log(self, metrics: Dict[str, Any], t: int, t_eval: int, event: LogEvent, summarise: bool = True) -> None:
        if summarise:
            metrics = {k: (float(np.mean(v)) if event == LogEvent.TRAIN else describe(v)) for k, v in metrics.items()}
        for logger in self.loggers:
            logger.log_dict(metrics, t, t_eval, event)

    def stop(self) -> None:
        for logger in self.loggers:
            logger.stop()


class ProgressBar:
    """A rich progress bar over timesteps with timesteps/s and ETA (stderr; off if disabled)."""

    def __init__(self, total: int, enabled: bool = True, initial: int = 0, description: str = "training") -> None:
        self.enabled = enabled
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("timesteps | {task.fields[rate]} ts/s | ETA"),
            TimeRemainingColumn(),
            TextColumn("| elapsed"),
            TimeElapsedColumn(),
            console=Console(file=sys.stderr),
            transient=False,
        )
        self.task = self.progress.add_task(description, total=total, completed=initial, rate="-")
        self.progress.start()

    def update(self, completed: int, rate: float) -> None:
        if self.enabled:
            self.progress.update(self.task, completed=completed, rate=f"{rate:,.0f}")

    def stop(self) -> None:
        if self.enabled:
            self.progress.stop()
