"""Pictures of detections: rotated boxes, class names and scores drawn with cv2."""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

import cv2
import numpy as np


def class_colors(classes: Sequence[str]) -> dict[str, tuple[int, int, int]]:
    """One bright, distinct BGR colour per class (evenly spaced hues)."""
    out = {}
    for i, name in enumerate(classes):
        r, g, b = colorsys.hsv_to_rgb(i / max(len(classes), 1), 0.85, 1.0)
        out[name] = (int(b * 255), int(g * 255), int(r * 255))
    return out


def draw_detections(img: np.ndarray, rows, colors: dict[str, tuple[int, int, int]]) -> np.ndarray:
    """A copy of ``img`` with each (class, score, poly) drawn; the label sits at the top corner."""
    out = img.copy()
    scale = max(0.4, min(img.shape[:2]) / 1500)
    thick = max(1, int(round(scale * 2)))
    for name, score, poly in rows:
        pts = np.round(np.asarray(poly).reshape(4, 2)).astype(np.int32)
        color = colors.get(name, (0, 255, 0))
        cv2.polylines(out, [pts], True, color, thick, cv2.LINE_AA)
        cv2.circle(out, tuple(int(v) for v in pts[0]), thick + 1, color, -1)  # the box's first corner
        label = f"{name} {score:.2f}"
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        x, y = int(pts[:, 0].min()), int(pts[:, 1].min())
        y = max(y, th + base + 2)
        cv2.rectangle(out, (x, y - th - base - 2), (x + tw + 2, y), color, -1)
        cv2.putText(out, label, (x + 1, y - base - 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return out
