"""DOTA Task1 evaluation: the official devkit's rules, vectorised.

Exact polygon IoU between the submitted quadrilaterals and the ground-truth
polygons, a match needs IoU strictly above the threshold, difficult objects are
neither counted nor penalised, VOC07 11-point AP by default, mAP over all
classes (a class without objects counts with AP 0).
"""

from __future__ import annotations

from collections.abc import Sequence

from .classes import DOTA_V1_CLASSES
from .core import Detections, GroundTruth, check_args, class_ap, class_result, index_gts, match_class
from .result import EvalResult


def evaluate_dota(
    gts: GroundTruth,
    dets: Detections,
    iou_thr: float = 0.5,
    metric: str = "voc07",
    classes: Sequence[str] = DOTA_V1_CLASSES,
) -> EvalResult:
    """Per-class AP and mAP as `dota_evaluation_task1.py` computes them (see docs/evaluation.md).

    Objects of classes not in `classes` are ignored, as the devkit ignores them.
    """
    classes = list(classes)
    check_args(dets, classes, iou_thr, metric)
    index = index_gts(gts)
    results = []
    for name in classes:
        cm = match_class(index, name, dets.get(name), ignore_difficult=True)
        aps, rec, prec = class_ap(cm, iou_thr, [metric], strict=True, devkit_ties=True)
        results.append(class_result(cm, aps[metric], rec, prec))
    return EvalResult("dota", metric, float(iou_thr), results, map_over="all")
