"""Evaluation outputs: ``table.csv``, ``table.md`` (the paper's format), curves, figures and
``runs/`` (the finished groups of runs, ``RunCache``).

``table.md`` is generated from the rows of ``table.csv`` alone (``tables_markdown``), so it
can be rebuilt from a committed CSV: ``python -m mava_ganno.evaluation.store results/<name>``.

Table format (as the paper's Tables 1-5): one row per method, one column per initial LR plus
Average; each cell is the final test accuracy in %, mean ± std over seeds (sample std,
ddof=1; 0 for one seed); Average is computed per seed over the table's LR columns, then
mean ± std over seeds; the best mean in each column is **bold** (ties by the shown value all
bold). ``/`` = the method does not take that LR (LR-free methods have only an Average);
``†`` = at least one seed diverged (its accuracy counts as chance level, 10%).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import sys
import tempfile
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from mava_ganno.backend.task import Task
from mava_ganno.evaluation.baselines import BASELINES
from mava_ganno.evaluation.figures import write_figures
from mava_ganno.evaluation.records import Evaluation, RunSet
from mava_ganno.evaluation.tables import tables_markdown
from mava_ganno.policy.io import atomic_write_dir
from mava_ganno.utils.files import atomic_write_text

RUNS_DIR = "runs"  # a results folder's finished groups of runs (RunCache files)

CSV_COLUMNS = (
    "method",
    "label",
    "group",
    "mode",
    "initial_lr",
    "weight_decay",
    "seed",
    "final_test_accuracy",
    "best_test_accuracy",
    "final_train_loss",
    "diverged",
    "final_val_accuracy",
    "policy",
    "final_val_loss",
    "final_test_loss",
)


# ============================================================================ CSV
def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("inf" if v > 0 else "-inf" if v < 0 else "nan")
    return str(v)


def _fmt7(v: float) -> str:
    """7 significant digits (float32 precision) for the long per-chunk files."""
    return f"{v:.7g}" if math.isfinite(v) else _fmt(v)


def write_table_csv(rows: Iterable[Dict[str, Any]], path: str) -> str:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for r in rows:
            w.writerow([_fmt(r.get(c)) for c in CSV_COLUMNS])
    return path


def read_table_csv(path: str) -> List[Dict[str, Any]]:
    """Rows of a ``table.csv`` with numbers, booleans and blanks (None) parsed."""
    floats = {"initial_lr", "weight_decay", "final_test_accuracy", "best_test_accuracy", "final_train_loss", "final_val_accuracy",
              "final_val_loss", "final_test_loss"}  # the last two are absent from older tables: None
    out = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            row: Dict[str, Any] = dict(r)
            for k in floats:
                row[k] = float(r[k]) if r.get(k, "") != "" else None
            row["seed"] = int(r["seed"])
            row["diverged"] = r["diverged"] == "true"
            out.append(row)
    return out


# ============================================================================ curves
def write_curves_csv(ev: Evaluation, path: str) -> str:
    """Long format: one line per method x run x chunk (step), the per-chunk metrics."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["method", "label", "initial_lr", "weight_decay", "seed", "step", "train_loss", "val_accuracy", "test_accuracy", "lr",
                    "val_loss", "test_loss"])
        for rs in ev.runsets:
            for i in range(rs.num_runs):
                lr0 = _fmt(float(rs.lr[i])) if rs.takes_lr else ""
                for c, step in enumerate(rs.steps):
                    finite = c < rs.lrs.shape[1] and np.isfinite(rs.lrs[i, c]).any()
                    lr_c = float(np.nanmean(rs.lrs[i, c])) if finite else float("nan")
                    losses = ["" if a is None else _fmt7(float(a[i, c])) for a in (rs.val_loss, rs.test_loss)]
                    w.writerow([rs.method, rs.label, lr0, _fmt(float(rs.weight_decay[i])), int(rs.seed[i]), int(step),
                                _fmt7(float(rs.train_loss[i, c])), _fmt7(float(rs.val_accuracy[i, c])),
                                _fmt7(float(rs.test_accuracy[i, c])), _fmt7(lr_c)] + losses)
    return path


def write_layer_lrs_csv(ev: Evaluation, path: str) -> str:
    """Per-layer LRs of the policy methods: one line per run x chunk, one column per layer
    (``layer_1`` = the first layer), the LR used during the tau steps starting at ``step``."""
    policy_sets = [rs for rs in ev.runsets if rs.group in ("ganno", "ablation", "random")]
    num_layers = max((rs.lrs.shape[2] for rs in policy_sets), default=0)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["method", "label", "initial_lr", "weight_decay", "seed", "step"]
                   + [f"layer_{j + 1}" for j in range(num_layers)])
        for rs in policy_sets:
            for i in range(rs.num_runs):
                for c in range(rs.lrs.shape[1]):
                    vals = [_fmt7(float(v)) for v in rs.lrs[i, c]] + [""] * (num_layers - rs.lrs.shape[2])
                    w.writerow([rs.method, rs.label, _fmt(float(rs.lr[i])), _fmt(float(rs.weight_decay[i])),
                                int(rs.seed[i]), int(rs.steps[c])] + vals)
    return path


