"""Greedy detection-to-object matching of one class, vectorised, with the devkit's decisions.

The devkit walks the detections by falling score and, for each, takes the
object of best IoU among all objects of its image (`jmax`, first on ties),
whatever was matched before; it is a TP only if that IoU beats the threshold,
the object is not difficult and not yet taken. So `ovmax`/`jmax` do not depend
on earlier decisions: we compute them for all detections at once, and the TPs
are then the first detection (in score order) naming each non-difficult object.

IoUs come from `polyiou.quad_iou`, within ~1e-12 of the devkit's C++. Where
that could flip a decision, i.e. the best IoU lies within `TIE_TOL` of the
threshold, or two objects tie for best, or a NaN appears, the detection is
re-decided with the devkit's own arithmetic (`devkit_reference.iou_poly`), so
even exact ties (IoU == 0.5 on integer boxes) come out as the devkit has them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import devkit_reference
from .polyiou import quad_iou, signed_area

TIE_TOL = 1e-5
# A union this close to 0 (relative to the areas), or an IoU this far outside [0, 1], makes
# the devkit's IoU a matter of rounding (disjoint quads give IoUs like -1e-18: not odd).
DEGENERATE_UNION = 1e-6
MAX_PAIRS_PER_CHUNK = 1 << 20


def hbb(polys: np.ndarray) -> np.ndarray:
    """(K, 8) -> (K, 4) xmin, ymin, xmax, ymax."""
    return np.stack(
        [polys[:, 0::2].min(1), polys[:, 1::2].min(1), polys[:, 0::2].max(1), polys[:, 1::2].max(1)], axis=1
    )


def _devkit_hbb_keep(g: np.ndarray, d: np.ndarray) -> np.ndarray:
    """The devkit's pre-filter, `+1` pixel convention and all: HBB IoU > 0 (row-aligned)."""
    iw = np.maximum(np.minimum(g[:, 2], d[:, 2]) - np.maximum(g[:, 0], d[:, 0]) + 1.0, 0.0)
    ih = np.maximum(np.minimum(g[:, 3], d[:, 3]) - np.maximum(g[:, 1], d[:, 1]) + 1.0, 0.0)
    inters = iw * ih
    uni = (
        (d[:, 2] - d[:, 0] + 1.0) * (d[:, 3] - d[:, 1] + 1.0)
        + (g[:, 2] - g[:, 0] + 1.0) * (g[:, 3] - g[:, 1] + 1.0)
        - inters
    )
    return inters / uni > 0


@dataclass
class BestOverlap:
    """Per detection (in the order given): best IoU, its object, and what is needed to re-check."""

    ovmax: np.ndarray  # (M,) -inf where no object's HBB overlaps
    jmax: np.ndarray  # (M,) object index, -1 where none
    second: np.ndarray  # (M,) second-best IoU (-inf if none)
    has_nan: np.ndarray  # (M,) bool
    suspect: np.ndarray  # (M,) bool: a NaN, an IoU outside [0, 1] or a union of ~0 area
    pair_det: np.ndarray  # kept (detection, object) pairs, grouped by detection
    pair_gt: np.ndarray
    pair_iou: np.ndarray


def _pairs_by_image(gt_img: np.ndarray, det_img: np.ndarray, num_images: int):
    """Yield (det index, object index) arrays of same-image pairs, in chunks, det-major order."""
    order = np.argsort(gt_img, kind="stable")
    counts = np.bincount(gt_img, minlength=num_images)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    per_det = counts[det_img]
    ends = np.cumsum(per_det)
    lo = 0
    while lo < len(det_img):
        base = ends[lo - 1] if lo else 0
        hi = max(int(np.searchsorted(ends, base + MAX_PAIRS_PER_CHUNK, side="right")), lo + 1)
        cnt = per_det[lo:hi]
        total = int(cnt.sum())
        dets = np.repeat(np.arange(lo, hi), cnt)
        offs = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        gts = order[np.repeat(starts[det_img[lo:hi]], cnt) + offs]
        yield dets, gts
        lo = hi


