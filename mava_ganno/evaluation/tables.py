"""Tables in the paper's format (Tables 1-5), from ``table.csv`` rows alone.

One row per method, one column per initial LR plus Average; each cell is the final test
accuracy in %, mean ± std over seeds (sample std, ddof=1; 0 for one seed); Average is computed
per seed over the table's LR columns, then mean ± std over seeds; the best mean in each column
is **bold** (ties by the shown value all bold). ``/`` = the method does not take that LR
(LR-free methods have only an Average); ``†`` = at least one seed diverged (its accuracy
counts as chance level, 10%).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

GROUP_ORDER = ("handcrafted", "warmup", "optimizer", "random", "ablation", "ganno")


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
    """``GANNO-x (greedy)`` -> ``GANNO-x from LR = 0 (greedy)``: the policy's name, then the start."""
    for mode in (" (sampled)", " (greedy)"):
        if label.endswith(mode):
            return f"{label[: -len(mode)]} from LR = 0{mode}"
    return f"{label} from LR = 0"


def _group_of(rows: Sequence[Dict[str, Any]], label: str) -> Optional[str]:
    for r in rows:
        if r["label"] == label:
            return r["group"]
    return None