# ============================================================================ reload
def _recorded(a: np.ndarray) -> Optional[np.ndarray]:
    """A reloaded loss curve, or None where the file did not record it (all NaN)."""
    return None if np.isnan(a).all() else a


def load_evaluation(folder: str) -> Evaluation:
    """Rebuild an ``Evaluation`` from a results folder (table.csv, curves.csv, layer_lrs.csv,
    config.json), so tables and figures can be regenerated without rerunning anything."""

    with open(os.path.join(folder, "config.json")) as f:
        meta = json.load(f)
    rows = read_table_csv(os.path.join(folder, "table.csv"))
    curves: Dict[Tuple[str, str, str, int], List[List[str]]] = {}
    with open(os.path.join(folder, "curves.csv"), newline="") as f:
        for r in csv.DictReader(f):
            key = (r["label"], r["initial_lr"], r["weight_decay"], int(r["seed"]))
            losses = [r.get("val_loss") or "nan", r.get("test_loss") or "nan"]  # absent from older files
            curves.setdefault(key, []).append([r["step"], r["train_loss"], r["val_accuracy"], r["test_accuracy"], r["lr"]] + losses)
    layers: Dict[Tuple[str, str, str, int], Dict[int, List[float]]] = {}
    path = os.path.join(folder, "layer_lrs.csv")
    if os.path.isfile(path):
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                key = (r["label"], r["initial_lr"], r["weight_decay"], int(r["seed"]))
                cols = [k for k in r if k.startswith("layer_") and r[k] != ""]
                layers.setdefault(key, {})[int(r["step"])] = [float(r[k]) for k in cols]
    by_label: Dict[str, List[Dict[str, Any]]] = {}
    for r in rows:
        by_label.setdefault(r["label"], []).append(r)
    runsets = []
    steps = None
    for label, runs in by_label.items():
        first = runs[0]
        takes_lr = first["initial_lr"] is not None
        arrays: Dict[str, Any] = {k: [] for k in ("train_loss", "val_accuracy", "test_accuracy", "lrs", "val_loss", "test_loss")}
        for r in runs:
            key = (label, _fmt(r["initial_lr"]) if takes_lr else "", _fmt(r["weight_decay"]), r["seed"])
            c = np.array([[float(x) for x in line] for line in curves[key]], np.float64)
            steps = c[:, 0].astype(np.int64)
            arrays["train_loss"].append(c[:, 1])
            arrays["val_accuracy"].append(c[:, 2])
            arrays["test_accuracy"].append(c[:, 3])
            arrays["val_loss"].append(c[:, 5])
            arrays["test_loss"].append(c[:, 6])
            if key in layers:
                arrays["lrs"].append(np.array([layers[key][int(st)] for st in steps[:-1]], np.float64))
            else:
                arrays["lrs"].append(c[:-1, 4:5])
        # float32 as the runs recorded them; the final point exact from table.csv (its values
        # are the float32 ones in full), the curves before it at 7 significant digits
        finals = {"test_accuracy": "final_test_accuracy", "val_accuracy": "final_val_accuracy", "train_loss": "final_train_loss",
                  "val_loss": "final_val_loss", "test_loss": "final_test_loss"}  # fmt: skip
        for name, column in finals.items():
            a = np.stack(arrays[name]).astype(np.float32)
            if all(r[column] is not None for r in runs):
                a[:, -1] = [r[column] for r in runs]
            arrays[name] = a
        runsets.append(
            RunSet(
                method=first["method"], label=label, group=first["group"], mode=first["mode"],
                lr=np.array([r["initial_lr"] if takes_lr else np.nan for r in runs], np.float64),
                weight_decay=np.array([r["weight_decay"] for r in runs], np.float64),
                seed=np.array([r["seed"] for r in runs], np.int32), steps=steps,
                test_accuracy=arrays["test_accuracy"], val_accuracy=arrays["val_accuracy"],
                train_loss=arrays["train_loss"], lrs=np.stack(arrays["lrs"]).astype(np.float32),
                diverged=np.array([r["diverged"] for r in runs], bool), takes_lr=takes_lr, policy=first["policy"] or "",
                seconds=float(meta.get("method_seconds", {}).get(label, 0.0)),
                val_loss=_recorded(arrays["val_loss"]), test_loss=_recorded(arrays["test_loss"]),
            )
        )
    sc = Task(**meta["scenario"])
    return Evaluation(
        sc, tuple(meta["lrs"]), tuple(meta["weight_decays"]), tuple(meta["seeds"]), runsets,
        dict(meta.get("unavailable", {})), float(meta.get("seconds", 0.0)), complete=bool(meta.get("complete", True)),
    )


