"""The evaluation protocol a run follows, read from its merged config, as ``protocol.*`` tags.

Papers' numbers are measured under a protocol (which split is tested, single or
multi-scale training and testing, random rotation, ImageNet weights, input size,
which AP); a number of ours is comparable to one of theirs only under the same one.
Every training run records its protocol; reports put it beside the paper's and flag
the fields that differ (``protocol_differences``).
"""

from __future__ import annotations

import os.path as osp
import re
from collections.abc import Mapping
from typing import Any

# how the training-time val metric (val/mAP) is defined, per dataset kind
VAL_METRIC = {
    "hrsc2016": "AP50 VOC07 11-point, IoU>=0.5, mmrotate rules (val/mAP)",
    "dota": "devkit Task1 mAP, VOC07, IoU>0.5, on split patches (val/mAP)",
}
FIELDS = (
    "dataset",
    "train_split",
    "test_split",
    "ms_train",
    "ms_test",
    "rotation_aug",
    "pretrained_backbone",
    "input_size",
    "metric",
)


def _kind(data: Mapping) -> str:
    t = str(data.get("type", "")).lower()
    return "hrsc2016" if "hrsc" in t else "dota" if "dota" in t else t or "unknown"


def _multi_scale_split(data: Mapping) -> bool:
    """A split folder cut at several rates (``detlab data split --multi-scale``), named ``*ms*``."""
    return re.search(r"(^|[/_])ms([/_]|$)", str(data.get("ann_file", ""))) is not None


def _split_name(data: Mapping) -> str:
    """``test.txt`` / ``trainval`` / ...: the image set file or the split folder a dataset reads."""
    ann = str(data.get("ann_file", "")).rstrip("/")
    if ann.endswith((".txt", ".json")):
        return osp.splitext(osp.basename(ann))[0]
    parts = [p for p in ann.split("/") if p and p not in ("annfiles", "images", "labelTxt")]
    return parts[-1] if parts else "?"


def _steps(pipeline, kind: str) -> list[Mapping]:
    out = []
    for step in pipeline or []:
        out.append(step)
        out += _steps(step.get("transforms"), kind) if isinstance(step, Mapping) else []
    return [s for s in out if isinstance(s, Mapping) and s.get("type") == kind]


def _scales(step: Mapping) -> list:
    scale = step.get("img_scale")
    if scale is None:
        return []
    return list(scale) if isinstance(scale, list) else [scale]


def protocol_of(cfg: Any) -> dict[str, str]:
    """``{"dataset", "train_split", "test_split", "ms_train", "ms_test", "rotation_aug",
    "pretrained_backbone", "input_size", "metric"}`` as strings (tags)."""
    data = cfg["data"]
    train, test = data["train"], data.get("test", data.get("val", {}))
    kind = _kind(train)
    resize_train = _steps(train.get("pipeline"), "RResize")
    ms_train = any(len(_scales(s)) > 1 for s in resize_train)
    ms_train = ms_train or _multi_scale_split(train)
    aug = _steps(test.get("pipeline"), "MultiScaleFlipAug")
    ms_test = any(len(_scales(s)) > 1 or s.get("flip") for s in aug) or _multi_scale_split(test)
    rotate = _steps(train.get("pipeline"), "PolyRandomRotate")
    rotation = any(float(s.get("rotate_ratio", 0.5)) > 0 for s in rotate)
    backbone = cfg["model"].get("backbone", {})
    init = backbone.get("init_cfg") or {}
    pretrained = bool(cfg["model"].get("pretrained")) or (
        isinstance(init, Mapping) and init.get("type") == "Pretrained"
    )
    sizes = [_scales(s) for s in aug] or [_scales(s) for s in resize_train]
    size = next((s[0] for s in sizes if s), None)
    return {
        "dataset": kind,
        "train_split": _split_name(train),
        "test_split": _split_name(test),
        "ms_train": str(ms_train).lower(),
        "ms_test": str(ms_test).lower(),
        "rotation_aug": str(rotation).lower(),
        "pretrained_backbone": str(pretrained).lower(),
        "input_size": "x".join(str(v) for v in size) if isinstance(size, (list, tuple)) else str(size),
        "metric": VAL_METRIC.get(kind, "val/mAP"),
    }


def protocol_tags(cfg: Any) -> dict[str, str]:
    """``protocol.<field>`` tags of a run."""
    return {f"protocol.{k}": v for k, v in protocol_of(cfg).items()}


def protocol_differences(ours: Mapping[str, str], paper: Mapping[str, Any]) -> list[str]:
    """The fields the paper states whose value differs from ours, as ``field: ours vs paper``."""
    out = []
    for key in FIELDS:
        if key in paper and key in ours and str(paper[key]).lower() != str(ours[key]).lower():
            out.append(f"{key}: {ours[key]} vs paper {paper[key]}")
    return out
