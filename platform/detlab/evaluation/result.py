"""What an evaluation returns: per-class AP with its PR curve, and the JSON-ready summary."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class ClassResult:
    """One class. `num_gt` counts the objects that can be missed (the devkit's `npos`)."""

    name: str
    ap: float
    num_gt: int
    num_difficult: int
    num_det: int
    recall: np.ndarray = field(repr=False)
    precision: np.ndarray = field(repr=False)


@dataclass
class EvalResult:
    """Per-class results plus the headline numbers, for the CLI, training and MLflow.

    `mAP` is the mean over `map_classes` (DOTA: all classes, as the devkit;
    HRSC: classes with objects, as mmrotate). `extra` holds named numbers such as
    HRSC's `AP50_voc07`.
    """

    dataset: str
    metric: str
    iou_thr: float
    classes: list[ClassResult]
    map_over: str = "all"  # 'all' or 'with_gt'
    iou_rule: str = ">"  # a match needs IoU > thr (devkit) or >= thr (mmrotate)
    extra: dict[str, Any] = field(default_factory=dict)  # summary numbers, AP per IoU threshold
    notes: list[str] = field(default_factory=list)

    @property
    def ap(self) -> dict[str, float]:
        return {c.name: c.ap for c in self.classes}

    @property
    def mAP(self) -> float:  # noqa: N802 (the name everyone uses)
        used = [c.ap for c in self.classes if self.map_over == "all" or c.num_gt > 0]
        if not used:
            return 0.0
        total = 0.0
        for ap in used:  # the devkit's running sum, then divide
            total = total + ap
        return total / len(used)

    def __getitem__(self, name: str) -> ClassResult:
        for c in self.classes:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict:
        """JSON-ready: {"mAP", "AP": {class: ap}, "metric", "iou_thr", "num_gt", "num_det", ...}."""
        out: dict[str, Any] = {
            "mAP": _num(self.mAP),
            "AP": {c.name: _num(c.ap) for c in self.classes},
            "metric": self.metric,
            "iou_thr": self.iou_thr,
            "iou_rule": self.iou_rule,
            "dataset": self.dataset,
            "num_gt": {c.name: c.num_gt for c in self.classes},
            "num_difficult": {c.name: c.num_difficult for c in self.classes},
            "num_det": {c.name: c.num_det for c in self.classes},
        }
        out.update({k: _num(v) if isinstance(v, float) else v for k, v in self.extra.items()})
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def _num(x: float) -> float | None:
    """JSON has no NaN: write null for it."""
    x = float(x)
    return None if math.isnan(x) else x
