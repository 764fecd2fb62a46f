"""Precision/recall and VOC average precision, vectorised, with the devkit's exact arithmetic.

The 11 recall thresholds are the devkit's `np.arange(0., 1.1, 0.1)` (so the
"0.3" bin is 0.30000000000000004: a recall of exactly 3/10 does not reach it,
in the devkit and here alike), and the 11 precisions are added one by one in
the devkit's order, so the APs agree with it to the last bit.
"""

from __future__ import annotations

import numpy as np

VOC07_RECALL_THRESHOLDS = np.arange(0.0, 1.1, 0.1)
METRICS = ("voc07", "voc12")


def precision_recall(tp: np.ndarray, fp: np.ndarray, npos: int) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative recall and precision over detections sorted by falling score.

    With `npos == 0` the recall is 0/0 = NaN (or x/0 = inf), as in the devkit.
    """
    tp = np.cumsum(np.asarray(tp, dtype=np.float64))
    fp = np.cumsum(np.asarray(fp, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        rec = tp / float(npos)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return rec, prec


def voc07_ap(rec: np.ndarray, prec: np.ndarray) -> float:
    """11-point AP: mean over t in {0, .1, ..., 1} of the best precision at recall >= t.

    A NaN recall (class without objects) reaches no threshold: AP 0.
    """
    rec = np.asarray(rec, dtype=np.float64)
    prec = np.asarray(prec, dtype=np.float64)
    best = np.zeros(len(VOC07_RECALL_THRESHOLDS))
    if rec.size and not np.isnan(rec).any():
        # recall is non-decreasing, so `rec >= t` is a suffix: take suffix maxima
        suffix_max = np.maximum.accumulate(prec[::-1])[::-1]
        first = np.searchsorted(rec, VOC07_RECALL_THRESHOLDS, side="left")
        hit = first < rec.size
        best[hit] = suffix_max[first[hit]]
    ap = 0.0
    for p in best:
        ap = ap + p / 11.0
    return float(ap)


def voc12_ap(rec: np.ndarray, prec: np.ndarray) -> float:
    """Area under the monotone precision envelope (VOC2010+ "area" AP).

    A NaN recall (class without objects, some detections) gives NaN in the
    devkit's arithmetic; we return 0 instead so that the mAP stays a number
    (the one place we depart from the devkit; see docs/evaluation.md).
    """
    rec = np.asarray(rec, dtype=np.float64)
    prec = np.asarray(prec, dtype=np.float64)
    if np.isnan(rec).any():
        return 0.0
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def average_precision(rec: np.ndarray, prec: np.ndarray, metric: str = "voc07") -> float:
    """AP with `metric` 'voc07' (11-point) or 'voc12' (area)."""
    if metric == "voc07":
        return voc07_ap(rec, prec)
    if metric == "voc12":
        return voc12_ap(rec, prec)
    raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
