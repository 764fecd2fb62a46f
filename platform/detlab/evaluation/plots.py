"""Precision-recall curve per class as PNG (matplotlib's Agg canvas, no pyplot state)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from detlab.atomic import atomic_write
from detlab.figures import new_figure

from .result import ClassResult, EvalResult


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def plot_pr_curve(
    cls: ClassResult, path: str | os.PathLike, metric: str = "", iou_thr: float | None = None, iou_rule: str = ">"
) -> Path:
    """One class's PR curve (the raw points and the monotone envelope), written atomically."""
    fig = new_figure(5, 4, dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    rec = np.nan_to_num(np.asarray(cls.recall, dtype=np.float64), nan=0.0)
    prec = np.asarray(cls.precision, dtype=np.float64)
    if rec.size:
        envelope = np.maximum.accumulate(prec[::-1])[::-1]
        ax.plot(rec, prec, lw=1, alpha=0.5, label="precision")
        ax.step(rec, envelope, where="pre", lw=1.5, label="envelope")
        ax.legend(loc="lower left")
    else:
        ax.text(0.5, 0.5, "no detections", ha="center", va="center", transform=ax.transAxes)
    thr = "" if iou_thr is None else f" @ IoU{iou_rule}{iou_thr:g}"
    ax.set_title(f"{cls.name}: AP {cls.ap:.4f} ({metric}{thr}); {cls.num_gt} objects, {cls.num_det} dets", fontsize=9)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))


def save_pr_curves(result: EvalResult, out_dir: str | os.PathLike) -> list[Path]:
    """`pr_<class>.png` for every class of `result` in out_dir."""
    out_dir = Path(out_dir)
    return [
        plot_pr_curve(c, out_dir / f"pr_{_safe(c.name)}.png", result.metric, result.iou_thr, result.iou_rule)
        for c in result.classes
    ]
