"""Evaluation outputs: ``table.csv``, ``table.md`` (the paper's format), curves and figures.

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
import json
import math
import os
import sys
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

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
)
GROUP_ORDER = ("handcrafted", "warmup", "optimizer", "random", "ablation", "ganno")


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
    floats = {"initial_lr", "weight_decay", "final_test_accuracy", "best_test_accuracy", "final_train_loss", "final_val_accuracy"}
    out = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            row: Dict[str, Any] = dict(r)
            for k in floats:
                row[k] = float(r[k]) if r[k] != "" else None
            row["seed"] = int(r["seed"])
            row["diverged"] = r["diverged"] == "true"
            out.append(row)
    return out


# ============================================================================ tables
def _lr_header(lr: float) -> str:
    return f"{lr:g}" if lr >= 1e-4 or lr == 0 else f"{lr:.0e}"


def cell_stats(values: Sequence[float]) -> Tuple[float, float]:
    """(mean, sample std) of per-seed values; std 0 for one value."""
    a = np.asarray(values, np.float64)
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0


def format_cell(mean: float, std: float, scale: float = 100.0, bold: bool = False, dagger: bool = False) -> str:
    text = f"{mean * scale:.2f} ± {std * scale:.2f}"
    text = f"**{text}**" if bold else text
    return text + (" †" if dagger else "")


def table_markdown(
    rows: Sequence[Dict[str, Any]],
    labels: Sequence[str],
    lrs: Sequence[float],
    metric: str = "final_test_accuracy",
    lr_header: str = "Initial learning rate",
    notes: Optional[Dict[str, str]] = None,
    average_only: Optional[Dict[str, float]] = None,
) -> str:
    """One markdown table: ``labels`` as rows, ``lrs`` + Average as columns.

    rows: table.csv rows (already filtered to one weight decay). A row label in ``notes``
    with no runs is printed with its note (e.g. VeLO: not runnable offline).
    ``average_only``: label -> LR whose runs fill only the Average column ("GANNO from LR=0").
    """
    notes, average_only = dict(notes or {}), dict(average_only or {})
    by: Dict[Tuple[str, Optional[float]], Dict[int, Tuple[float, bool]]] = {}
    for r in rows:
        key = (r["label"], None if r["initial_lr"] is None else float(r["initial_lr"]))
        by.setdefault(key, {})[int(r["seed"])] = (float(r[metric]), bool(r["diverged"]))

    columns = [float(x) for x in lrs]
    cells: Dict[str, List[Optional[Tuple[float, float, bool]]]] = {}
    for label in labels:
        line: List[Optional[Tuple[float, float, bool]]] = []
        if label in average_only:
            line = [None] * len(columns)
            runs = by.get((label, float(average_only[label])), {})
            avg = _seed_stats(runs)
        elif (label, None) in by:  # LR-free method: Average only
            line = [None] * len(columns)
            avg = _seed_stats(by[(label, None)])
        else:
            per_seed: Dict[int, List[float]] = {}
            div_any = False
            for lr in columns:
                runs = by.get((label, lr))
                if not runs:
                    line.append(None)
                    continue
                line.append(_seed_stats(runs))
                for s, (v, d) in runs.items():
                    per_seed.setdefault(s, []).append(v)
                    div_any |= d
            present = sum(x is not None for x in line)
            full = {s: v for s, v in per_seed.items() if len(v) == present and present}
            avg = (*cell_stats([np.mean(v) for v in full.values()]), div_any) if full else None
        cells[label] = line + [avg]

    ncol = len(columns) + 1
    best = []
    for j in range(ncol):
        shown = [round(c[j][0] * 100, 2) for c in cells.values() if c[j] is not None]
        best.append(max(shown) if shown else None)

    header = ["Method"] + [_lr_header(x) for x in columns] + ["Average"]
    out = [f"*Columns: {lr_header.lower()}.*", "", "| " + " | ".join(header) + " |", "|" + "---|" * (ncol + 1)]
    for label in labels:
        if label not in cells or all(c is None for c in cells[label]):
            if label in notes:
                out.append("| " + " | ".join([label] + ["/"] * (ncol - 1) + [f"not run: {notes[label]}"]) + " |")
            continue
        parts = [label]
        for j, c in enumerate(cells[label]):
            if c is None:
                parts.append("/")
            else:
                m, s, d = c
                parts.append(format_cell(m, s, bold=round(m * 100, 2) == best[j], dagger=d))
        out.append("| " + " | ".join(parts) + " |")
    return "\n".join(out)


def _seed_stats(runs: Dict[int, Tuple[float, bool]]) -> Optional[Tuple[float, float, bool]]:
    if not runs:
        return None
    m, s = cell_stats([v for v, _ in runs.values()])
    return m, s, any(d for _, d in runs.values())


def _ordered_labels(rows: Sequence[Dict[str, Any]], groups: Sequence[str]) -> List[str]:
    seen: Dict[str, Tuple[int, int]] = {}
    for i, r in enumerate(rows):
        if r["group"] in groups and r["label"] not in seen:
            seen[r["label"]] = (list(GROUP_ORDER).index(r["group"]) if r["group"] in GROUP_ORDER else 99, i)
    return sorted(seen, key=lambda k: seen[k])


def tables_markdown(
    rows: Sequence[Dict[str, Any]],
    meta: Optional[Dict[str, Any]] = None,
    metric: str = "final_test_accuracy",
) -> str:
    """The whole ``table.md``: per weight decay, the Table 1/2/3 analogues that apply."""
    meta = dict(meta or {})
    unavailable: Dict[str, str] = dict(meta.get("unavailable", {}))
    labels_unavail = {meta.get("labels", {}).get(k, k): v for k, v in unavailable.items()}
    wds = sorted({float(r["weight_decay"]) for r in rows}, reverse=True)
    lrs = sorted({float(r["initial_lr"]) for r in rows if r["initial_lr"] is not None})
    positive = [x for x in lrs if x > 0]
    seeds = sorted({int(r["seed"]) for r in rows})
    what = metric.replace("_", " ")
    lines = [f"# {meta.get('title', 'Evaluation')}", ""]
    if meta.get("description"):
        lines += [meta["description"], ""]
    lines += [
        f"Cells: {what} (%), mean ± std (sample, ddof=1) over {len(seeds)} seed(s); Average: per "
        "seed over the table's LR columns, then mean ± std over seeds; **bold**: best in the "
        "column; `/`: not applicable; †: at least one seed diverged (counted as 10% accuracy). "
        "Policies: *sampled* draws each action from the policy, *greedy* takes its most likely "
        "action. Per-run numbers (also best test accuracy and final train loss): `table.csv`.",
        "",
    ]
    policy_groups = ("ganno", "ablation", "random")
    for wd in wds:
        sub = [r for r in rows if float(r["weight_decay"]) == wd]
        lam = f"λ = {wd:g}"
        main_labels = _ordered_labels(sub, ("handcrafted", "warmup", "optimizer", "random", "ganno"))
        for k in labels_unavail:
            if k not in main_labels:
                idx = max((i for i, lab in enumerate(main_labels) if _group_of(sub, lab) == "optimizer"), default=len(main_labels) - 1)
                main_labels.insert(idx + 1, k)
        main_rows = [r for r in sub if r["initial_lr"] is None or float(r["initial_lr"]) > 0]
        if main_labels and positive:
            lines += [
                f"## Schedules, optimisers and GANNO ({lam}) — Table 1 analogue",
                "",
                table_markdown(main_rows, main_labels, positive, metric, notes=labels_unavail),
                "",
            ]
        abl = _ordered_labels(sub, ("random", "ablation", "ganno"))
        if any(_group_of(sub, lab) == "ablation" for lab in abl) or (0.0 in lrs and abl):
            lines += [
                f"## GANNO and its ablations ({lam}) — Table 2 analogue",
                "",
                table_markdown([r for r in sub if r["group"] in policy_groups], abl, lrs, metric),
                "",
            ]
        warm = _ordered_labels(sub, ("warmup",))
        zero_policies = [lab for lab in _ordered_labels(sub, ("ganno",)) if any(r["label"] == lab and r["initial_lr"] == 0.0 for r in sub)]
        if warm and zero_policies and positive:
            renamed = []
            for r in sub:
                if r["label"] in zero_policies and r["initial_lr"] == 0.0:
                    renamed.append(dict(r, label=_from_zero(r["label"])))
                elif r["label"] in warm:
                    renamed.append(r)
            lines += [
                f"## Warm-up schedules against GANNO from LR = 0 ({lam}) — Table 3 analogue",
                "",
                "Columns are the schedules' *peak* LR; GANNO starts every layer at LR 0.",
                "",
                table_markdown(
                    renamed,
                    warm + [_from_zero(lab) for lab in zero_policies],
                    positive,
                    metric,
                    lr_header="Peak learning rate",
                    average_only={_from_zero(lab): 0.0 for lab in zero_policies},
                ),
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


def _from_zero(label: str) -> str:
    return label.replace("GANNO", "GANNO from LR = 0", 1) if "GANNO" in label else f"{label} from LR = 0"


def _group_of(rows: Sequence[Dict[str, Any]], label: str) -> Optional[str]:
    for r in rows:
        if r["label"] == label:
            return r["group"]
    return None


# ============================================================================ curves
def write_curves_csv(ev: Any, path: str) -> str:
    """Long format: one line per method x run x chunk (step), the per-chunk metrics."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["method", "label", "initial_lr", "weight_decay", "seed", "step", "train_loss", "val_accuracy", "test_accuracy", "lr"])
        for rs in ev.runsets:
            for i in range(rs.num_runs):
                lr0 = _fmt(float(rs.lr[i])) if rs.takes_lr else ""
                for c, step in enumerate(rs.steps):
                    finite = c < rs.lrs.shape[1] and np.isfinite(rs.lrs[i, c]).any()
                    lr_c = float(np.nanmean(rs.lrs[i, c])) if finite else float("nan")
                    w.writerow([rs.method, rs.label, lr0, _fmt(float(rs.weight_decay[i])), int(rs.seed[i]), int(step),
                                _fmt7(float(rs.train_loss[i, c])), _fmt7(float(rs.val_accuracy[i, c])),
                                _fmt7(float(rs.test_accuracy[i, c])), _fmt7(lr_c)])
    return path


