"""Pictures of label assignment: positives-per-GT histograms and the assigned cells on an image.

`positives_figure`: left, the histogram of positives per GT (all levels) of each
series; right, mean positives per GT per FPN level. `assigned_cells_figure`: one row
per FPN level that has positives on the image, MaxIoU (step A) beside CLA: GT boxes,
the level's grid, each GT's centre cell, and the anchors each rule makes positive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from detlab.diagnostics.positives import Series, featmap_sizes
from detlab.diagnostics.samples import Sample
from detlab.figures import new_figure

__all__ = ["positives_figure", "assigned_cells_figure"]


def positives_figure(series: Sequence[Series], title: str = "") -> Any:
    fig = new_figure(12, 4.6)
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    top = max(int(s.per_gt.max()) for s in series if s.per_gt.size) if series else 1
    bins = np.arange(-0.5, top + 1.5, 1.0 if top <= 40 else max(1.0, top / 40))
    for i, s in enumerate(series):
        left.hist(
            s.per_gt, bins=bins, histtype="step", lw=1.8, color=f"C{i}", label=f"{s.label} (mean {s.per_gt.mean():.2f})"
        )
    left.set_xlabel("positive anchors per GT (all levels)")
    left.set_ylabel("GTs")
    left.legend(fontsize=7)
    left.grid(alpha=0.3)
    strides = sorted({st for s in series for st in s.strides})
    x = np.arange(len(strides))
    width = 0.8 / max(1, len(series))
    for i, s in enumerate(series):
        means = s.mean_per_level()
        ys = [means.get(f"s{st}", 0.0) for st in strides]
        bars = right.bar(x + (i - (len(series) - 1) / 2) * width, ys, width, color=f"C{i}", label=s.label)
        for bar, y in zip(bars, ys):
            if y > 0:
                right.annotate(f"{y:.2f}", (bar.get_x() + bar.get_width() / 2, y), ha="center", va="bottom", fontsize=6)
    right.set_xticks(x)
    right.set_xticklabels([f"stride {st}" for st in strides], fontsize=8)
    right.set_ylabel("mean positive anchors per GT")
    right.legend(fontsize=7)
    right.grid(axis="y", alpha=0.3)
    n = series[0].counts.shape[0] if series else 0
    fig.suptitle(f"{title}positives per GT, {n} GTs: MaxIoU vs CLA", fontsize=10)
    return fig


def assigned_cells_figure(
    sample: Sample, labels: dict[str, Any], strides: Sequence[int], per_cell: int, title: str = "", max_levels: int = 3
) -> Any:
    """`labels`: {"MaxIoU (step A)": (N,) labels, "CLA k=3": (N,) labels} on the same anchors."""
    from matplotlib.patches import Polygon, Rectangle
    from mmrotate.core import obb2poly_np

    sizes = featmap_sizes(sample.pad_shape, strides)
    level_sizes = [h * w * per_cell for h, w in sizes]
    names = list(labels)
    split = {n: np.split(np.asarray(labels[n]), np.cumsum(level_sizes)[:-1]) for n in names}
    levels = [i for i in range(len(strides)) if any((split[n][i] > 0).any() for n in names)][:max_levels]
    levels = levels or [0]
    aspect = sample.pad_shape[0] / max(1, sample.pad_shape[1])
    fig = new_figure(7.0 * len(names), (7.0 * aspect + 0.5) * len(levels) + 0.6)
    polys = (
        obb2poly_np(np.concatenate([sample.gt_bboxes, np.zeros((len(sample.gt_bboxes), 1))], 1), "le90")[:, :8].reshape(
            -1, 4, 2
        )
        if len(sample.gt_bboxes)
        else np.zeros((0, 4, 2))
    )
    for r, lvl in enumerate(levels):
        s, (fh, fw) = strides[lvl], sizes[lvl]
        for c, name in enumerate(names):
            ax = fig.add_subplot(len(levels), len(names), r * len(names) + c + 1)
            ax.imshow(sample.image, alpha=0.75)
            for x in range(fw + 1):
                ax.axvline(x * s, color="white", lw=0.3, alpha=0.5)
            for y in range(fh + 1):
                ax.axhline(y * s, color="white", lw=0.3, alpha=0.5)
            for g, poly in enumerate(polys):
                ax.add_patch(Polygon(poly, closed=True, fill=False, ec="lime", lw=1.2))
                cx, cy = sample.gt_bboxes[g, :2]
                ax.add_patch(
                    Rectangle(
                        (np.floor(cx / s) * s, np.floor(cy / s) * s), s, s, fill=False, ec="yellow", lw=1.0, ls="--"
                    )
                )
            lab = split[name][lvl].reshape(fh, fw, per_cell)
            ys, xs, _ = np.nonzero(lab > 0)
            base = split[names[0]][lvl].reshape(fh, fw, per_cell) if c > 0 else None
            extra = np.array([base is not None and not (base[y, x] > 0).any() for y, x in zip(ys, xs)], bool)
            ax.scatter(
                xs[~extra] * s,
                ys[~extra] * s,
                s=22,
                c="deepskyblue",
                edgecolors="k",
                lw=0.4,
                label="positive anchor point",
                zorder=3,
            )
            if extra.any():
                ax.scatter(
                    xs[extra] * s,
                    ys[extra] * s,
                    s=30,
                    marker="X",
                    c="red",
                    edgecolors="k",
                    lw=0.4,
                    label=f"added by {name}",
                    zorder=4,
                )
            ax.set_xlim(0, sample.pad_shape[1])
            ax.set_ylim(sample.pad_shape[0], 0)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{name}, stride {s}: {len(set(zip(ys.tolist(), xs.tolist())))} positive cells", fontsize=8)
            if r == 0:
                ax.legend(fontsize=6, loc="lower right")
    fig.suptitle(
        f"{title}{sample.filename}: GT boxes (green), GT centre cells (yellow, dashed), "
        "positive anchors (points on cell corners)",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig
