"""Training images as the assigner sees them: resized and padded GT boxes, without random augmentation.

The config's own training set and pipeline are used, minus the random steps (flips,
rotations) and the tensor formatting, so the boxes, `img_shape` and `pad_shape` are
those of a training iteration whose augmentations happened to be off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Sample", "load_samples", "deterministic_pipeline"]

RANDOM_STEPS = {"RRandomFlip", "RandomFlip", "PolyRandomRotate", "RRandomCrop", "RandomCrop", "RMosaic", "RandomRotate"}
TENSOR_STEPS = {"Normalize", "DefaultFormatBundle", "Collect", "ImageToTensor"}


@dataclass
class Sample:
    filename: str
    image: np.ndarray  # (H, W, 3) uint8 RGB after resize and pad
    gt_bboxes: np.ndarray  # (G, 5) le90 (cx, cy, w, h, angle) in input pixels
    gt_labels: np.ndarray  # (G,)
    img_shape: tuple[int, int]
    pad_shape: tuple[int, int]


def deterministic_pipeline(pipeline: list[dict]) -> list[dict]:
    """The training pipeline without its random and tensor steps (what is left must load, resize, pad)."""
    return [dict(step) for step in pipeline if step["type"] not in RANDOM_STEPS | TENSOR_STEPS]


def _train_dataset_cfg(cfg: Any) -> Any:
    node = cfg.data.train
    while "dataset" in node and "ann_file" not in node:  # RepeatDataset & co.
        node = node["dataset"]
    return node


def load_samples(cfg: Any, count: int, *, start: int = 0) -> list[Sample]:
    """The first `count` training images from index `start` (fewer if the set is smaller)."""
    import copy

    from mmrotate.datasets import build_dataset

    import refined_det.register  # noqa: F401  (registers the plugins)

    data_cfg = copy.deepcopy(_train_dataset_cfg(cfg))
    data_cfg["pipeline"] = deterministic_pipeline(list(data_cfg["pipeline"]))
    data_cfg.pop("filter_empty_gt", None)
    dataset = build_dataset(data_cfg)
    out = []
    for i in range(start, min(len(dataset), start + count)):
        res = dataset[i]
        img = res["img"]
        img = img[..., ::-1].copy() if img.ndim == 3 else np.stack([img] * 3, -1)  # BGR -> RGB
        out.append(
            Sample(
                filename=str(res.get("ori_filename") or res.get("filename")),
                image=img,
                gt_bboxes=np.asarray(res["gt_bboxes"], dtype=np.float32).reshape(-1, 5),
                gt_labels=np.asarray(res["gt_labels"]).reshape(-1),
                img_shape=(int(res["img_shape"][0]), int(res["img_shape"][1])),
                pad_shape=(int(res["pad_shape"][0]), int(res["pad_shape"][1])),
            )
        )
    return out
