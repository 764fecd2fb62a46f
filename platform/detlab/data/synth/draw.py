"""The drawing kit of the synthetic datasets: polygons and lines on BGR images (cv2), an object's
local frame, colours, textured backgrounds and clutter, and the occupancy mask that keeps
objects apart."""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

Color = tuple[int, int, int]  # BGR, as cv2 draws and writes


def as_int_points(pts: np.ndarray) -> np.ndarray:
    """Float points -> cv2 fixed point (4 fractional bits) for sub-pixel drawing."""
    return np.round(np.asarray(pts, np.float64).reshape(-1, 2) * 16).astype(np.int32)


def fill_poly(img: np.ndarray, pts: np.ndarray, color: Color) -> None:
    cv2.fillPoly(img, [as_int_points(pts)], color, cv2.LINE_AA, 4)


def draw_line(img: np.ndarray, pts: Any, color: Color, thick: int = 1, closed=False) -> None:
    cv2.polylines(img, [as_int_points(pts)], closed, color, max(1, int(thick)), cv2.LINE_AA, 4)


class Frame:
    """Maps an object's local coordinates (x along its length, y across) to the image."""

    def __init__(self, cx: float, cy: float, angle: float):
        self.c = np.array([cx, cy])
        self.r = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])

    def __call__(self, pts) -> np.ndarray:
        return np.asarray(pts, np.float64).reshape(-1, 2) @ self.r.T + self.c


def rect(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 16):
    t = np.linspace(a0, a1, n)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def jitter(rng: np.random.Generator, color, spread: int = 18) -> Color:
    c = np.clip(np.asarray(color) + rng.integers(-spread, spread + 1, 3), 0, 255)
    return int(c[0]), int(c[1]), int(c[2])


def shade(color, k: float) -> Color:
    r, g, b = (int(min(255, max(0, v * k))) for v in color)
    return r, g, b


# --------------------------------------------------------------------------- backgrounds
def color_field(rng, h: int, w: int, palette: np.ndarray, cell: int) -> np.ndarray:
    """Smooth mix of palette colours: a coarse random grid upsampled (cheap at any size)."""
    gh, gw = h // cell + 2, w // cell + 2
    weights = rng.random((gh, gw, len(palette))) ** 3
    weights /= weights.sum(axis=2, keepdims=True)
    coarse = (weights @ palette).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 255).astype(np.uint8)


def add_noise(img: np.ndarray, rng, sigma: float) -> np.ndarray:
    """Per-pixel noise from a tiled random patch (a full-size draw costs more than the drawing)."""
    tile = rng.normal(0, sigma, (251, 257, 3)).astype(np.int16)
    h, w = img.shape[:2]
    noise = np.tile(tile, (h // 251 + 1, w // 257 + 1, 1))[:h, :w]
    return np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def clutter(img: np.ndarray, rng, count: int, size: tuple[float, float]) -> None:
    """Blobs, strokes and rubble that belong to no class: what a detector must learn to ignore."""
    h, w = img.shape[:2]
    for _ in range(count):
        kind = rng.integers(3)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(*size)
        col = jitter(rng, img[int(cy) % h, int(cx) % w], 45)
        if kind == 0:
            cv2.ellipse(
                img,
                (int(cx), int(cy)),
                (int(r), int(r * rng.uniform(0.3, 1))),
                float(rng.uniform(0, 180)),
                0,
                360,
                col,
                -1,
                cv2.LINE_AA,
            )
        elif kind == 1:
            a = rng.uniform(0, math.pi)
            d = np.array([math.cos(a), math.sin(a)]) * r * 3
            draw_line(img, [(cx - d[0], cy - d[1]), (cx + d[0], cy + d[1])], col, int(rng.integers(1, 4)))
        else:
            pts = np.stack([cx + rng.normal(0, r / 2, 6), cy + rng.normal(0, r / 2, 6)], 1)
            fill_poly(img, cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2), col)


class Occupancy:
    """Coarse mask of where objects already are, so labelled objects never overlap."""

    def __init__(self, h: int, w: int, scale: float = 0.25):
        self.h, self.w, self.s = h, w, scale
        self.mask = np.zeros((int(h * scale) + 2, int(w * scale) + 2), np.uint8)

    def try_add(self, poly: np.ndarray, margin: float = 2.0) -> bool:
        pts = np.asarray(poly, np.float64).reshape(-1, 2)
        edge = max(margin, 1.0)  # objects stay inside the image
        if pts.min() < edge or (pts[:, 0] > self.w - edge).any() or (pts[:, 1] > self.h - edge).any():
            return False
        p = pts * self.s
        x0, y0 = np.maximum(np.floor(p.min(0)).astype(int) - 1, 0)
        x1, y1 = np.ceil(p.max(0)).astype(int) + 2
        crop = self.mask[y0:y1, x0:x1]
        local = np.zeros_like(crop)
        cv2.fillPoly(local, [as_int_points(p - (x0, y0))], (1,), cv2.LINE_8, 4)
        if margin > 0:
            local = cv2.dilate(local, np.ones((3, 3), np.uint8))
        if (local & crop).any():
            return False
        crop |= local
        return True
