"""Figures without pyplot state: a matplotlib `Figure` on its own Agg canvas, and its PNG bytes.

Shared by evaluation, sweep, report and diagnostics plots. No `matplotlib.use()`: drawing a
figure here never changes the backend of the process that imported the platform (a notebook
keeps its own), and it works in Ray workers without a display.
"""

from __future__ import annotations

import io
from typing import Any

__all__ = ["new_figure", "png_bytes"]


def new_figure(width: float, height: float, dpi: int = 110) -> Any:
    """An empty `Figure` of `width` x `height` inches, drawn by Agg (add axes with `add_subplot`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Any) -> bytes:
    """The figure as PNG, cropped to what is drawn."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()
