"""Shared plumbing of the DOTA and HRSC evaluators: input checks, indexing, per-class matching.

Inputs (the Python API):
  gts:  {image_id: (polys (N, 8) float, class_names (N,), difficult bool (N,))}
  dets: {class_name: (image_ids (M,), scores (M,), polys (M, 8))}, rows in any order
        (the order matters only for equal scores, where it is the devkit's file order).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from detlab.errors import UserError

from .ap import METRICS, average_precision, precision_recall
from .matching import BestOverlap, best_overlap, greedy_tp_fp, recheck_with_devkit
from .result import ClassResult

GroundTruth = Mapping[str, tuple[np.ndarray, Sequence[str], np.ndarray]]
Detections = Mapping[str, tuple[Sequence[str], np.ndarray, np.ndarray]]


@dataclass
class GtIndex:
    """All objects of all images, flattened in image order then file order."""

    image_ids: list[str]
    index: dict[str, int]
    polys: np.ndarray  # (G, 8)
    names: np.ndarray  # (G,) str
    difficult: np.ndarray  # (G,) bool
    img: np.ndarray  # (G,) image index


def _as_polys(a, what: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.size == 0:
        return arr.reshape(0, 8)
    if arr.ndim != 2 or arr.shape[1] != 8:
        raise UserError(f"{what}: polygons must have shape (N, 8), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise UserError(f"{what}: polygons contain NaN or inf")
    return arr


def index_gts(gts: GroundTruth) -> GtIndex:
    """Check and flatten the ground truth dict."""
    image_ids = [str(k) for k in gts]
    polys, names, diffs, img = [], [], [], []
    for i, (image_id, entry) in enumerate(gts.items()):
        p: Any
        n: Any
        d: Any
        try:
            p, n, d = entry
        except (TypeError, ValueError):
            raise UserError(f"ground truth of image {image_id!r}: expected (polys, class_names, difficult)") from None
        p = _as_polys(p, f"ground truth of image {image_id!r}")
        n = np.asarray(n, dtype=str).reshape(-1)
        d = np.asarray(d, dtype=bool).reshape(-1)
        if not len(p) == len(n) == len(d):
            raise UserError(
                f"ground truth of image {image_id!r}: {len(p)} polygons, {len(n)} class names, {len(d)} difficult flags"
            )
        polys.append(p)
        names.append(n)
        diffs.append(d)
        img.append(np.full(len(p), i, dtype=np.int64))
    cat = lambda xs, empty: np.concatenate(xs) if xs else empty
    return GtIndex(
        image_ids,
        {k: i for i, k in enumerate(image_ids)},
        cat(polys, np.zeros((0, 8))),
        cat(names, np.zeros(0, dtype=str)),
        cat(diffs, np.zeros(0, dtype=bool)),
        cat(img, np.zeros(0, dtype=np.int64)),
    )


def check_args(dets: Detections, classes: Sequence[str], iou_thr: float, metric: str) -> None:
    if metric not in METRICS:
        raise UserError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    if not 0.0 < float(iou_thr) < 1.0:
        raise UserError(f"iou_thr must be in (0, 1), got {iou_thr}")
    unknown = sorted(set(dets) - set(classes))
    if unknown:
        raise UserError(f"detections for classes not evaluated: {', '.join(unknown)} (classes: {', '.join(classes)})")


@dataclass
class ClassMatches:
    """One class, detections sorted by falling score, with their best objects."""

    name: str
    gt_polys: np.ndarray
    ignore: np.ndarray  # objects whose matches count neither way
    num_gt: int  # objects that count (npos)
    num_difficult: int
    det_polys: np.ndarray  # sorted
    best: BestOverlap


def match_class(index: GtIndex, name: str, entry, ignore_difficult: bool) -> ClassMatches:
    """Best overlaps of one class's detections against that class's objects."""
    sel = index.names == name
    gt_polys, gt_img, diff = index.polys[sel], index.img[sel], index.difficult[sel]
    ignore = diff if ignore_difficult else np.zeros_like(diff)
    if entry is None:
        ids, scores, polys = [], np.zeros(0), np.zeros((0, 8))
    else:
        try:
            ids, scores, polys = entry
        except (TypeError, ValueError):
            raise UserError(f"detections of {name!r}: expected (image_ids, scores, polys)") from None
    polys = _as_polys(polys, f"detections of {name!r}")
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    ids = list(ids)
    if not len(ids) == len(scores) == len(polys):
        raise UserError(f"detections of {name!r}: {len(ids)} image ids, {len(scores)} scores, {len(polys)} polygons")
    if not np.isfinite(scores).all():
        raise UserError(f"detections of {name!r}: scores contain NaN or inf")
    det_img = np.empty(len(ids), dtype=np.int64)
    for k, image_id in enumerate(ids):
        j = index.index.get(image_id)
        if j is None:
            raise UserError(
                f"detections of {name!r}: image {image_id!r} has no ground truth (not in the evaluated image set)"
            )
        det_img[k] = j
    order = np.argsort(-scores)  # the devkit's call: its tie order for equal scores
    det_polys = polys[order]
    best = best_overlap(gt_polys, gt_img, det_polys, det_img[order], len(index.image_ids))
    return ClassMatches(name, gt_polys, ignore, int((~ignore).sum()), int(diff.sum()), det_polys, best)


def class_ap(
    cm: ClassMatches, iou_thr: float, metrics: Sequence[str], strict: bool, devkit_ties: bool
) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """({metric: AP}, recall, precision) of one class at one IoU threshold."""
    if devkit_ties:
        ovmax, jmax = recheck_with_devkit(cm.best, cm.gt_polys, cm.det_polys, iou_thr)
    else:
        ovmax, jmax = cm.best.ovmax, cm.best.jmax
    tp, fp = greedy_tp_fp(ovmax, jmax, cm.ignore, iou_thr, strict=strict)
    rec, prec = precision_recall(tp, fp, cm.num_gt)
    return {m: average_precision(rec, prec, m) for m in metrics}, rec, prec


def class_result(cm: ClassMatches, ap: float, rec: np.ndarray, prec: np.ndarray) -> ClassResult:
    return ClassResult(cm.name, ap, cm.num_gt, cm.num_difficult, len(cm.det_polys), rec, prec)