def write_layer_lrs_csv(ev: Any, path: str) -> str:
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
def load_evaluation(folder: str) -> Any:
    """Rebuild an ``Evaluation`` from a results folder (table.csv, curves.csv, layer_lrs.csv,
    config.json), so tables and figures can be regenerated without rerunning anything."""
    from mava_ganno.evaluation.harness import Evaluation, RunSet, Scenario

    with open(os.path.join(folder, "config.json")) as f:
        meta = json.load(f)
    rows = read_table_csv(os.path.join(folder, "table.csv"))
    curves: Dict[Tuple[str, str, str, int], List[List[str]]] = {}
    with open(os.path.join(folder, "curves.csv"), newline="") as f:
        for r in csv.DictReader(f):
            key = (r["label"], r["initial_lr"], r["weight_decay"], int(r["seed"]))
            curves.setdefault(key, []).append([r["step"], r["train_loss"], r["val_accuracy"], r["test_accuracy"], r["lr"]])
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
        arrays: Dict[str, List[Any]] = {k: [] for k in ("train_loss", "val_accuracy", "test_accuracy", "lrs")}
        for r in runs:
            key = (label, _fmt(r["initial_lr"]) if takes_lr else "", _fmt(r["weight_decay"]), r["seed"])
            c = np.array([[float(x) for x in line] for line in curves[key]], np.float64)
            steps = c[:, 0].astype(np.int64)
            arrays["train_loss"].append(c[:, 1])
            arrays["val_accuracy"].append(c[:, 2])
            arrays["test_accuracy"].append(c[:, 3])
            if key in layers:
                arrays["lrs"].append(np.array([layers[key][int(st)] for st in steps[:-1]], np.float64))
            else:
                arrays["lrs"].append(c[:-1, 4:5])
        runsets.append(
            RunSet(
                method=first["method"], label=label, group=first["group"], mode=first["mode"],
                lr=np.array([r["initial_lr"] if takes_lr else np.nan for r in runs], np.float64),
                weight_decay=np.array([r["weight_decay"] for r in runs], np.float64),
                seed=np.array([r["seed"] for r in runs], np.int32), steps=steps,
                test_accuracy=np.stack(arrays["test_accuracy"]), val_accuracy=np.stack(arrays["val_accuracy"]),
                train_loss=np.stack(arrays["train_loss"]), lrs=np.stack(arrays["lrs"]),
                diverged=np.array([r["diverged"] for r in runs], bool), takes_lr=takes_lr, policy=first["policy"] or "",
                seconds=float(meta.get("method_seconds", {}).get(label, 0.0)),
            )
        )
    sc = Scenario(**meta["scenario"])
    return Evaluation(
        sc, tuple(meta["lrs"]), tuple(meta["weight_decays"]), tuple(meta["seeds"]), runsets,
        dict(meta.get("unavailable", {})), float(meta.get("seconds", 0.0)),
    )