def best_overlap(
    gt_polys: np.ndarray, gt_img: np.ndarray, det_polys: np.ndarray, det_img: np.ndarray, num_images: int
) -> BestOverlap:
    """Best-IoU object of each detection among the objects of its image (devkit's `ovmax`, `jmax`).

    Objects of one image are considered in index order, so `jmax` is the first
    of tied objects, as `np.argmax` gives it in the devkit.
    """
    m = len(det_polys)
    ovmax = np.full(m, -np.inf)
    jmax = np.full(m, -1, dtype=np.int64)
    second = np.full(m, -np.inf)
    has_nan = np.zeros(m, dtype=bool)
    keep_det, keep_gt, keep_iou = [], [], []
    if m == 0 or len(gt_polys) == 0:
        e = np.zeros(0, dtype=np.int64)
        return BestOverlap(ovmax, jmax, second, has_nan, has_nan.copy(), e, e, np.zeros(0))
    suspect = np.zeros(m, dtype=bool)
    g_box, d_box = hbb(gt_polys), hbb(det_polys)
    g_area = np.abs(signed_area(gt_polys - np.tile(g_box[:, :2], 4)))
    d_area = np.abs(signed_area(det_polys - np.tile(d_box[:, :2], 4)))
    for dets, gts in _pairs_by_image(gt_img, det_img, num_images):
        keep = _devkit_hbb_keep(g_box[gts], d_box[dets])
        dets, gts = dets[keep], gts[keep]
        if dets.size == 0:
            continue
        # pairs come det-major, and within a detection in object index order
        iou, _, union = quad_iou(gt_polys[gts], det_polys[dets], return_parts=True)
        run = np.flatnonzero(np.r_[True, dets[1:] != dets[:-1]])
        ids = dets[run]
        nan = np.isnan(iou)
        has_nan[ids] = np.logical_or.reduceat(nan, run)
        # only self-intersecting or zero-area quads get here; the devkit's value is then
        # NaN, inf, negative or huge by the luck of rounding: use its arithmetic
        odd = ~((iou >= -DEGENERATE_UNION) & (iou <= 1 + DEGENERATE_UNION)) | (
            np.abs(union) <= DEGENERATE_UNION * np.maximum(1.0, g_area[gts] + d_area[dets])
        )
        suspect[ids] = np.logical_or.reduceat(odd, run)
        best = np.maximum.reduceat(np.where(nan, -np.inf, iou), run)
        ovmax[ids] = np.where(has_nan[ids], np.nan, best)
        is_best = iou == np.repeat(best, np.diff(np.r_[run, len(dets)]))
        first = np.flatnonzero(is_best)
        _, at = np.unique(dets[first], return_index=True)
        jmax[dets[first[at]]] = gts[first[at]]
        rest = np.where(nan, -np.inf, iou)
        rest[first[at]] = -np.inf
        second[ids] = np.maximum.reduceat(rest, run)
        keep_det.append(dets)
        keep_gt.append(gts)
        keep_iou.append(iou)
    cat = lambda xs, dtype: np.concatenate(xs) if xs else np.zeros(0, dtype)
    return BestOverlap(
        ovmax,
        jmax,
        second,
        has_nan,
        suspect,
        cat(keep_det, np.int64),
        cat(keep_gt, np.int64),
        cat(keep_iou, np.float64),
    )


def recheck_with_devkit(
    best: BestOverlap, gt_polys: np.ndarray, det_polys: np.ndarray, iou_thr: float, tol: float = TIE_TOL
) -> tuple[np.ndarray, np.ndarray]:
    """(ovmax, jmax) with the borderline detections re-decided by the devkit's arithmetic.

    Borderline: best IoU within `tol` of the threshold, a NaN among the IoUs
    (the devkit's np.max then gives NaN) or an odd IoU from degenerate or
    self-intersecting quads (union ~0: the devkit's value is rounding noise), or
    another object within `tol` of the
    best one, unless all those are the very same polygon (equal inputs give
    equal IoUs in the devkit too, and np.argmax then takes the first, as we do).
    Only objects within `tol` of the best can be the devkit's best, so only
    those are recomputed (all of them for a suspect row).
    """
    ovmax, jmax = best.ovmax.copy(), best.jmax.copy()
    with np.errstate(invalid="ignore"):
        near_thr = np.abs(best.ovmax - iou_thr) <= tol
        tied = (best.second >= best.ovmax - tol) & (best.ovmax > iou_thr - tol)
    todo = near_thr | tied | best.suspect
    if not todo.any():
        return ovmax, jmax
    pd, pg = best.pair_det, best.pair_gt
    with np.errstate(invalid="ignore"):
        close = todo[pd] & ((best.pair_iou >= best.ovmax[pd] - tol) | best.suspect[pd])
    # a tie among copies of one polygon is decided the same way by both: drop it
    same = (gt_polys[pg] == gt_polys[np.maximum(jmax[pd], 0)]).all(axis=1)
    differs = np.zeros(len(ovmax), dtype=bool)
    differs[pd[close & ~same]] = True
    todo &= near_thr | best.suspect | differs
    for d in np.flatnonzero(todo):
        lo, hi = np.searchsorted(pd, [d, d + 1])
        gts = pg[lo:hi][close[lo:hi]]
        overlaps = [devkit_reference.iou_poly(gt_polys[g], det_polys[d]) for g in gts]
        ovmax[d] = np.max(overlaps)
        jmax[d] = gts[int(np.argmax(overlaps))]
    return ovmax, jmax


def greedy_tp_fp(
    ovmax: np.ndarray, jmax: np.ndarray, gt_ignore: np.ndarray, iou_thr: float, strict: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """TP/FP flags for detections sorted by falling score.

    strict=True: a match needs IoU > thr (devkit); False: IoU >= thr (mmrotate).
    A detection whose best object is ignored (difficult) is neither TP nor FP.
    """
    with np.errstate(invalid="ignore"):
        hit = ovmax > iou_thr if strict else ovmax >= iou_thr
    tp = np.zeros(len(ovmax))
    fp = np.where(hit, 0.0, 1.0)
    idx = np.flatnonzero(hit)
    idx = idx[~gt_ignore[jmax[idx]]]
    _, first = np.unique(jmax[idx], return_index=True)
    fp[idx] = 1.0
    tp[idx[first]] = 1.0
    fp[idx[first]] = 0.0
    return tp, fp
