"""Cross-grid label assignment (CLA) as one pure, vectorised function.

The rule is the paper code's (``shenhaibb/Refined-Det``, ``CLA`` with its k=3
branch active), restated in ``docs/cla.md``. Every quirk of that code is
kept as the default so that labels match it on every input; each one is listed
in ``QUIRKS`` below and in ``docs/cla.md``. Options that fix a quirk are
opt-in.

Step A is MaxIoU with the paper code's comparisons (``<=`` for negatives, ``>`` for
positives and for ``min_pos_iou``, all tied anchors per GT). Step B, per FPN
level, adds the anchors of the grid cells next to each present GT's centre
when the cell's anchor point lies inside a present GT.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ParamSpec

import torch
from mmrotate.core import obb2poly, obb2xyxy
from mmrotate.core.bbox.iou_calculators.rotate_iou2d_calculator import rbbox_overlaps

from .geometry import points_in_quads
from .sparse_iou import IOU_MODES, auto_rbbox_overlaps, sparse_rbbox_overlaps

# Neighbour order of the seed: centre, left, up, right, bottom. The candidate
# cell is floor(g - offset * radius).
NEIGHBOUR_OFFSETS = ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))

# The paper code's quirks that the default keeps (documented in docs/cla.md).
QUIRKS = {
    "comparisons": "neg: IoU <= neg_iou_thr, pos: IoU > pos_iou_thr, low-quality: best IoU > min_pos_iou",
    "grid_scale": "centre cell uses cx / W * (W // s), not cx / s",
    "corner_anchor_points": "anchor points sit on cell corners (center_offset=0); "
    "the left/up neighbour chosen when frac < r is the farther one",
    "border_guard": "a direction needs its coordinate > 1, measured against W // s, not the feature width",
    "k2_global_min": "k=2 takes min() over all present GTs and all four directions of a level",
    "any_polygon": "a candidate cell is kept if its anchor point is inside ANY present GT of the level",
    "argmax_label": "a kept cell is labelled with its own max-IoU GT, overwriting step A, even below neg_iou_thr",
}

K2_MIN_SCOPES = ("level", "gt")
P = ParamSpec("P")


@dataclass(frozen=True)
class CrossGridResult:
    """Everything the assigner class and diagnostics need from one call."""

    assigned: torch.Tensor  # (N,) long: -1 ignore, 0 background, i+1 GT i
    maxiou_assigned: torch.Tensor  # (N,) long: labels after step A only
    max_overlaps: torch.Tensor  # (N,) max IoU over GTs (-1 where not valid)
    argmax_overlaps: torch.Tensor  # (N,) long: max-IoU GT of each anchor
    level_sizes: tuple[int, ...]  # anchors per level, to split the outputs


def cross_grid_assign_full(
    anchors: Sequence[torch.Tensor],
    featmap_sizes: Sequence[Sequence[int]],
    strides: Sequence[int],
    gt_bboxes: torch.Tensor,
    pad_shape: Sequence[int],
    valid_flags: Sequence[torch.Tensor] | None = None,
    *,
    radius: float = 0.5,
    num_neighbors: int = 3,
    pos_iou_thr: float = 0.5,
    neg_iou_thr: float | tuple[float, float] = 0.4,
    min_pos_iou: float = 0.0,
    gt_max_assign_all: bool = True,
    k2_min_scope: str = "level",
    iou_mode: str = "auto",
    overlaps_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> CrossGridResult:
    """CLA's labels with what diagnostics need, and the quirk-fixing options.

    ``cross_grid_assign`` takes the same arguments and returns only ``.assigned``.

    Args:
        anchors: per level ``(H_l*W_l, 5)`` le90 anchors in mmrotate's
            RotatedAnchorGenerator order, exactly one anchor per cell.
        featmap_sizes: per level ``(H_l, W_l)``.
        strides: per level stride (int).
        gt_bboxes: ``(G, 5)`` le90 ``(cx, cy, w, h, angle)``.
        pad_shape: ``(H, W)`` of the padded input (``img_meta['pad_shape']``).
        valid_flags: optional per-level bool ``(H_l*W_l,)``; invalid anchors get ``-1``.
        iou_mode: ``'sparse'`` (exact rotated IoU only for anchor-GT pairs whose
            circumscribed circles overlap, 0 elsewhere), ``'dense'`` (every
            pair) or ``'auto'`` (default: sparse on the CPU, dense on CUDA, where
            it is the faster); all give the same IoU matrix, so the same labels.

    ``k2_min_scope='gt'`` takes k=2's minimum per GT (probably what the paper
    meant) instead of the paper code's minimum over the whole level.
    ``overlaps_fn(gts, anchors) -> (G, N)`` lets the assigner class use its
    configured IoU calculator; without it ``iou_mode`` picks mmrotate's
    ``rbbox_overlaps`` (``'dense'``), its sparse twin (``'sparse'``) or, by device, either (``'auto'``).
    """
    check_cla_options(radius, num_neighbors, pos_iou_thr, neg_iou_thr, k2_min_scope)
    if iou_mode not in IOU_MODES:
        raise ValueError(f"CLA iou_mode must be one of {IOU_MODES} (got {iou_mode!r})")
    if overlaps_fn is None:
        overlaps_fn = {"auto": auto_rbbox_overlaps, "sparse": sparse_rbbox_overlaps, "dense": rbbox_overlaps}[iou_mode]
    level_sizes = _check_inputs(anchors, featmap_sizes, strides, gt_bboxes, pad_shape, valid_flags)
    flat = torch.cat(list(anchors)) if anchors else gt_bboxes.new_zeros((0, 5))
    device = flat.device
    if valid_flags is None:
        valid = torch.ones(flat.shape[0], dtype=torch.bool, device=device)
    else:
        valid = torch.cat([f.to(device=device, dtype=torch.bool) for f in valid_flags])

    num_gts, num_anchors = gt_bboxes.shape[0], flat.shape[0]
    assigned = torch.full((num_anchors,), -1, dtype=torch.long, device=device)
    if num_gts == 0 or num_anchors == 0:
        if num_gts == 0:
            assigned[valid] = 0
        empty = flat.new_full((num_anchors,), -1.0)
        return CrossGridResult(assigned, assigned.clone(), empty, torch.zeros_like(assigned), level_sizes)

    overlaps = overlaps_fn(gt_bboxes, flat)
    if not bool(valid.all()):
        overlaps = overlaps.masked_fill(~valid[None], -1.0)
    max_overlaps, argmax_overlaps = overlaps.max(dim=0)

    _max_iou_step(
        assigned,
        overlaps,
        max_overlaps,
        argmax_overlaps,
        valid,
        pos_iou_thr,
        neg_iou_thr,
        min_pos_iou,
        gt_max_assign_all,
    )
    maxiou_assigned = assigned.clone()

    extra = torch.zeros(num_anchors, dtype=torch.bool, device=device)
    positive = maxiou_assigned > 0
    start = 0
    for size, (feat_h, feat_w), stride in zip(level_sizes, featmap_sizes, strides):
        level = slice(start, start + size)
        cells = _cross_grid_cells(
            gt_bboxes,
            argmax_overlaps[level][positive[level]],
            int(feat_h),
            int(feat_w),
            int(stride),
            pad_shape,
            radius,
            num_neighbors,
            k2_min_scope,
        )
        extra[start + cells] = True
        start += size
    extra &= valid
    assigned[extra] = argmax_overlaps[extra] + 1
    return CrossGridResult(assigned, maxiou_assigned, max_overlaps, argmax_overlaps, level_sizes)


def _labels_only(full: Callable[P, CrossGridResult]) -> Callable[P, torch.Tensor]:
    @functools.wraps(full)
    def labels(*args: P.args, **kwargs: P.kwargs) -> torch.Tensor:
        return full(*args, **kwargs).assigned

    labels.__doc__ = (
        "Labels of CLA over all levels: ``-1`` ignore, ``0`` background, ``i+1`` GT ``i``; "
        "the arguments are ``cross_grid_assign_full``'s."
    )
    return labels


cross_grid_assign = _labels_only(cross_grid_assign_full)


def check_cla_options(
    radius: float,
    num_neighbors: int,
    pos_iou_thr: float,
    neg_iou_thr: float | tuple[float, float],
    k2_min_scope: str = "level",
) -> None:
    """Reject option values the rule is not defined for, with one clear line each."""
    if isinstance(num_neighbors, bool) or num_neighbors not in (1, 2, 3):
        raise ValueError(f"CLA num_neighbors must be 1, 2 or 3 (got {num_neighbors!r})")
    if isinstance(radius, bool) or not isinstance(radius, (int, float)) or not 0.0 < radius < 1.0:
        raise ValueError(f"CLA radius must be in the open interval (0, 1) (got {radius!r})")
    if not 0.0 <= pos_iou_thr <= 1.0:
        raise ValueError(f"CLA pos_iou_thr must be in [0, 1] (got {pos_iou_thr!r})")
    negs = neg_iou_thr if isinstance(neg_iou_thr, (tuple, list)) else (neg_iou_thr,)
    if len(negs) not in (1, 2) or not all(0.0 <= float(v) <= 1.0 for v in negs):
        raise ValueError(f"CLA neg_iou_thr must be a float or a (low, high) pair in [0, 1] (got {neg_iou_thr!r})")
    if max(float(v) for v in negs) > pos_iou_thr:
        raise ValueError(f"CLA neg_iou_thr ({neg_iou_thr!r}) must not exceed pos_iou_thr ({pos_iou_thr!r})")
    if k2_min_scope not in K2_MIN_SCOPES:
        raise ValueError(f"CLA k2_min_scope must be one of {K2_MIN_SCOPES} (got {k2_min_scope!r})")


def _check_inputs(anchors, featmap_sizes, strides, gt_bboxes, pad_shape, valid_flags) -> tuple[int, ...]:
    if not (len(anchors) == len(featmap_sizes) == len(strides)):
        raise ValueError(
            f"CLA needs one entry per level in anchors ({len(anchors)}), "
            f"featmap_sizes ({len(featmap_sizes)}) and strides ({len(strides)})"
        )
    if gt_bboxes.dim() != 2 or gt_bboxes.shape[1] != 5:
        raise ValueError(
            f"CLA gt_bboxes must be (G, 5) le90 boxes (cx, cy, w, h, angle); got shape {tuple(gt_bboxes.shape)}"
        )
    if gt_bboxes.numel() and not bool(torch.isfinite(gt_bboxes).all()):
        raise ValueError("CLA gt_bboxes contain NaN or inf")
    if gt_bboxes.numel():
        angles = gt_bboxes[:, 4]
        # le90 angles lie in [-pi/2, pi/2); allow float slack at the ends.
        if bool((angles < -math.pi / 2 - 1e-3).any() | (angles > math.pi / 2 + 1e-3).any()):
            raise ValueError(
                "CLA gt_bboxes are not le90: angles must lie in [-pi/2, pi/2) "
                f"(got range [{float(angles.min()):.4f}, {float(angles.max()):.4f}])"
            )
    if len(pad_shape) < 2 or int(pad_shape[0]) <= 0 or int(pad_shape[1]) <= 0:
        raise ValueError(f"CLA pad_shape must be (H, W) with positive sizes (got {pad_shape!r})")
    sizes = []
    for lvl, (a, (h, w), s) in enumerate(zip(anchors, featmap_sizes, strides)):
        if a.dim() != 2 or a.shape[1] != 5:
            raise ValueError(f"CLA anchors of level {lvl} must be (H*W, 5); got {tuple(a.shape)}")
        if a.shape[0] != int(h) * int(w):
            raise ValueError(
                f"CLA requires exactly one anchor per grid cell (anchor_generator with one scale and "
                f"ratios=[1.0]); level {lvl} has {a.shape[0]} anchors for a {int(h)}x{int(w)} feature map"
            )
        if int(s) <= 0:
            raise ValueError(f"CLA stride of level {lvl} must be a positive int (got {s!r})")
        sizes.append(a.shape[0])
    if valid_flags is not None:
        if len(valid_flags) != len(anchors) or any(f.numel() != n for f, n in zip(valid_flags, sizes)):
            raise ValueError("CLA valid_flags must hold one (H_l*W_l,) bool tensor per level")
    return tuple(sizes)


def _max_iou_step(
    assigned, overlaps, max_overlaps, argmax_overlaps, valid, pos_iou_thr, neg_iou_thr, min_pos_iou, gt_max_assign_all
) -> None:
    """Step A, in place: MaxIoU with the paper code's comparisons."""
    if isinstance(neg_iou_thr, (tuple, list)):
        low, high = neg_iou_thr
        negative = (max_overlaps > low) & (max_overlaps <= high)
    else:
        negative = (max_overlaps >= 0) & (max_overlaps <= neg_iou_thr)
    assigned[negative] = 0
    positive = max_overlaps > pos_iou_thr
    assigned[positive] = argmax_overlaps[positive] + 1

    gt_max, gt_argmax = overlaps.max(dim=1)
    gt_ok = gt_max > min_pos_iou
    num_gts = overlaps.shape[0]
    gt_ids = torch.arange(1, num_gts + 1, device=assigned.device, dtype=torch.long)
    if gt_max_assign_all:
        # Every anchor tied with a GT's best IoU; a later GT overwrites an earlier one.
        hit = (overlaps == gt_max[:, None]) & gt_ok[:, None] & valid[None]
        last = torch.where(hit, gt_ids[:, None].to(torch.int32), 0).amax(dim=0).long()
    else:
        ok = gt_ok & valid[gt_argmax]
        last = torch.zeros_like(assigned).scatter_reduce(0, gt_argmax[ok], gt_ids[ok], "amax")
    assigned.copy_(torch.where(last > 0, last, assigned))