# ============================================================================ figures
def _pick(values: Sequence[float], want: Optional[float], default: float = 1e-3) -> Optional[float]:
    vals = [float(v) for v in values if v > 0]
    if not vals:
        return None
    target = default if want is None else float(want)
    return min(vals, key=lambda v: abs(math.log(v) - math.log(target)))


def _runs(rs: Any, lr: Optional[float], wd: float) -> np.ndarray:
    m = np.isclose(rs.weight_decay, wd)
    if rs.takes_lr and lr is not None:
        m &= np.isclose(rs.lr, lr, rtol=1e-5, atol=0.0)
    return np.nonzero(m)[0]


def _step_xy(steps: np.ndarray, lrs: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Stairs: the LR of chunk c holds over [steps[c], steps[c+1])."""
    return np.repeat(steps, 2)[1:-1], np.repeat(lrs, 2)


def write_figures(ev: Any, out_dir: str, figure_lr: Optional[float] = None) -> List[str]:
    """fig_layer_schedules.png (paper fig. 2/3), fig_ganno_vs_onecycle.png (fig. 6),
    fig_test_accuracy.png (fig. 4/7). Returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files: List[str] = []
    lr = _pick(ev.lrs, figure_lr)
    wd = ev.weight_decays[0]
    policies = [rs for rs in ev.runsets if rs.group in ("ganno", "random")]
    steps_title = f"{ev.scenario.name}, λ = {wd:g}"

    # --- per-layer LR schedules + validation accuracy (fig. 2/3)
    if policies and lr is not None:
        fig, axes = plt.subplots(2, len(policies), figsize=(4.2 * len(policies), 5.6), squeeze=False, sharex=True)
        for j, rs in enumerate(policies):
            idx = _runs(rs, lr, wd)
            if not idx.size:
                continue
            i = idx[0]
            ax = axes[0, j]
            cmap = plt.get_cmap("viridis")
            nl = rs.lrs.shape[2]
            for layer in range(nl):
                x, y = _step_xy(rs.steps, rs.lrs[i, :, layer])
                ax.plot(x, y, color=cmap(layer / max(1, nl - 1)), label=f"layer {layer + 1}")
            ax.set_title(f"{rs.label}\ninitial LR {lr:g}, seed {int(rs.seed[i])}", fontsize=9)
            ax.set_ylabel("learning rate")
            ax.legend(fontsize=6, ncol=2)
            ax = axes[1, j]
            ax.plot(rs.steps, 100 * rs.val_accuracy[i], color="C3", label="validation")
            ax.plot(rs.steps, 100 * rs.test_accuracy[i], color="C3", ls=":", label="test")
            ax.set_xlabel("SGD steps")
            ax.set_ylabel("accuracy (%)")
            ax.legend(fontsize=7)
        fig.suptitle(f"Per-layer learning rates and accuracy — {steps_title}", fontsize=10)
        fig.tight_layout()
        files.append(_save(fig, out_dir, "fig_layer_schedules.png"))
        plt.close(fig)

    # --- GANNO against cosine one-cycle (fig. 6)
    onecycle = ev.get("Cosine one-cycle")
    ganno = next((rs for rs in ev.runsets if rs.group == "ganno"), None) or next(
        (rs for rs in ev.runsets if rs.group == "random"), None
    )
    if onecycle is not None and ganno is not None and lr is not None:
        start = 0.0 if 0.0 in ev.lrs else lr
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
        oc = _runs(onecycle, lr, wd)
        if oc.size:
            from mava_ganno.evaluation.baselines import make_schedule

            total = int(onecycle.steps[-1])
            t = np.arange(total + 1)
            y = np.asarray(make_schedule("onecycle", lr, total)(t))  # per step, not per chunk
            a1.plot(t, y, color="k", lw=2, label=f"cosine one-cycle (peak {lr:g})")
            _band(a2, onecycle.steps, onecycle.test_accuracy[oc], "k", "cosine one-cycle")
        gi = _runs(ganno, start, wd)
        for k, i in enumerate(gi[:3]):
            x, y = _step_xy(ganno.steps, np.nanmean(ganno.lrs[i], axis=-1))
            a1.plot(x, y, color=f"C{k}", label=f"{ganno.label}, seed {int(ganno.seed[i])} (mean over layers)")
        if gi.size:
            _band(a2, ganno.steps, ganno.test_accuracy[gi], "C0", f"{ganno.label} from LR {start:g}")
        a1.set_xlabel("SGD steps")
        a1.set_ylabel("learning rate")
        a1.legend(fontsize=7)
        a2.set_xlabel("SGD steps")
        a2.set_ylabel("test accuracy (%)")
        a2.legend(fontsize=7)
        fig.suptitle(f"{ganno.label} against cosine one-cycle — {steps_title}", fontsize=10)
        fig.tight_layout()
        files.append(_save(fig, out_dir, "fig_ganno_vs_onecycle.png"))
        plt.close(fig)

    # --- test accuracy over training per method (fig. 4/7)
    if lr is not None:
        wds = list(ev.weight_decays)
        fig, axes = plt.subplots(1, len(wds), figsize=(6.0 * len(wds), 4.6), squeeze=False)
        colors = plt.get_cmap("tab10").colors
        styles = ("-", "--", ":", "-.")
        for j, w in enumerate(wds):
            ax = axes[0, j]
            lows = []
            for k, rs in enumerate(ev.runsets):
                idx = _runs(rs, lr, w)
                if not idx.size or rs.group == "ablation":  # ablations: Table 2 and curves.csv
                    continue
                late = rs.steps >= 0.2 * rs.steps[-1]
                lows.append(float(np.min(100 * rs.test_accuracy[idx][:, late].mean(0))))
                strong = rs.group == "ganno"
                _band(ax, rs.steps, rs.test_accuracy[idx], colors[k % 10], rs.label,
                      lw=2.4 if strong else 1.1, ls=styles[(k // 10) % 4])
            if lows:  # zoom on the part of training where the methods differ
                ax.set_ylim(max(0.0, min(lows) - 3.0), None)
            ax.set_title(f"{ev.scenario.name}, λ = {w:g}, LR {lr:g} (LR-free methods at their own)", fontsize=9)
            ax.set_xlabel("SGD steps")
            ax.set_ylabel("test accuracy (%)")
        fig.tight_layout()  # then the legend outside, right of the last panel (savefig expands)
        axes[0, -1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7, frameon=False)
        files.append(_save(fig, out_dir, "fig_test_accuracy.png"))
        plt.close(fig)
    return files


def _band(ax: Any, steps: np.ndarray, acc: np.ndarray, color: Any, label: str, lw: float = 1.5, ls: str = "-") -> None:
    acc = 100 * np.asarray(acc, np.float64)
    m, s = acc.mean(0), acc.std(0)
    ax.plot(steps, m, color=color, lw=lw, ls=ls, label=label)
    if acc.shape[0] > 1:
        ax.fill_between(steps, m - s, m + s, color=color, alpha=0.15, lw=0)


def _save(fig: Any, out_dir: str, name: str) -> str:
    path = os.path.join(out_dir, name)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


# ============================================================================ all outputs
def evaluation_meta(ev: Any, command: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    from mava_ganno.evaluation.harness import BASELINES

    sc = ev.scenario
    policies = sorted({rs.policy for rs in ev.runsets if rs.policy})
    return {
        "title": f"Evaluation on {sc.name}",
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


def write_all(
    ev: Any,
    out_dir: str,
    figures: bool = True,
    figure_lr: Optional[float] = None,
    command: Optional[Sequence[str]] = None,
) -> List[str]:
    """Write every output of an evaluation to ``out_dir``; returns the paths."""
    os.makedirs(out_dir, exist_ok=True)
    rows = ev.rows()
    meta = evaluation_meta(ev, command)
    files = [write_table_csv(rows, os.path.join(out_dir, "table.csv"))]
    path = os.path.join(out_dir, "table.md")
    with open(path, "w") as f:
        f.write(tables_markdown(rows, meta))
    files.append(path)
    files.append(write_curves_csv(ev, os.path.join(out_dir, "curves.csv")))
    files.append(write_layer_lrs_csv(ev, os.path.join(out_dir, "layer_lrs.csv")))
    path = os.path.join(out_dir, "config.json")
    with open(path, "w") as f:
        json.dump(meta, f, indent=2, default=str)
        f.write("\n")
    files.append(path)
    if figures:
        files += write_figures(ev, out_dir, figure_lr)
    return files


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
