"""A line-by-line port of the paper code's CLA (``shenhaibb/Refined-Det``,
``mmrotate/core/bbox/assigners/cla.py``, k=3 branch plus the commented k=1/k=2
branches), used only as a test oracle.

Kept as the paper code wrote it: the Python loop over GTs, the per-level loop, the
``.long()`` truncation, the ``obb2xyxy``-based centre. Changed only where the
paper code cannot run here: ``points_in_polygons`` (CUDA-only) is replaced by a
plain ray-casting test written independently of ``refined_det``, ``.cuda()``
is dropped, and GT centres outside the padded image are left out of the
cross-grid step (the paper code indexes out of range there; docs/cla.md).
"""
from __future__ import annotations

import torch
from mmrotate.core import obb2poly, obb2xyxy
from mmrotate.core.bbox.iou_calculators.rotate_iou2d_calculator import rbbox_overlaps

GRID_OFFSET = torch.tensor([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]]).float()[:, None]


def _point_in_polygon(px: float, py: float, poly: list[float]) -> bool:
    inside = False
    xs, ys = poly[0::2], poly[1::2]
    j = 3
    for i in range(4):
        if (ys[i] > py) != (ys[j] > py):
            x_cross = (xs[j] - xs[i]) * (py - ys[i]) / (ys[j] - ys[i]) + xs[i]
            if px < x_cross:
                inside = not inside
        j = i
    return inside


def _points_in_polygons(points: torch.Tensor, polys: torch.Tensor) -> torch.Tensor:
    out = torch.zeros(points.shape[0], polys.shape[0], dtype=torch.bool)
    for i, (px, py) in enumerate(points.tolist()):
        for j, poly in enumerate(polys.tolist()):
            out[i, j] = _point_in_polygon(px, py, poly)
    return out


def paper_code_cla(anchors, featmap_sizes, strides, gt_bboxes, pad_shape, valid_flags=None, *,
             radius=0.5, num_neighbors=3, pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0.0):
    """Same contract as ``refined_det.assigners.cross_grid_assign``."""
    if valid_flags is None:
        valid_flags = [torch.ones(a.shape[0], dtype=torch.bool) for a in anchors]
    # The paper code's head passes only valid anchors (allowed_border=-1), so work on those
    # and map back at the end; invalid anchors are -1.
    full_sizes = [a.shape[0] for a in anchors]
    kept = [a[f] for a, f in zip(anchors, valid_flags)]
    bboxes = torch.cat(kept)
    num_gts, num_bboxes = gt_bboxes.size(0), bboxes.size(0)
    concat_valid = torch.cat(valid_flags)
    result_full = torch.full((concat_valid.numel(),), -1, dtype=torch.long)
    if num_gts == 0 or num_bboxes == 0:
        if num_gts == 0:
            result_full[concat_valid] = 0
        return result_full

    overlaps = rbbox_overlaps(gt_bboxes, bboxes)
    assigned_gt_inds = overlaps.new_full((num_bboxes,), -1, dtype=torch.long)
    max_overlaps, argmax_overlaps = overlaps.max(dim=0)
    if isinstance(neg_iou_thr, float):
        assigned_gt_inds[(max_overlaps >= 0) & (max_overlaps <= neg_iou_thr)] = 0
    else:
        assigned_gt_inds[(max_overlaps > neg_iou_thr[0]) & (max_overlaps <= neg_iou_thr[1])] = 0
    gt_max_overlaps, _ = overlaps.max(dim=1)
    pos_inds = max_overlaps > pos_iou_thr
    assigned_gt_inds[pos_inds] = argmax_overlaps[pos_inds] + 1
    for i in range(num_gts):
        if gt_max_overlaps[i] > min_pos_iou:
            max_iou_inds = overlaps[i, :] == gt_max_overlaps[i]
            assigned_gt_inds[max_iou_inds] = i + 1

    pos_inds = assigned_gt_inds > 0
    sizes = [k.size(0) for k in kept]
    pos_inds_array = torch.split(pos_inds, sizes, 0)
    argmax_overlaps_array = torch.split(argmax_overlaps, sizes, 0)
    input_h, input_w = pad_shape[:2]
    multi_level_flags = []
    for i, stride in enumerate(strides):
        feat_h, feat_w = featmap_sizes[i]
        flags = torch.zeros(feat_h * feat_w, dtype=torch.bool)
        if pos_inds_array[i].any():
            gt_temp = gt_bboxes[argmax_overlaps_array[i][pos_inds_array[i]].unique()]
            xyxy = obb2xyxy(gt_temp, 'le90')
            xy1, xy2 = xyxy.split((2, 2), dim=-1)
            xywh = torch.cat([(xy2 + xy1) / 2, (xy2 - xy1)], dim=-1)
            xywh[:, 1::2] /= input_h
            xywh[:, 0::2] /= input_w
            cx_abs = (xy2 + xy1)[:, 0] / 2
            cy_abs = (xy2 + xy1)[:, 1] / 2
            ok = (cx_abs >= 0) & (cx_abs < input_w) & (cy_abs >= 0) & (cy_abs < input_h)
            gt_temp, xywh = gt_temp[ok], xywh[ok]
            if gt_temp.numel() == 0:
                multi_level_flags.append(flags)
                continue
            normed = torch.cat((xywh, torch.zeros(xywh.shape[0], 1)), 1)
            h, w = input_h // stride, input_w // stride
            scaled_factor = torch.tensor([w, h, w, h, 1.])
            scaled = normed * scaled_factor
            cxcy = scaled[:, :2]
            grid_xy = scaled_factor[:2] - cxcy
            if num_neighbors == 1:
                left, up = torch.zeros_like(cxcy.T, dtype=torch.bool)
                right, bottom = torch.zeros_like(grid_xy.T, dtype=torch.bool)
            elif num_neighbors == 2:
                both = torch.cat((cxcy, grid_xy), dim=1)
                left, up, right, bottom = ((both % 1 < radius) & (both > 1)
                                           & ((both % 1) == (both % 1).min())).T
            else:
                left, up = ((cxcy % 1 < radius) & (cxcy > 1)).T
                right, bottom = ((grid_xy % 1 < radius) & (grid_xy > 1)).T
            offset_inds = torch.stack((torch.ones_like(left), left, up, right, bottom))
            scaled = scaled.repeat((5, 1, 1))[offset_inds]
            offsets = GRID_OFFSET.repeat(1, offset_inds.shape[1], 1)[offset_inds]
            gxy = scaled[:, :2] - offsets * radius
            gx, gy = gxy.long().T
            points = torch.stack((gx.float() * stride, gy.float() * stride), dim=-1)
            inside = _points_in_polygons(points, obb2poly(gt_temp, 'le90'))
            keep = inside.any(1)
            flags[gy[keep] * feat_w + gx[keep]] = True
        multi_level_flags.append(flags)
    level_valid = [m[f] for m, f in zip(multi_level_flags, valid_flags)]
    cla = torch.cat(level_valid)
    assigned_gt_inds[cla] = argmax_overlaps[cla] + 1
    result_full[concat_valid] = assigned_gt_inds
    return result_full
