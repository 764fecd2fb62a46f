"""What our rotated anchor heads add to mmrotate's: CPU-safe anchors and the grid for CLA.

Two fixes over mmrotate 0.3.4's ``RotatedAnchorHead``, written as a mixin so a
plain Rotated RetinaNet head and FRHead share them without copying upstream code:

* ``get_anchors`` passed ``device`` positionally into mmdet 2.28's
  ``grid_priors(featmap_sizes, dtype, device)``, so anchors were always
  requested on CUDA and training failed on CPU. We pass it by keyword.
* Assigners that declare ``needs_grid_context`` (``CrossGridAssigner``) get the
  image's full anchor grid, feature-map sizes, strides and ``pad_shape`` for
  the duration of the per-image target computation (the paper code rewrote
  ``_get_targets_single`` for this; we wrap it).
* ``loss`` / ``get_bboxes`` accept ``rois``: refined boxes used as the anchors
  of a refinement stage (one per cell, same order as the grid).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from mmrotate.core import rotated_anchor_inside_flags

from ..assigners.grid_context import GridContext


class GridAssignMixin:
    """Mix in before an mmrotate ``RotatedAnchorHead`` subclass."""

    anchor_generator: Any  # the head's, built by RotatedAnchorHead

    def __init__(self, *args, **kwargs):
        self._rois = None
        self._featmap_sizes: tuple[tuple[int, int], ...] = ()
        super().__init__(*args, **kwargs)
        if getattr(getattr(self, "assigner", None), "needs_grid_context", False):
            counts = set(self.anchor_generator.num_base_anchors)
            if counts != {1}:
                raise ValueError(
                    f"{type(self.assigner).__name__} requires one anchor per grid cell "
                    f"(anchor_generator with one scale and ratios=[1.0]); this anchor generator "
                    f"has {sorted(counts)} anchors per cell"
                )

    @property
    def grid_strides(self) -> tuple[int, ...]:
        return tuple(int(s[0]) if isinstance(s, (tuple, list)) else int(s) for s in self.anchor_generator.strides)

    @contextmanager
    def rois_as_anchors(self, rois):
        """Use ``rois`` (per image, per level) as this head's anchors inside the block."""
        self._rois = rois
        try:
            yield
        finally:
            self._rois = None

    def get_anchors(self, featmap_sizes, img_metas, device="cuda"):
        self._featmap_sizes = tuple((int(h), int(w)) for h, w in featmap_sizes)
        if self._rois is None:
            mlvl = self.anchor_generator.grid_priors(featmap_sizes, device=device)
            anchor_list = [mlvl for _ in img_metas]
        else:
            anchor_list = [[lvl.detach().clone() for lvl in img_rois] for img_rois in self._rois]
        valid_flag_list = [
            self.anchor_generator.valid_flags(featmap_sizes, meta["pad_shape"], device=device) for meta in img_metas
        ]
        return anchor_list, valid_flag_list

    def loss(self, cls_scores, bbox_preds, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore=None, rois=None):
        with self.rois_as_anchors(rois):
            return super().loss(
                cls_scores, bbox_preds, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore=gt_bboxes_ignore
            )

    def get_bboxes(self, cls_scores, bbox_preds, img_metas, cfg=None, rescale=False, with_nms=True, rois=None):
        if rois is None:
            return super().get_bboxes(cls_scores, bbox_preds, img_metas, cfg=cfg, rescale=rescale, with_nms=with_nms)
        results = []
        for i, meta in enumerate(img_metas):
            results.append(
                self._get_bboxes_single(
                    [c[i].detach() for c in cls_scores],
                    [b[i].detach() for b in bbox_preds],
                    rois[i],
                    meta["img_shape"],
                    meta["scale_factor"],
                    cfg,
                    rescale,
                    with_nms,
                )
            )
        return results

    def _get_targets_single(self, flat_anchors, valid_flags, *args, **kwargs):
        # mmdet's multi_apply passes (..., gt_bboxes, gt_bboxes_ignore, gt_labels, img_meta) positionally.
        img_meta = args[3]
        args = (flat_anchors, valid_flags, *args)
        if not getattr(self.assigner, "needs_grid_context", False):
            return super()._get_targets_single(*args, **kwargs)
        inside = rotated_anchor_inside_flags(
            flat_anchors, valid_flags, img_meta["img_shape"][:2], self.train_cfg.allowed_border
        )
        context = GridContext(
            flat_anchors=flat_anchors,
            inside_flags=inside,
            featmap_sizes=self._featmap_sizes,
            strides=self.grid_strides,
            pad_shape=tuple(int(v) for v in img_meta["pad_shape"][:2]),
        )
        with self.assigner.grid_context(context):
            return super()._get_targets_single(*args, **kwargs)
