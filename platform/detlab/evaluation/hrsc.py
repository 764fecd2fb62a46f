"""HRSC2016 evaluation with mmrotate 0.3.4's conventions, every number named by its metric.

Papers mix VOC07 and VOC12 AP on HRSC2016 (the Refined-Det paper's 90.50 and
mmrotate's model zoo are AP50 with VOC07), so both are reported. `AP50_95` is
what `HRSCDataset.evaluate` calls mAP by default: the mean of the VOC07 AP at
IoU 0.50, 0.55, ..., 0.95. Matching follows mmrotate's `eval_rbbox_map`: IoU >=
threshold, and all objects count, difficult or not (mmrotate's HRSC loader never
reads the flag); `ignore_difficult=True` ignores them the devkit's way instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .classes import HRSC_CLASSES, HRSC_IOU_THRS
from .core import Detections, GroundTruth, check_args, class_ap, class_result, index_gts, match_class
from .result import EvalResult


def _mean_over_classes_with_gt(aps: list[float], num_gt: list[int]) -> float:
    used = [ap for ap, n in zip(aps, num_gt) if n > 0]
    return sum(used) / len(used) if used else 0.0


def evaluate_hrsc(
    gts: GroundTruth,
    dets: Detections,
    iou_thr: float = 0.5,
    metric: str = "voc07",
    ignore_difficult: bool = False,
    classes: Sequence[str] = HRSC_CLASSES,
) -> EvalResult:
    """AP at `iou_thr` with `metric` as the headline, plus AP50_voc07, AP50_voc12 and AP50_95."""
    classes = list(classes)
    check_args(dets, classes, iou_thr, metric)
    index = index_gts(gts)
    matches = [match_class(index, name, dets.get(name), ignore_difficult) for name in classes]
    num_gt = [cm.num_gt for cm in matches]

    results = []
    for cm in matches:
        aps, rec, prec = class_ap(cm, iou_thr, [metric], strict=False, devkit_ties=False)
        results.append(class_result(cm, aps[metric], rec, prec))

    at50 = [class_ap(cm, 0.5, ["voc07", "voc12"], strict=False, devkit_ties=False)[0] for cm in matches]
    per_thr = {}
    for thr in HRSC_IOU_THRS:
        thr_aps = [class_ap(cm, thr, ["voc07"], strict=False, devkit_ties=False)[0]["voc07"] for cm in matches]
        per_thr[f"AP{int(thr * 100):02d}"] = _mean_over_classes_with_gt(thr_aps, num_gt)
    extra: dict[str, Any] = {
        "AP50_voc07": _mean_over_classes_with_gt([a["voc07"] for a in at50], num_gt),
        "AP50_voc12": _mean_over_classes_with_gt([a["voc12"] for a in at50], num_gt),
        "AP50_95": sum(per_thr.values()) / len(per_thr),
        "AP50_95_per_thr": per_thr,
    }
    return EvalResult("hrsc2016", metric, float(iou_thr), results, map_over="with_gt", iou_rule=">=", extra=extra)
