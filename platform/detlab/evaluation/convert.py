"""From mmrotate's in-memory results to the evaluators' detections, for evaluation during training."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def mmrotate_results_to_dets(
    results: Sequence[Sequence[np.ndarray]], image_ids: Sequence[str], classes: Sequence[str], version: str = "le90"
) -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
    """results[i][c]: (n, 6) `cx, cy, w, h, angle, score` of class c in image i (mmrotate's
    `single_gpu_test` output) -> {class: (image_ids, scores, polys)}, corners by mmrotate's own
    `obb2poly_np` for the box's angle `version`.
    """
    from mmrotate.core import obb2poly_np  # mmrotate only where it is used

    if len(results) != len(image_ids):
        raise ValueError(f"{len(results)} results for {len(image_ids)} images")
    ids: dict[str, list[str]] = {c: [] for c in classes}
    rows: dict[str, list[np.ndarray]] = {c: [] for c in classes}
    for image_id, per_class in zip(image_ids, results):
        if len(per_class) != len(classes):
            raise ValueError(f"image {image_id!r}: {len(per_class)} class arrays, expected {len(classes)}")
        for name, boxes in zip(classes, per_class):
            boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 6)
            if len(boxes) == 0:
                continue
            polys = np.asarray(obb2poly_np(boxes, version), dtype=np.float64).reshape(-1, 9)
            rows[name].append(polys)
            ids[name].extend([image_id] * len(polys))
    dets = {}
    for name in classes:
        arr = np.concatenate(rows[name]) if rows[name] else np.zeros((0, 9))
        dets[name] = (ids[name], arr[:, 8].copy(), arr[:, :8].copy())
    return dets
