"""Figures of an ablation's results (matplotlib Figure objects on the Agg canvas, no pyplot state).

* `seeds_figure`: every seed's value per cell, mean ± std, the paper's number beside;
* `per_class_figure`: per-class AP bars per cell (mean over seeds, std as error bars);
* `response_figure`: the metric against the value of the key the cells vary (radius, k).
Incomplete cells are drawn from their finished seeds and labelled as incomplete.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from detlab.figures import new_figure, png_bytes
from detlab.report.table import Table

__all__ = ["png_bytes", "seeds_figure", "per_class_figure", "response_figure"]

CLASS_PREFIX = "val/AP/"


def _label(row: Any) -> str:
    return row.cell.title if row.cell.complete else f"{row.cell.title}\n({row.cell.status_text()})"


def seeds_figure(table: Table) -> Any:
    fig = new_figure(max(5.0, 1.4 * len(table.rows) + 2), 4.2)
    ax = fig.add_subplot(1, 1, 1)
    for i, row in enumerate(table.rows):
        values = [row.cell.values[s] for s in row.cell.seeds if s in row.cell.values]
        if values:
            mean, std = row.cell.mean_std
            ax.errorbar(
                [i],
                [mean],
                yerr=[std or 0.0],
                fmt="s",
                color="C0",
                capsize=6,
                ms=7,
                label="ours: mean ± std" if i == 0 else None,
            )
            ax.scatter(
                [i + 0.12] * len(values),
                values,
                color="C0",
                alpha=0.45,
                s=18,
                label="ours: each seed" if i == 0 else None,
            )
        if row.cell.paper is not None:
            ax.scatter(
                [i - 0.12],
                [row.cell.paper],
                marker="D",
                facecolors="none",
                edgecolors="C3",
                s=46,
                label="paper / zoo" if not any(r.cell.paper is not None for r in table.rows[:i]) else None,
            )
    ax.set_xticks(range(len(table.rows)))
    ax.set_xticklabels([_label(r) for r in table.rows], fontsize=8)
    ax.set_ylabel(f"{table.metric} (x{table.scale:g})")
    ax.set_title(f"{table.name}: {table.metric} per cell", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return fig


def per_class_figure(table: Table) -> Any | None:
    """None when the runs logged no per-class AP (e.g. the toy trainer)."""
    classes = sorted(
        {
            k[len(CLASS_PREFIX) :]
            for row in table.rows
            for run in row.cell.runs.values()
            if run.status == "finished"
            for k in run.metrics
            if k.startswith(CLASS_PREFIX)
        }
    )
    if not classes:
        return None
    rows = [r for r in table.rows if r.cell.values]
    fig = new_figure(max(6.0, 0.55 * len(classes) * max(1, len(rows)) ** 0.5 + 3), 4.5)
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / max(1, len(rows))
    x = np.arange(len(classes))
    for j, row in enumerate(rows):
        per_seed = np.array(
            [
                [run.metrics.get(CLASS_PREFIX + c, np.nan) * table.scale for c in classes]
                for s, run in sorted(row.cell.runs.items())
                if s in row.cell.values
            ]
        )
        mean = np.nanmean(per_seed, axis=0)
        std = np.nanstd(per_seed, axis=0, ddof=1) if per_seed.shape[0] > 1 else np.zeros(len(classes))
        ax.bar(x + (j - (len(rows) - 1) / 2) * width, mean, width, yerr=std, capsize=2, label=_label(row))
    ax.set_xticks(x)
    ax.set_xticklabels(
        classes, rotation=45 if len(classes) > 3 else 0, ha="right" if len(classes) > 3 else "center", fontsize=8
    )
    ax.set_ylim(bottom=0, top=max(ax.get_ylim()[1], 1e-3 * table.scale))
    ax.set_ylabel(f"AP (x{table.scale:g})")
    ax.set_title(f"{table.name}: per-class AP per cell (mean ± std over seeds)", fontsize=10)
    ax.legend(fontsize=7, ncol=min(4, len(rows)))
    ax.grid(axis="y", alpha=0.3)
    return fig


def response_figure(table: Table, key: str, xs: Sequence[float | None]) -> Any | None:
    """`xs[i]`: the value of `key` in row i's merged config (None: not on the curve)."""
    points = [(x, row) for x, row in zip(xs, table.rows) if x is not None and row.cell.values]
    if len(points) < 2:
        return None
    points.sort(key=lambda p: p[0])
    fig = new_figure(5.5, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    x = np.array([p[0] for p in points], dtype=float)
    stats = [p[1].cell.mean_std for p in points]
    mean = np.array([m for m, _ in stats], dtype=float)
    std = np.array([s or 0.0 for _, s in stats], dtype=float)
    ax.plot(x, mean, "-o", color="C0", label="ours: mean")
    ax.fill_between(x, mean - std, mean + std, color="C0", alpha=0.2, label="± std over seeds")
    for xi, row in points:
        ax.scatter([xi] * len(row.cell.values), list(row.cell.values.values()), color="C0", s=10, alpha=0.4)
        if row.cell.paper is not None:
            ax.scatter([xi], [row.cell.paper], marker="D", facecolors="none", edgecolors="C3", s=46)
        if not row.cell.complete:
            ax.annotate(row.cell.status_text(), (xi, row.cell.mean_std[0]), fontsize=7, color="C3")
    ax.set_xlabel(key.rsplit(".", 1)[-1] + f"  ({key})", fontsize=8)
    ax.set_ylabel(f"{table.metric} (x{table.scale:g})")
    ax.set_title(f"{table.name}: response to {key.rsplit('.', 1)[-1]}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig
