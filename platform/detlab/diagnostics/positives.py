"""Positive anchors per GT, per FPN level, under a config's own anchors and assigner.

This is what CLA claims to fix: MaxIoU gives a small or thin object few positive
anchors, CLA adds the anchors of the grid cells around its centre. For a config with
`CrossGridAssigner(cross_grid=True)` one call of `cross_grid_assign_full` gives both
series on the same anchors: its step A (MaxIoU with the paper code's comparisons) and the
final CLA labels. Any other assigner (the Rotated RetinaNet baseline's MaxIoUAssigner
on 9 anchors per cell, or CLA switched off) gives one MaxIoU series. Only the first
stage is counted (FRHead's refine stage assigns on refined boxes, which need a model).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from detlab.diagnostics.samples import Sample

__all__ = ["Series", "count_positives", "featmap_sizes", "per_level_table", "anchors_per_cell"]


@dataclass
class Series:
    """Positives of every GT of the samples: `counts[g, l]` anchors of level l positive for GT g."""

    label: str
    kind: str  # "maxiou" | "cla"
    cell: str
    strides: tuple[int, ...]
    anchors_per_cell: int
    counts: np.ndarray  # (num GTs over all samples, num levels) int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def per_gt(self) -> np.ndarray:
        return self.counts.sum(axis=1)

    def mean_per_level(self) -> dict[str, float]:
        n = max(1, self.counts.shape[0])
        out = {f"s{s}": float(self.counts[:, i].sum() / n) for i, s in enumerate(self.strides)}
        out["all"] = float(self.counts.sum() / n)
        return out


def featmap_sizes(pad_shape: Sequence[int], strides: Sequence[int]) -> list[tuple[int, int]]:
    """FPN output sizes for a padded input: H/s up to stride 32 (the backbone's), then each extra
    level halves the previous with a 3x3 stride-2 conv (ceil), as RetinaNet's P6/P7."""
    h, w = int(pad_shape[0]), int(pad_shape[1])
    out: list[tuple[int, int]] = []
    for s in strides:
        if s <= 32 or not out:
            out.append((math.ceil(h / s), math.ceil(w / s)))
        else:
            ph, pw = out[-1]
            out.append((math.ceil(ph / 2), math.ceil(pw / 2)))
    return out


def anchors_per_cell(cfg: Any) -> int:
    return int(prior_grid(cfg)[0].num_base_anchors[0])


def prior_grid(cfg: Any) -> tuple[Any, tuple[int, ...]]:
    """The config head's anchor generator and its strides (one int per level)."""
    from mmrotate.core import build_prior_generator

    gen = build_prior_generator(cfg.model.bbox_head.anchor_generator)
    return gen, tuple(int(s[0] if isinstance(s, (tuple, list)) else s) for s in gen.strides)


def count_positives(cfg: Any, samples: Sequence[Sample], *, cell: str = "", title: str = "") -> list[Series]:
    """One series (MaxIoU) or two (step A and CLA) for the config's head and assigner."""
    import torch
    from mmrotate.core import build_assigner

    import refined_det.register  # noqa: F401  (registers the plugins)
    from refined_det.assigners import CrossGridAssigner
    from refined_det.assigners.grid_context import GridContext

    gen, strides = prior_grid(cfg)
    per_cell = int(gen.num_base_anchors[0])
    assigner = build_assigner(cfg.model.train_cfg.assigner)
    cla = isinstance(assigner, CrossGridAssigner) and assigner.cross_grid
    rows: dict[str, list[np.ndarray]] = {"maxiou": [], "cla": []}
    for sample in samples:
        sizes = featmap_sizes(sample.pad_shape, strides)
        anchors = gen.grid_priors(sizes, device="cpu")
        gts = torch.as_tensor(sample.gt_bboxes, dtype=torch.float32).reshape(-1, 5)
        level_sizes = [a.shape[0] for a in anchors]
        if cla:
            res = assigner.assign_grid(GridContext.whole(anchors, sizes, strides, sample.pad_shape), gts)
            labelled = {"maxiou": res.maxiou_assigned, "cla": res.assigned}
        else:
            labelled = {"maxiou": assigner.assign(torch.cat(anchors), gts).gt_inds}
        for kind, labels in labelled.items():
            rows[kind].append(_per_gt_per_level(labels, level_sizes, gts.shape[0]))
    settings = {k: v for k, v in dict(cfg.model.train_cfg.assigner).items() if not isinstance(v, dict)}
    name = title or cell
    out = []
    if rows["maxiou"]:
        what = "step A: MaxIoU (seed comparisons)" if cla else "MaxIoU"
        out.append(
            Series(
                f"{name}: {what}, {per_cell} anchor{'s' if per_cell > 1 else ''}/cell",
                "maxiou",
                cell,
                strides,
                per_cell,
                np.concatenate(rows["maxiou"]),
                settings,
            )
        )
    if rows["cla"]:
        label = f"{name}: CLA k={assigner.num_neighbors}, r={assigner.radius:g}"
        out.append(Series(label, "cla", cell, strides, per_cell, np.concatenate(rows["cla"]), settings))
    return out


def _per_gt_per_level(labels: Any, level_sizes: Sequence[int], num_gts: int) -> np.ndarray:
    import torch

    out = np.zeros((num_gts, len(level_sizes)), dtype=np.int64)
    for i, lv in enumerate(torch.split(labels, list(level_sizes))):
        pos = lv[lv > 0] - 1
        if pos.numel():
            out[:, i] = torch.bincount(pos, minlength=num_gts).cpu().numpy()[:num_gts]
    return out


def per_level_table(series: Sequence[Series]) -> list[dict[str, Any]]:
    """Mean positives per GT, per level and in all, one row per series (for the note and the HTML)."""
    return [
        {
            "series": s.label,
            "cell": s.cell,
            "kind": s.kind,
            "gts": int(s.counts.shape[0]),
            "zero_positive_gts": int((s.per_gt == 0).sum()),
            **s.mean_per_level(),
        }
        for s in series
    ]