def _cross_grid_cells(
    gt_bboxes, level_pos_argmax, feat_h, feat_w, stride, pad_shape, radius, num_neighbors, k2_min_scope
) -> torch.Tensor:
    """Step B for one level: flat indices (within the level) of the extra cells."""
    device = gt_bboxes.device
    none = torch.zeros(0, dtype=torch.long, device=device)
    present = torch.unique(level_pos_argmax)
    if present.numel() == 0:
        return none
    gts = gt_bboxes[present]
    pad_h, pad_w = int(pad_shape[0]), int(pad_shape[1])
    # Centre as the paper code computes it: the middle of the horizontal box, normalised
    # by the padded size and scaled by (W // s, H // s).
    xyxy = obb2xyxy(gts, "le90")
    centre = (xyxy[:, 2:] + xyxy[:, :2]) / 2
    inside = (centre[:, 0] >= 0) & (centre[:, 0] < pad_w) & (centre[:, 1] >= 0) & (centre[:, 1] < pad_h)
    if not bool(inside.all()):
        gts, centre = gts[inside], centre[inside]
        if gts.shape[0] == 0:
            return none
    centre = torch.stack([centre[:, 0] / pad_w, centre[:, 1] / pad_h], dim=1)
    grid_wh = torch.tensor([pad_w // stride, pad_h // stride], dtype=centre.dtype, device=device)
    grid_xy = centre * grid_wh
    dist = torch.cat([grid_xy, grid_wh - grid_xy], dim=1)  # left, up, right, bottom
    frac = dist % 1
    near = (frac < radius) & (dist > 1)
    if num_neighbors == 1:
        near = torch.zeros_like(near)
    elif num_neighbors == 2:
        lowest = frac.min() if k2_min_scope == "level" else frac.min(dim=1, keepdim=True).values
        near = near & (frac == lowest)
    use = torch.cat([torch.ones_like(near[:, :1]), near], dim=1).T  # (5, P)

    offsets = torch.tensor(NEIGHBOUR_OFFSETS, dtype=grid_xy.dtype, device=device)
    cells = (grid_xy[None] - offsets[:, None] * radius)[use].long()  # (C, 2) x, y
    in_map = (cells[:, 0] >= 0) & (cells[:, 0] < feat_w) & (cells[:, 1] >= 0) & (cells[:, 1] < feat_h)
    cells = cells[in_map]
    points = cells.to(grid_xy.dtype) * stride
    keep = points_in_quads(points, obb2poly(gts, "le90")).any(dim=1)
    cells = cells[keep]
    return cells[:, 1] * feat_w + cells[:, 0]