# ============================================================================ finished jobs
class RunCache:
    """Finished groups of runs, kept so that a rerun or a resumed run does not redo them.

    Each group (one job of ``harness.evaluate``) is one ``<key>.npz`` (its raw per-run arrays,
    written atomically; no pickle) in ``write_dir``, named by ``harness.job_key``, the content
    hash of its inputs. ``get`` looks in ``write_dir`` then in ``read_dirs`` (e.g. the ``runs/``
    of the last complete evaluation); ``used`` maps every key of this evaluation to its file."""

    def __init__(self, write_dir: str, read_dirs: Sequence[str] = (), warn=None):
        self.write_dir = write_dir
        self.read_dirs = [d for d in read_dirs if d != write_dir]
        self.used: Dict[str, str] = {}
        self.failed: List[str] = []
        self.warn = warn or (lambda m: print(m, file=sys.stderr))

    def _path(self, folder: str, key: str) -> str:
        return os.path.join(folder, f"{key}.npz")

    def has(self, key: str) -> bool:
        """Whether a group of this key is kept (not read, not marked as used)."""
        return any(os.path.isfile(self._path(folder, key)) for folder in [self.write_dir, *self.read_dirs])

    def get(self, key: str) -> Optional[Dict[str, Any]]:
        for folder in [self.write_dir, *self.read_dirs]:
            path = self._path(folder, key)
            if not os.path.isfile(path):
                continue
            try:
                with np.load(path, allow_pickle=False) as z:
                    out = {k: np.array(z[k]) for k in z.files if k != "title"}
            except (OSError, ValueError) as e:
                self.warn(f"warning: {path} cannot be read ({e}); its runs are computed again")
                continue
            out["seconds"] = float(out.get("seconds", 0.0))
            self.used[key] = path
            return out
        return None

    def put(self, key: str, out: Dict[str, Any], title: str = "", seconds: float = 0.0) -> str:
        """Store a finished group; returns its file, or "" when it cannot be written (a full
        disk: said once, and the evaluation goes on with the group in memory)."""
        path = self._path(self.write_dir, key)
        buf = io.BytesIO()
        np.savez_compressed(buf, title=np.array(title), seconds=np.array(seconds), **{k: np.asarray(v) for k, v in out.items()})
        try:
            os.makedirs(self.write_dir, exist_ok=True)
            atomic_write_text(path, buf.getvalue())
        except OSError as e:
            if not self.failed:
                self.warn(f"warning: could not keep the finished runs of {title or key} in {self.write_dir} ({e.strerror or e}); "
                          "the evaluation goes on, but an interruption now loses them")  # fmt: skip
            self.failed.append(key)
            return ""
        self.used[key] = path
        return path


# ============================================================================ all outputs
def evaluation_meta(ev: Evaluation, command: Optional[Sequence[str]] = None) -> Dict[str, Any]:

    sc = ev.scenario
    policies = sorted({rs.policy for rs in ev.runsets if rs.policy})
    return {
        "title": f"Evaluation on {sc.name}" + ("" if ev.complete else " (partial: the runs finished so far)"),
        "complete": bool(ev.complete),
        "description": (
            f"Scenario `{sc.name}`: network `{sc.network}`, dataset `{sc.dataset}`, "
            f"{sc.sl_steps} SGD steps per run (batch {sc.batch_size}), agents act every "
            f"tau = {sc.tau} steps; final test accuracy after the full budget."
            + (f" Policies: {', '.join(f'`{p}`' for p in policies)}." if policies else "")
        ),
        "scenario": {k: getattr(sc, k) for k in sc.__dataclass_fields__},
        "lrs": list(ev.lrs),
        "weight_decays": list(ev.weight_decays),
        "seeds": list(ev.seeds),
        "unavailable": dict(ev.unavailable),
        "labels": {k: v.label for k, v in BASELINES.items()},
        "seconds": round(float(ev.seconds), 1),
        "method_seconds": {rs.label: round(float(rs.seconds), 1) for rs in ev.runsets},
        "command": " ".join(command) if command else None,
    }


