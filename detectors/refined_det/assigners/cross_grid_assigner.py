"""``CrossGridAssigner``: CLA as an mmdet/mmrotate assigner."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from mmdet.core.bbox.assigners import AssignResult, MaxIoUAssigner
from mmrotate.core.bbox.builder import ROTATED_BBOX_ASSIGNERS

from .assign_stats import AssignStats
from .cross_grid import CrossGridResult, check_cla_options, cross_grid_assign_full
from .grid_context import GridContext
from .sparse_iou import overlaps_for_mode

# The assigner's attributes that are cross_grid_assign_full's keyword arguments of the same name.
CLA_SETTINGS = (
    "radius",
    "num_neighbors",
    "pos_iou_thr",
    "neg_iou_thr",
    "min_pos_iou",
    "gt_max_assign_all",
    "k2_min_scope",
)


@ROTATED_BBOX_ASSIGNERS.register_module()
class CrossGridAssigner(MaxIoUAssigner):
    """Cross-grid label assignment (Rao & Zhou, GRSL 2024).

    Needs a head that hands over the anchor grid (``GridContext``): the heads
    of this package (``CLARetinaHead``, ``FRHead``) do. Requires one anchor
    per cell (``RotatedAnchorGenerator(scales=[s], ratios=[1.0])``).

    Args:
        radius: the paper code's ``near_neighbor_thr``: a neighbour cell is added
            when the centre's fractional offset towards it is below this.
        num_neighbors: 1 (centre cell only), 2 (one nearest side, the paper code's
            level-wide minimum) or 3 (the paper's: every near side).
        cross_grid: False turns CLA off and assigns exactly like mmdet's
            ``MaxIoUAssigner`` (its own comparisons), for ablations.
        k2_min_scope: ``'level'`` (paper code) or ``'gt'`` (per-GT minimum for k=2).
        iou_mode: ``'sparse'`` computes the exact rotated IoU only for
            anchor-GT pairs whose circumscribed circles overlap (the others are
            0, as in the dense matrix); ``'dense'`` runs mmrotate's
            ``RBboxOverlaps2D`` on every pair; ``'auto'`` (default) is sparse on
            the CPU and dense on CUDA, where the dense kernel is the faster.
            Same labels, CLA or not.
        Other keyword arguments are mmdet's ``MaxIoUAssigner``'s (``pos_iou_thr``
        0.5, ``neg_iou_thr`` 0.4, ``min_pos_iou`` 0 by default here); CLA's step A uses the paper code's
        comparisons (``<=`` / ``>``), see ``cross_grid.QUIRKS``.
    """

    needs_grid_context = True

    def __init__(
        self,
        radius: float = 0.5,
        num_neighbors: int = 3,
        cross_grid: bool = True,
        k2_min_scope: str = "level",
        iou_mode: str = "auto",
        **maxiou_args: Any,
    ):
        # CLA's defaults for the MaxIoU arguments (the paper's config); the rest are mmdet's.
        maxiou_args = {"pos_iou_thr": 0.5, "neg_iou_thr": 0.4, "min_pos_iou": 0.0, **maxiou_args}
        maxiou_args.setdefault("iou_calculator", dict(type="RBboxOverlaps2D"))
        super().__init__(**maxiou_args)
        check_cla_options(radius, num_neighbors, self.pos_iou_thr, self.neg_iou_thr, k2_min_scope)
        self.iou_mode = iou_mode
        self.iou_calculator: Any = overlaps_for_mode(self.iou_calculator, iou_mode)
        if cross_grid and self.ignore_iof_thr > 0:
            raise ValueError(
                "CrossGridAssigner does not support ignore_iof_thr > 0 (the paper's CLA ignores gt_bboxes_ignore)"
            )
        if cross_grid and not self.match_low_quality:
            raise ValueError(
                "CrossGridAssigner with cross_grid=True always matches low-quality "
                "anchors (the paper code's step 4); match_low_quality=False is not supported"
            )
        self.radius = float(radius)
        self.num_neighbors = int(num_neighbors)
        self.cross_grid = bool(cross_grid)
        self.k2_min_scope = k2_min_scope
        self.stats = AssignStats()
        self._grid: GridContext | None = None

    @contextmanager
    def grid_context(self, context: GridContext) -> Iterator[None]:
        """Make the image's anchor grid available to the next ``assign`` calls."""
        self._grid = context
        try:
            yield
        finally:
            self._grid = None

    def assign_grid(self, grid: GridContext, gt_bboxes: torch.Tensor) -> CrossGridResult:
        """CLA over the whole anchor grid with this assigner's settings (also for diagnostics)."""
        return cross_grid_assign_full(
            grid.per_level(grid.flat_anchors),
            grid.featmap_sizes,
            grid.strides,
            gt_bboxes,
            grid.pad_shape,
            grid.per_level(grid.inside_flags),
            **{name: getattr(self, name) for name in CLA_SETTINGS},
            overlaps_fn=self.iou_calculator,
        )

    def assign(self, bboxes, gt_bboxes, gt_bboxes_ignore=None, gt_labels=None) -> AssignResult:
        if not self.cross_grid:
            result = super().assign(bboxes, gt_bboxes, gt_bboxes_ignore, gt_labels)
            self.stats.add_maxiou_only(result.gt_inds, gt_bboxes.shape[0], self._grid)
            return result
        grid = self._grid
        if grid is None:
            raise RuntimeError(
                "CrossGridAssigner needs the anchor grid: use it with a head that provides it "
                "(CLARetinaHead or FRHead from refined_det), not with mmrotate's RotatedRetinaHead"
            )
        inside = grid.inside_flags
        if int(inside.sum()) != bboxes.shape[0]:
            raise RuntimeError("CrossGridAssigner: the head's anchors do not match its grid context")
        result = self.assign_grid(grid, gt_bboxes)
        self.stats.add(result, gt_bboxes.shape[0], grid.strides)
        gt_inds = result.assigned[inside]
        max_overlaps = result.max_overlaps[inside]
        labels = None
        if gt_labels is not None:
            labels = gt_inds.new_full(gt_inds.shape, -1)
            pos = gt_inds > 0
            labels[pos] = gt_labels[gt_inds[pos] - 1]
        return AssignResult(gt_bboxes.shape[0], gt_inds, max_overlaps, labels=labels)
