"""Training and validation loss curves of a language-model run, drawn with matplotlib (the ``plot`` extra)."""

from __future__ import annotations

import os

from ..errors import SeqdlError
from ..io import atomic_write
from .training import History

DPI = 120
#: At most this many updates are averaged for the smoothed training curve drawn over the raw one.
SMOOTHING = 50


def require_matplotlib(task: str):
    """The matplotlib module, or a one-line :class:`SeqdlError` saying ``task`` needs it and how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise SeqdlError(f'{task} needs matplotlib: pip install "seqdl[plot]"') from None
    return matplotlib


def write_loss_plot(path: str | os.PathLike, history: History, title: str = "") -> None:
    """Draw the per-update training loss and the validation losses of ``history`` to the PNG ``path``, atomically."""
    require_matplotlib("--plot")
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    losses = np.asarray(history.step_loss, dtype=float)
    # the last updates (a run resumed from an older checkpoint lacks the earliest)
    steps = np.arange(history.steps - len(losses) + 1, history.steps + 1)
    if len(losses):
        ax.plot(steps, losses, color="#1f77b4", alpha=0.3, linewidth=0.8)
        window = max(1, min(SMOOTHING, len(losses) // 10))
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        centres = (steps[window - 1:] + steps[:len(smooth)]) / 2  # centred, so the mean does not lag
        ax.plot(centres, smooth, color="#1f77b4", label="train (moving mean)")
    if history.evaluations:
        at, val = zip(*history.evaluations)
        ax.plot(at, val, "o-", color="#d62728", markersize=3, label="validation")
    ax.set_xlabel("update")
    ax.set_ylabel("loss (nats per token)")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png")
