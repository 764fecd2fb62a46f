"""Detect on images of any size: those larger than the model's input are cut into the windows
``detlab data split`` would cut, detected patch by patch, and merged back with rotated NMS
(``detlab.data.merge``), as the DOTA benchmark's inference does."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from detlab.data.merge import merge_detections
from detlab.data.split import SplitConfig, sliding_windows
from detlab.evaluation.convert import mmrotate_results_to_dets

PAD_VALUE = (104, 116, 124)  # what `detlab data split` pads with (mmrotate's default)


def input_size(cfg) -> int:
    """The longest side the test pipeline resizes to (MultiScaleFlipAug / Resize ``img_scale``)."""
    sizes = []
    for step in cfg.data.test.pipeline:
        scale = step.get("img_scale")
        if scale is not None:
            scales = scale if isinstance(scale, list) else [scale]
            sizes += [max(s) if isinstance(s, (tuple, list)) else int(s) for s in scales]
    return int(max(sizes)) if sizes else 1024


def windows_of(img: np.ndarray, size: int, gap: int) -> np.ndarray:
    """(K, 4) windows x0, y0, x1, y1; one window (the image) when it fits the input size."""
    h, w = img.shape[:2]
    if max(h, w) <= size:
        return np.array([[0, 0, w, h]], np.int64)
    return sliding_windows(w, h, SplitConfig(size=size, gap=gap))


def cut(img: np.ndarray, win) -> np.ndarray:
    """The window's pixels, padded to the full window as ``detlab data split`` pads them."""
    x0, y0, x1, y1 = (int(v) for v in win)
    patch = img[y0:y1, x0:x1]
    if patch.shape[:2] == (y1 - y0, x1 - x0):
        return patch
    full = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
    full[...] = PAD_VALUE
    full[: patch.shape[0], : patch.shape[1]] = patch
    return full


def detect_image(model, img: np.ndarray, name: str, size: int, gap: int, batch: int = 4) -> dict[str, tuple]:
    """{class: (image_ids, scores, polys)} of one image in its own pixel coordinates."""
    from mmdet.apis import inference_detector

    version = model.cfg.get("angle_version", "le90")
    wins = windows_of(img, size, gap)
    results, ids = [], []
    for i in range(0, len(wins), batch):
        chunk = wins[i : i + batch]
        results += inference_detector(model, [cut(img, w) for w in chunk])
        ids += [f"{name}__{int(w[2] - w[0])}__{int(w[0])}___{int(w[1])}" for w in chunk]
    patch = mmrotate_results_to_dets(results, ids, model.CLASSES, version)
    if len(wins) == 1:
        return {c: ([name] * len(d[0]), d[1], d[2]) for c, d in patch.items()}
    return merge_detections(patch, iou_thr=0.1)


def filter_score(dets: dict[str, tuple], thr: float) -> list[tuple[str, float, np.ndarray]]:
    """[(class, score, poly (8,))] with score >= thr, best first."""
    rows = [
        (c, float(s), np.asarray(p, np.float64))
        for c, (_, scores, polys) in dets.items()
        for s, p in zip(scores, polys)
        if s >= thr
    ]
    return sorted(rows, key=lambda r: -r[1])


def task1_lines(rows: Sequence[tuple[str, float, np.ndarray]]) -> str:
    """``class score x1 y1 ... x4 y4`` per detection (a Task1 row with the class in place of the image)."""
    return "".join(" ".join([c, f"{s:.4f}", *(f"{v:.1f}" for v in p)]) + "\n" for c, s, p in rows)
