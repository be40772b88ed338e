"""Figures of an evaluation: test accuracy against SGD steps per method, per-layer learning
rates of the policies, GANNO against the best warm-up schedule (PNG, matplotlib Agg)."""

from __future__ import annotations

import math
import os
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from mava_ganno.evaluation.records import Evaluation, RunSet


# ============================================================================ figures
def _pick(values: Sequence[float], want: Optional[float], default: float = 1e-3) -> Optional[float]:
    vals = [float(v) for v in values if v > 0]
    if not vals:
        return None
    target = default if want is None else float(want)
    return min(vals, key=lambda v: abs(math.log(v) - math.log(target)))


def _runs(rs: RunSet, lr: Optional[float], wd: float) -> np.ndarray:
    m = np.isclose(rs.weight_decay, wd)
    if rs.takes_lr and lr is not None:
        m &= np.isclose(rs.lr, lr, rtol=1e-5, atol=0.0)
    return np.nonzero(m)[0]


def _step_xy(steps: np.ndarray, lrs: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Stairs: the LR of chunk c holds over [steps[c], steps[c+1])."""
    return np.repeat(steps, 2)[1:-1], np.repeat(lrs, 2)


def write_figures(ev: Evaluation, out_dir: str, figure_lr: Optional[float] = None) -> List[str]:
    """fig_layer_schedules.png (paper fig. 2/3), fig_ganno_vs_onecycle.png (fig. 6),
    fig_test_accuracy.png (fig. 4/7), at the grid LR nearest ``figure_lr`` (default 1e-3) and
    the first weight decay. A figure with nothing to show is left out. Returns the files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lr = _pick(ev.lrs, figure_lr)
    if lr is None:
        return []
    wd = ev.weight_decays[0]
    files = []
    for name, draw in (
        ("fig_layer_schedules.png", _layer_schedules),
        ("fig_ganno_vs_onecycle.png", _ganno_vs_onecycle),
        ("fig_test_accuracy.png", _test_accuracy),
    ):
        fig = draw(plt, ev, lr, wd)
        if fig is not None:
            files.append(_save(fig, out_dir, name))
            plt.close(fig)
    return files


def _title(ev: Evaluation, wd: float) -> str:
    return f"{ev.scenario.name}, λ = {wd:g}"


def _layer_schedules(plt: Any, ev: Evaluation, lr: float, wd: float) -> Any:
    """Per-layer LR schedules (top) and validation/test accuracy (bottom) of one run of every
    trained policy and fixed agent (fig. 2/3)."""
    policies = [rs for rs in ev.runsets if rs.group in ("ganno", "random")]
    if not policies:
        return None
    fig, axes = plt.subplots(2, len(policies), figsize=(4.2 * len(policies), 5.6), squeeze=False, sharex=True)
    cmap = plt.get_cmap("viridis")
    for j, rs in enumerate(policies):
        idx = _runs(rs, lr, wd)
        if not idx.size:
            continue
        i, ax = idx[0], axes[0, j]
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
    fig.suptitle(f"Per-layer learning rates and accuracy — {_title(ev, wd)}", fontsize=10)
    fig.tight_layout()
    return fig


def _ganno_vs_onecycle(plt: Any, ev: Evaluation, lr: float, wd: float) -> Any:
    """GANNO's mean LR over layers (from LR 0 when the grid has it) against the cosine
    one-cycle schedule (left), and their test accuracy (right) (fig. 6)."""
    onecycle = ev.get("Cosine one-cycle")
    ganno = next((rs for rs in ev.runsets if rs.group == "ganno"), None) or next(
        (rs for rs in ev.runsets if rs.group == "random"), None
    )
    if onecycle is None or ganno is None:
        return None
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
    for ax, ylabel in ((a1, "learning rate"), (a2, "test accuracy (%)")):
        ax.set_xlabel("SGD steps")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)
    fig.suptitle(f"{ganno.label} against cosine one-cycle — {_title(ev, wd)}", fontsize=10)
    fig.tight_layout()
    return fig


def _test_accuracy(plt: Any, ev: Evaluation, lr: float, wd: float) -> Any:
    """Test accuracy over training, mean ± std over seeds, of every method but the ablations
    (Table 2 and curves.csv have those), one panel per weight decay (fig. 4/7)."""
    del wd  # every weight decay gets a panel
    wds = list(ev.weight_decays)
    fig, axes = plt.subplots(1, len(wds), figsize=(6.0 * len(wds), 4.6), squeeze=False)
    colors = plt.get_cmap("tab10").colors
    styles = ("-", "--", ":", "-.")
    for j, w in enumerate(wds):
        ax, lows = axes[0, j], []
        for k, rs in enumerate(ev.runsets):
            idx = _runs(rs, lr, w)
            if not idx.size or rs.group == "ablation":
                continue
            late = rs.steps >= 0.2 * rs.steps[-1]
            lows.append(float(np.min(100 * rs.test_accuracy[idx][:, late].mean(0))))
            _band(ax, rs.steps, rs.test_accuracy[idx], colors[k % 10], rs.label,
                  lw=2.4 if rs.group == "ganno" else 1.1, ls=styles[(k // 10) % 4])  # fmt: skip
        if lows:  # zoom on the part of training where the methods differ
            ax.set_ylim(max(0.0, min(lows) - 3.0), None)
        ax.set_title(f"{ev.scenario.name}, λ = {w:g}, LR {lr:g} (LR-free methods at their own)", fontsize=9)
        ax.set_xlabel("SGD steps")
        ax.set_ylabel("test accuracy (%)")
    fig.tight_layout()  # then the legend outside, right of the last panel (savefig expands)
    axes[0, -1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7, frameon=False)
    return fig


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
