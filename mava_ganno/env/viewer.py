"""Rendering with matplotlib: per-layer learning rates and accuracy over an episode."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from mava_ganno.env.types import State


def _pyplot():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "png"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


class GannoViewer:
    """Jumanji-style viewer: ``render(state)`` and ``animate(states, save_path)``.

    Depends on ``State`` only: the environment injects what a state does not carry
    (``tau``, ``time_limit`` and ``layer_of_lr``, the agent whose LR each layer follows).
    """

    def __init__(self, tau: int, time_limit: int, layer_of_lr: Sequence[int]):
        self.tau, self.time_limit = int(tau), int(time_limit)
        self.layer_of_lr = np.asarray(layer_of_lr, np.int32)

    def layer_lrs(self, state: State) -> np.ndarray:
        """(L,) the learning rate of every layer in ``state``."""
        return np.asarray(state.lrs)[self.layer_of_lr]

    def render(self, state: State, save_path: Optional[str] = None) -> Any:
        """Bar chart of the current per-layer learning rates, titled with the accuracies."""
        plt = _pyplot()
        lrs = self.layer_lrs(state)
        g = state.global_stats
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.bar(np.arange(1, len(lrs) + 1), lrs)
        ax.set_xlabel("layer")
        ax.set_ylabel("learning rate")
        ax.set_title(
            f"step {int(state.step_count)}/{self.time_limit}  "
            f"train acc {float(g.train_accuracy):.3f}  val acc {float(g.val_accuracy):.3f}"
        )
        fig.tight_layout()
        if save_path:
            fig.savefig(save_path, dpi=100)
        return fig

    def animate(self, states: Sequence[State], save_path: Optional[str] = None) -> Any:
        """Per-layer LR schedules and accuracy curves over a sequence of states (a PNG)."""
        return plot_episode(
            lrs=np.stack([self.layer_lrs(s) for s in states]),
            val_accuracy=np.asarray([float(s.global_stats.val_accuracy) for s in states]),
            train_loss=np.asarray([float(s.global_stats.train_loss) for s in states]),
            tau=self.tau,
            save_path=save_path,
        )

    def close(self) -> None:
        _pyplot().close("all")


def plot_episode(
    lrs: np.ndarray,
    val_accuracy: np.ndarray,
    tau: int,
    train_loss: Optional[np.ndarray] = None,
    title: str = "",
    save_path: Optional[str] = None,
) -> Any:
    """The paper's figures 2/3: per-layer LR (T, L) over SGD steps, with accuracy (and loss)."""
    plt = _pyplot()
    lrs = np.asarray(lrs)
    steps = np.arange(lrs.shape[0]) * tau
    panels = 3 if train_loss is not None else 2
    fig, axes = plt.subplots(panels, 1, figsize=(7, 2.4 * panels), sharex=True)
    for layer in range(lrs.shape[1]):
        axes[0].plot(steps, lrs[:, layer], label=f"layer {layer + 1}")
    axes[0].set_ylabel("learning rate")
    axes[0].legend(fontsize=7, ncol=min(lrs.shape[1], 4))
    axes[1].plot(steps, val_accuracy, color="k")
    axes[1].set_ylabel("val accuracy")
    if train_loss is not None:
        axes[2].plot(steps, train_loss, color="tab:red")
        axes[2].set_ylabel("train loss")
        axes[2].set_yscale("log")
    axes[-1].set_xlabel("SGD steps")
    if title:
        axes[0].set_title(title)
    fig.tight_layout()
    if save_path:
        fig.savefig(save_path, dpi=100)
    return fig
