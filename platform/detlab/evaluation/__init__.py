"""One evaluator for DOTA Task1 and HRSC2016 (see docs/evaluation.md).

    from detlab.evaluation import evaluate_dota, evaluate_hrsc
    result = evaluate_dota(gts, dets)          # the official devkit's numbers
    result.to_dict()  # {"mAP", "AP": {class: ap}, "metric", "iou_thr", "num_gt", "num_det", ...}

gts:  {image_id: (polys (N, 8), class_names (N,), difficult bool (N,))}
dets: {class_name: (image_ids (M,), scores (M,), polys (M, 8))}
"""

from .ap import average_precision, precision_recall, voc07_ap, voc12_ap
from .classes import DOTA_V1_CLASSES, HRSC_CLASSES, HRSC_IOU_THRS
from .dota import evaluate_dota
from .hrsc import evaluate_hrsc
from .polyiou import quad_iou
from .result import ClassResult, EvalResult


def evaluate(dataset: str, gts, dets, iou_thr: float = 0.5, metric: str = "voc07", **kwargs) -> EvalResult:
    """`evaluate_dota` or `evaluate_hrsc` by name ('dota', 'hrsc2016'), for configs and training."""
    if dataset == "dota":
        return evaluate_dota(gts, dets, iou_thr=iou_thr, metric=metric, **kwargs)
    if dataset in ("hrsc", "hrsc2016"):
        return evaluate_hrsc(gts, dets, iou_thr=iou_thr, metric=metric, **kwargs)
    raise ValueError(f"dataset must be 'dota' or 'hrsc2016', got {dataset!r}")


__all__ = [
    "evaluate",
    "evaluate_dota",
    "evaluate_hrsc",
    "EvalResult",
    "ClassResult",
    "quad_iou",
    "average_precision",
    "precision_recall",
    "voc07_ap",
    "voc12_ap",
    "DOTA_V1_CLASSES",
    "HRSC_CLASSES",
    "HRSC_IOU_THRS",
]
