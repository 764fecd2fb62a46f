"""Test-split numbers as the benchmarks compute them, from mmrotate's per-image results.

HRSC2016: mmrotate's rules on the test images (``evaluate_hrsc``): AP50 with VOC07
(the paper's number), AP50 with VOC12, AP75 and the mean over IoU 0.50:0.95.
DOTA v1.0: the results are patch results; they are shifted to their full image and
de-duplicated by rotated NMS (``detlab.data.merge``, as the devkit's ResultMerge),
then scored on the full images with the devkit's rules (``evaluate_dota``): AP50 with
VOC07 (the devkit's, the server's), AP50 with VOC12, AP75 and mAP50:95.
"""

from __future__ import annotations

import os.path as osp
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detlab.atomic import is_complete, read_marker
from detlab.errors import UserError
from detlab.evaluation import HRSC_IOU_THRS, EvalResult, evaluate_dota, evaluate_hrsc
from detlab.evaluation.convert import mmrotate_results_to_dets
from detlab.evaluation.gt_sources import load_dota_gts
from detlab.training.worker.val_eval import load_val_set

# what every test metric means, logged as tags beside the numbers (protocol of the metric)
METRIC_DEFINITIONS = {
    "hrsc2016": "AP50_voc07=VOC07 11-point AP at IoU>=0.5 (paper); AP50_voc12=area under PR at IoU>=0.5; "
    "AP75=VOC07 AP at IoU>=0.75; mAP50_95=mean VOC07 AP over IoU 0.50:0.05:0.95 (mmrotate rules)",
    "dota": "full images after patch merge (rotated NMS 0.1); AP50_voc07=devkit Task1 mAP at IoU>0.5; "
    "AP50_voc12=area under PR; AP75=devkit rules at IoU>0.75; mAP50_95=mean over IoU 0.50:0.05:0.95",
}


@dataclass
class TestScore:
    """The numbers, the headline evaluation (for PR curves) and the detections that were scored."""

    metrics: dict[str, float]
    result: EvalResult | None  # None: the split has no labels (DOTA test server split)
    dets: dict[str, tuple]  # {class: (image_ids, scores, polys)}, full images for DOTA
    classes: tuple[str, ...]
    notes: list[str] = field(default_factory=list)


def _named(prefix: str, values: dict[str, float], result: EvalResult | None) -> dict[str, float]:
    out = {f"{prefix}/{k}": float(v) for k, v in values.items()}
    if "AP50_voc07" in values:
        out[f"{prefix}/mAP"] = float(values["AP50_voc07"])  # the headline, as val/mAP during training
    if result is not None:
        out.update({f"{prefix}/AP/{name}": float(ap) for name, ap in result.ap.items()})
    return out


def score_hrsc(dataset: Any, results: Sequence, prefix: str) -> TestScore:
    """HRSC2016 on the dataset's own annotation files (``val_eval.load_val_set``)."""

    val = load_val_set(dataset)
    dets = mmrotate_results_to_dets(results, val.image_ids, val.classes, val.version)
    result = evaluate_hrsc(val.gts, dets, iou_thr=0.5, metric="voc07", classes=val.classes)
    extra = result.extra
    values = {
        "AP50_voc07": extra["AP50_voc07"],
        "AP50_voc12": extra["AP50_voc12"],
        "AP75": extra["AP50_95_per_thr"]["AP75"],
        "mAP50_95": extra["AP50_95"],
    }
    return TestScore(_named(prefix, values, result), result, dets, val.classes)


def split_root(dataset: Any) -> Path:
    """The ``detlab data split`` output folder the dataset reads its patches from."""
    return Path(dataset.img_prefix or dataset.ann_file).resolve().parent


def full_image_labels(dataset: Any, labels: str | None) -> Path | None:
    """The full-image ``labelTxt`` folder: ``labels`` if given, else the one the split was cut
    from (recorded in the split folder's ``.complete`` marker); None when there is none."""
    if labels:
        if not osp.isdir(labels):
            raise UserError(f"--labels {labels}: not a directory")
        return Path(labels)

    root = split_root(dataset)
    if not is_complete(root):
        return None
    src = read_marker(root).get("src")
    found = Path(src) / "labelTxt" if src else None
    return found if found is not None and found.is_dir() else None


def merged_dota_dets(dataset: Any, results: Sequence, classes: Sequence[str]) -> dict[str, tuple]:
    """Patch results -> full-image detections (shift + rotated NMS, ``detlab.data.merge``)."""
    from detlab.data.merge import merge_detections

    patch_ids = [osp.splitext(info["filename"])[0] for info in dataset.data_infos]
    patch = mmrotate_results_to_dets(results, patch_ids, classes, getattr(dataset, "version", "le90"))
    return merge_detections(patch, iou_thr=0.1, progress=False)


def score_dota(dataset: Any, results: Sequence, prefix: str, labels: str | None = None) -> TestScore:
    """DOTA: merge the patches, then the devkit's rules on the full images."""
    from detlab.data.merge import parse_patch_id

    classes = tuple(dataset.CLASSES)
    dets = merged_dota_dets(dataset, results, classes)
    label_dir = full_image_labels(dataset, labels)
    if label_dir is None:
        return TestScore(
            {}, None, dets, classes, [f"no full-image labels for {split_root(dataset)}: only the submission is written"]
        )
    images = sorted({parse_patch_id(osp.splitext(i["filename"])[0])[0] for i in dataset.data_infos})
    gts = load_dota_gts(label_dir, classes, images)
    at = {thr: evaluate_dota(gts, dets, iou_thr=thr, metric="voc07", classes=classes) for thr in HRSC_IOU_THRS}
    voc12 = evaluate_dota(gts, dets, iou_thr=0.5, metric="voc12", classes=classes)
    values = {
        "AP50_voc07": at[0.5].mAP,
        "AP50_voc12": voc12.mAP,
        "AP75": at[0.75].mAP,
        "mAP50_95": sum(r.mAP for r in at.values()) / len(at),
    }
    return TestScore(
        _named(prefix, values, at[0.5]), at[0.5], dets, classes, [f"scored on {len(images)} full images of {label_dir}"]
    )


def score(kind: str, dataset: Any, results: Sequence, prefix: str, labels: str | None = None) -> TestScore:
    if kind == "hrsc2016":
        return score_hrsc(dataset, results, prefix)
    return score_dota(dataset, results, prefix, labels)