def _write_outputs(ev: Evaluation, folder: str, at, figures: bool, figure_lr: Optional[float], command) -> List[str]:
    """Every output of ``ev``, each written to ``at(name)``; returns the names."""
    rows = ev.rows()
    meta = evaluation_meta(ev, command)
    names = ["table.csv", "table.md", "curves.csv", "layer_lrs.csv", "config.json"]
    write_table_csv(rows, at("table.csv"))
    with open(at("table.md"), "w") as f:
        f.write(tables_markdown(rows, meta))
    write_curves_csv(ev, at("curves.csv"))
    write_layer_lrs_csv(ev, at("layer_lrs.csv"))
    with open(at("config.json"), "w") as f:
        json.dump(meta, f, indent=2, default=str)
        f.write("\n")
    if figures:
        at("fig_*.png")
        names += [os.path.relpath(p, folder) for p in write_figures(ev, folder, figure_lr)]
    return names


def write_all(
    ev: Evaluation,
    out_dir: str,
    figures: bool = True,
    figure_lr: Optional[float] = None,
    command: Optional[Sequence[str]] = None,
    runs: Optional[Dict[str, str]] = None,
    replace: bool = True,
) -> List[str]:
    """Write every output of an evaluation to ``out_dir``; returns the paths.

    ``replace`` (the default): the folder is written whole beside ``out_dir`` and then swapped
    in (``atomic_write_dir``), so it holds exactly this evaluation's files, and tables, figures
    and config always belong to one run; ``runs`` (``RunCache.used``) are copied into its
    ``runs/``. ``replace=False``: the files are written to a temporary folder, then moved into
    ``out_dir`` one by one, other files there kept (the partial results of a run in progress,
    beside their ``runs/``). Either way a failed write (a full disk, no permission) leaves
    ``out_dir`` as it was; its ``OSError`` names the file being written.
    """
    out_dir = os.path.abspath(out_dir)
    current = [out_dir]

    def fill(tmp: str) -> List[str]:
        def at(name: str) -> str:
            current[0] = os.path.join(out_dir, name)
            return os.path.join(tmp, name)

        names = _write_outputs(ev, tmp, at, figures, figure_lr, command)
        if runs:
            os.makedirs(os.path.join(tmp, RUNS_DIR), exist_ok=True)
            for key, src in sorted(runs.items()):
                name = os.path.join(RUNS_DIR, f"{key}.npz")
                shutil.copyfile(src, at(name))
                names.append(name)
        current[0] = out_dir
        return names

    if replace:
        names: List[str] = []
        try:
            atomic_write_dir(out_dir, lambda tmp: names.extend(fill(tmp)))
        except OSError as e:
            cause = e.__cause__ if isinstance(e.__cause__, OSError) else e  # the error itself, not its wrapping
            raise OSError(cause.errno, f"{cause.strerror or cause} while writing {current[0]}", current[0]) from e
        return [os.path.join(out_dir, name) for name in names]
    parent = os.path.dirname(out_dir)
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.tmp-", dir=parent)
    except OSError as e:
        raise OSError(e.errno, f"{e.strerror or e} while writing {out_dir}", e.filename or parent) from e
    try:
        names = fill(tmp)
        os.makedirs(out_dir, exist_ok=True)
        for name in names:
            current[0] = os.path.join(out_dir, name)
            os.replace(os.path.join(tmp, name), current[0])
    except OSError as e:
        name = str(e.filename) if e.filename else current[0]
        if name.startswith(tmp):
            name = out_dir + name[len(tmp):]
        raise OSError(e.errno, f"{e.strerror or e} while writing {name}", name) from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [os.path.join(out_dir, name) for name in names]


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Rebuild ``table.md`` (and the figures, unless ``--no-figures``) of a results folder from
    its files: ``python -m mava_ganno.evaluation.store results/<name> [--figure-lr 1e-3]``."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m mava_ganno.evaluation.store", description=main.__doc__)
    p.add_argument("folder")
    p.add_argument("--figure-lr", type=float, default=None)
    p.add_argument("--no-figures", action="store_true")
    args = p.parse_args(sys.argv[1:] if argv is None else list(argv))
    csv_path = os.path.join(args.folder, "table.csv")
    if not os.path.isfile(csv_path):
        raise SystemExit(f"{csv_path} not found: run `ganno evaluate` first.")
    meta: Dict[str, Any] = {}
    if os.path.isfile(os.path.join(args.folder, "config.json")):
        with open(os.path.join(args.folder, "config.json")) as f:
            meta = json.load(f)
    with open(os.path.join(args.folder, "table.md"), "w") as f:
        f.write(tables_markdown(read_table_csv(csv_path), meta))
    written = [os.path.join(args.folder, "table.md")]
    if not args.no_figures and meta:
        written += write_figures(load_evaluation(args.folder), args.folder, args.figure_lr)
    print("wrote " + ", ".join(written))


if __name__ == "__main__":
    main()
