"""Validation during training with the platform's one evaluator (``detlab.evaluation``).

Bridges an mmrotate val dataset and mmrotate's per-image results to the
evaluator: ground truth is read from the dataset's own annotation files by
``detlab.evaluation.gt_sources`` (not from the dataset's converted boxes), so
training reports the numbers ``detlab evaluate`` gives for the same files.
Metric names follow docs/tracking.md: ``val/mAP_voc07``, ``val/mAP_voc12``
(HRSC2016) or ``val/mAP_dota``, per class ``val/AP/<class>``, and ``val/mAP``,
the headline that checkpoints are ranked by (VOC07 AP50 for HRSC2016, as the
paper reports it; the devkit's mAP for DOTA).
"""

from __future__ import annotations

import os.path as osp
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from detlab.errors import UserError
from detlab.evaluation import EvalResult, evaluate
from detlab.evaluation.convert import mmrotate_results_to_dets
from detlab.evaluation.core import GroundTruth
from detlab.evaluation.gt_sources import load_dota_gts, load_hrsc_gts


@dataclass
class ValSet:
    """What the evaluator needs besides the detections: kind, image order, classes, ground truth."""

    kind: str  # 'hrsc2016' or 'dota'
    image_ids: list[str]  # dataset order = order of the results
    classes: tuple[str, ...]
    version: str  # box angle convention of the results (le90, oc, ...)
    gts: GroundTruth


def dataset_kind(dataset: Any) -> str:
    from mmrotate.datasets import DOTADataset, HRSCDataset

    if isinstance(dataset, HRSCDataset):
        return "hrsc2016"
    if isinstance(dataset, DOTADataset):
        return "dota"
    raise UserError(f"evaluation during training supports HRSC2016 and DOTA datasets, not {type(dataset).__name__}")


def _hrsc_ann_dir(dataset: Any) -> str:
    if hasattr(dataset, "_ann_dir"):  # refined_det's StrictHRSCDataset knows where it read them
        return dataset._ann_dir()
    return osp.join(dataset.img_prefix or "", dataset.ann_subdir)


def load_val_set(dataset: Any) -> ValSet:
    """Ground truth of ``dataset`` from its annotation files, in the dataset's image order."""

    kind = dataset_kind(dataset)
    image_ids = [osp.splitext(info["filename"])[0] for info in dataset.data_infos]
    classes = tuple(dataset.CLASSES)
    if kind == "hrsc2016":
        if getattr(dataset, "classwise", False):
            raise UserError(
                "evaluation during training treats HRSC2016 as one class (ship); set data.val.classwise=False"
            )
        gts = load_hrsc_gts(_hrsc_ann_dir(dataset), image_ids)
    else:
        gts = load_dota_gts(dataset.ann_file, classes, image_ids)
    return ValSet(kind, image_ids, classes, getattr(dataset, "version", "le90"), gts)


def evaluate_results(val: ValSet, results: Sequence[Sequence[Any]]) -> EvalResult:
    """mmrotate results (one per image, dataset order) -> the evaluator's result (IoU 0.5, VOC07)."""
    dets = mmrotate_results_to_dets(results, val.image_ids, val.classes, val.version)
    return evaluate(val.kind, val.gts, dets, iou_thr=0.5, metric="voc07")


def flat_metrics(result: EvalResult, prefix: str = "val") -> dict[str, float]:
    """The numbers of one evaluation, named as in docs/tracking.md."""
    out: dict[str, float] = {}
    if result.dataset == "hrsc2016":
        out[f"{prefix}/mAP_voc07"] = float(result.extra["AP50_voc07"])
        out[f"{prefix}/mAP_voc12"] = float(result.extra["AP50_voc12"])
        out[f"{prefix}/AP50_95"] = float(result.extra["AP50_95"])
        out[f"{prefix}/mAP"] = out[f"{prefix}/mAP_voc07"]
    else:
        out[f"{prefix}/mAP_dota"] = float(result.mAP)
        out[f"{prefix}/mAP"] = out[f"{prefix}/mAP_dota"]
    for name, ap in result.ap.items():
        out[f"{prefix}/AP/{name}"] = float(ap)
    return out
