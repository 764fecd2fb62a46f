"""Synthetic HRSC2016 and DOTA v1.0 datasets, in the real on-disk formats.

No real imagery can be downloaded here, yet training, splitting, merging and
evaluation need data a small detector can learn. Each class gets its own shape,
colour and texture on a cluttered background (colour fields, blobs, roads,
noise), and the label is the tight rotated box of what was drawn. Image `i` of
seed `s` is drawn from `default_rng([s, i, dataset])` alone, so the output is
byte-identical for a seed whatever the number of workers.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from detlab.atomic import atomic_output_dir
from detlab.data import imwrite, process_pool
from detlab.errors import UserError
from refined_det.datasets.formats import (
    DOTA_CLASSES,
    DotaAnnotation,
    HrscAnnotation,
    rbox_to_poly,
    write_dota_label,
    write_hrsc_xml,
)

DATASETS = ("hrsc2016", "dota")
_TAG = {"hrsc2016": 1, "dota": 2}
Color = tuple[int, int, int]  # BGR, as cv2 draws and writes


# --------------------------------------------------------------------------- drawing helpers
def _fix(pts: np.ndarray) -> np.ndarray:
    """Float points -> cv2 fixed point (4 fractional bits) for sub-pixel drawing."""
    return np.round(np.asarray(pts, np.float64).reshape(-1, 2) * 16).astype(np.int32)


def _fill(img: np.ndarray, pts: np.ndarray, color: Color) -> None:
    cv2.fillPoly(img, [_fix(pts)], color, cv2.LINE_AA, 4)


def _line(img: np.ndarray, pts: Any, color: Color, thick: int = 1, closed=False) -> None:
    cv2.polylines(img, [_fix(pts)], closed, color, max(1, int(thick)), cv2.LINE_AA, 4)


class Frame:
    """Maps an object's local coordinates (x along its length, y across) to the image."""

    def __init__(self, cx: float, cy: float, angle: float):
        self.c = np.array([cx, cy])
        self.r = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])

    def __call__(self, pts) -> np.ndarray:
        return np.asarray(pts, np.float64).reshape(-1, 2) @ self.r.T + self.c


def _rect(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 16):
    t = np.linspace(a0, a1, n)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _jitter(rng: np.random.Generator, color, spread: int = 18) -> Color:
    c = np.clip(np.asarray(color) + rng.integers(-spread, spread + 1, 3), 0, 255)
    return int(c[0]), int(c[1]), int(c[2])


def _shade(color, k: float) -> Color:
    r, g, b = (int(min(255, max(0, v * k))) for v in color)
    return r, g, b


# --------------------------------------------------------------------------- backgrounds
def _color_field(rng, h: int, w: int, palette: np.ndarray, cell: int) -> np.ndarray:
    """Smooth mix of palette colours: a coarse random grid upsampled (cheap at any size)."""
    gh, gw = h // cell + 2, w // cell + 2
    weights = rng.random((gh, gw, len(palette))) ** 3
    weights /= weights.sum(axis=2, keepdims=True)
    coarse = (weights @ palette).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 255).astype(np.uint8)


def _add_noise(img: np.ndarray, rng, sigma: float) -> np.ndarray:
    """Per-pixel noise from a tiled random patch (a full-size draw costs more than the drawing)."""
    tile = rng.normal(0, sigma, (251, 257, 3)).astype(np.int16)
    h, w = img.shape[:2]
    noise = np.tile(tile, (h // 251 + 1, w // 257 + 1, 1))[:h, :w]
    return np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def _clutter(img: np.ndarray, rng, count: int, size: tuple[float, float]) -> None:
    """Blobs, strokes and rubble that belong to no class: what a detector must learn to ignore."""
    h, w = img.shape[:2]
    for _ in range(count):
        kind = rng.integers(3)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(*size)
        col = _jitter(rng, img[int(cy) % h, int(cx) % w], 45)
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
            _line(img, [(cx - d[0], cy - d[1]), (cx + d[0], cy + d[1])], col, int(rng.integers(1, 4)))
        else:
            pts = np.stack([cx + rng.normal(0, r / 2, 6), cy + rng.normal(0, r / 2, 6)], 1)
            _fill(img, cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2), col)


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
        cv2.fillPoly(local, [_fix(p - (x0, y0))], (1,), cv2.LINE_8, 4)
        if margin > 0:
            local = cv2.dilate(local, np.ones((3, 3), np.uint8))
        if (local & crop).any():
            return False
        crop |= local
        return True


# --------------------------------------------------------------------------- object shapes
def _hull(f: Frame, w: float, h: float, bow: int) -> np.ndarray:
    """Ship hull: flat stern, straight sides, pointed bow; spans exactly [-w/2, w/2] x [-h/2, h/2]."""
    b = w * 0.22
    pts = np.array([(-w / 2, -h * 0.42), (w / 2 - b, -h / 2), (w / 2, 0), (w / 2 - b, h / 2), (-w / 2, h * 0.42)])
    pts[:, 0] *= bow
    return f(pts)


def draw_ship(img, rng, f: Frame, w: float, h: float, bow: int = 1) -> None:
    """Grey hull, darker deck edge, and a superstructure stripe along the centre line."""
    hull = _jitter(rng, [rng.integers(110, 215)] * 3, 20)
    _fill(img, _hull(f, w, h, bow), _shade(hull, 0.75))
    inner = _hull(f, w * 0.92, h * 0.78, bow)
    _fill(img, inner, hull)
    s0, s1 = sorted(rng.uniform(-0.38, 0.18, 2) * w)
    s1 = max(s1, s0 + 0.12 * w)
    top = _jitter(rng, (235, 235, 235) if rng.random() < 0.5 else (60, 60, 70), 15)
    _fill(img, f(np.array(_rect(s0, -h * 0.22, s1, h * 0.22)) * (bow, 1)), top)
    if w > 60 and rng.random() < 0.5:  # deck cargo blocks
        for x in np.arange(s1 + 0.03 * w, w * 0.28, max(4.0, 0.06 * w)):
            _fill(
                img, f(np.array(_rect(x, -h * 0.3, x + 0.045 * w, h * 0.3)) * (bow, 1)), _jitter(rng, (40, 90, 180), 60)
            )


def _plane(img, rng, f, w, h):
    col = _jitter(rng, (225, 225, 225), 20)
    fw = 0.06 * w
    body = [(w / 2, 0), (0.4 * w, -fw), (-0.5 * w, -fw * 0.6), (-0.5 * w, fw * 0.6), (0.4 * w, fw)]
    _fill(img, f(body), col)
    for s in (-1, 1):
        wing = [(0.15 * w, s * fw), (-0.12 * w, s * h / 2), (-0.22 * w, s * h / 2), (-0.05 * w, s * fw)]
        tail = [(-0.38 * w, s * fw * 0.5), (-0.47 * w, s * 0.18 * h), (-0.5 * w, s * 0.18 * h), (-0.46 * w, 0)]
        _fill(img, f(wing), col)
        _fill(img, f(tail), col)
    _line(img, f([(0.42 * w, 0), (-0.4 * w, 0)]), _shade(col, 0.8))


def _baseball(img, rng, f, w, h):
    s = w
    fan = np.vstack([[(-s / 2, s / 2)], _arc(-s / 2, s / 2, s, s, -math.pi / 2, 0, 14)])
    _fill(img, f(fan), _jitter(rng, (80, 140, 190), 15))
    _fill(
        img,
        f(
            [
                (-s / 2 + 0.08 * s, s / 2 - 0.08 * s),
                (-0.05 * s, s / 2 - 0.08 * s),
                (-0.05 * s, -0.05 * s),
                (-s / 2 + 0.08 * s, -0.05 * s),
            ]
        ),
        _jitter(rng, (60, 150, 70), 15),
    )
    _line(img, f([(-s / 2, s / 2), (-s / 2, -s / 2)]), (240, 240, 240))
    _line(img, f([(-s / 2, s / 2), (s / 2, s / 2)]), (240, 240, 240))


def _bridge(img, rng, f, w, h):
    _fill(img, f(_rect(-w / 2, -h / 2, w / 2, h / 2)), _jitter(rng, (125, 125, 120), 15))
    for y in (-h / 2 + 1.5, h / 2 - 1.5):
        _line(img, f([(-w / 2, y), (w / 2, y)]), (200, 200, 200), 2)
    for x in np.arange(-w / 2 + 4, w / 2 - 8, 12):
        _line(img, f([(x, 0), (x + 6, 0)]), (210, 230, 230))


def _stadium(w, h, inset):
    r = h / 2 - inset
    x = w / 2 - h / 2
    return np.vstack([_arc(x, 0, r, r, -math.pi / 2, math.pi / 2), _arc(-x, 0, r, r, math.pi / 2, 1.5 * math.pi)])


def _track(img, rng, f, w, h):
    _fill(img, f(_stadium(w, h, 0)), _jitter(rng, (70, 80, 170), 15))
    _fill(img, f(_stadium(w, h, 0.18 * h)), _jitter(rng, (70, 160, 80), 15))
    _line(img, f(_stadium(w, h, 0.09 * h)), (235, 235, 235), 1, closed=True)


def _small_vehicle(img, rng, f, w, h):
    paints = [(40, 40, 200), (220, 220, 220), (30, 30, 30), (160, 60, 20), (150, 150, 150)]
    col = _jitter(rng, paints[rng.integers(5)], 25)
    _fill(img, f(_rect(-w / 2, -h / 2, w / 2, h / 2)), col)
    _fill(img, f(_rect(0.1 * w, -h * 0.4, 0.3 * w, h * 0.4)), (40, 35, 30))
    _fill(img, f(_rect(-0.4 * w, -h * 0.38, -0.25 * w, h * 0.38)), _shade(col, 0.6))


def _large_vehicle(img, rng, f, w, h):
    _fill(img, f(_rect(0.3 * w, -h / 2, w / 2, h / 2)), _jitter(rng, (50, 60, 170), 40))
    _fill(img, f(_rect(-w / 2, -h / 2, 0.26 * w, h / 2)), _jitter(rng, (215, 215, 210), 25))
    _line(img, f([(-w / 2 + 2, 0), (0.24 * w, 0)]), (160, 160, 160))


def _ship(img, rng, f, w, h):
    draw_ship(img, rng, f, w, h, 1 if rng.random() < 0.5 else -1)


def _court(img, rng, f, w, h, surface, margin):
    _fill(img, f(_rect(-w / 2, -h / 2, w / 2, h / 2)), _jitter(rng, margin, 12))
    iw, ih = w * 0.42, h * 0.38
    _fill(img, f(_rect(-iw, -ih, iw, ih)), _jitter(rng, surface, 12))
    _line(img, f(_rect(-iw, -ih, iw, ih)), (245, 245, 245), 1, closed=True)
    _line(img, f([(0, -ih), (0, ih)]), (245, 245, 245))


def _tennis(img, rng, f, w, h):
    surface = [(60, 130, 60), (150, 90, 40), (60, 90, 190)][rng.integers(3)]
    _court(img, rng, f, w, h, surface, (80, 150, 90))
    for x in (-0.22 * w, 0.22 * w):
        _line(img, f([(x, -0.38 * h), (x, 0.38 * h)]), (245, 245, 245))
    _line(img, f([(-0.22 * w, 0), (0.22 * w, 0)]), (245, 245, 245))


def _basketball(img, rng, f, w, h):
    _court(img, rng, f, w, h, (60, 140, 210), (90, 110, 130))
    centre = tuple(int(v) for v in f([(0, 0)])[0])
    cv2.circle(img, centre, max(2, int(h * 0.15)), (245, 245, 245), 1, cv2.LINE_AA)
    for s in (-1, 1):
        _fill(img, f(_rect(s * 0.42 * w, -0.1 * h, s * 0.3 * w, 0.1 * h)), (40, 90, 190))


def _tank(img, rng, f, w, h):
    c = tuple(int(v) for v in f([(0, 0)])[0])
    r = w / 2
    grey = int(rng.integers(175, 235))
    cv2.circle(img, c, int(r), _jitter(rng, (grey, grey, grey - 5), 6), -1, cv2.LINE_AA)
    cv2.circle(img, c, int(r), (90, 90, 90), max(1, int(r * 0.08)), cv2.LINE_AA)
    cv2.circle(img, c, max(1, int(r * 0.7)), _shade((grey, grey, grey), 0.8), 1, cv2.LINE_AA)


def _soccer(img, rng, f, w, h):
    g = np.array(_jitter(rng, (60, 150, 60), 15))
    n = 8
    for i in range(n):
        x0 = -w / 2 + i * w / n
        stripe = tuple(int(v) for v in g * (1.0 if i % 2 else 0.85))  # mowing pattern
        _fill(img, f(_rect(x0, -h / 2, x0 + w / n, h / 2)), stripe)
    white = (240, 240, 240)
    _line(img, f(_rect(-w / 2 + 2, -h / 2 + 2, w / 2 - 2, h / 2 - 2)), white, 1, closed=True)
    _line(img, f([(0, -h / 2 + 2), (0, h / 2 - 2)]), white)
    _line(img, f(_arc(0, 0, h * 0.15, h * 0.15, 0, 2 * math.pi, 20)), white, 1, closed=True)
    for s in (-1, 1):
        _line(img, f(_rect(s * (w / 2 - 2), -0.3 * h, s * 0.33 * w, 0.3 * h)), white, 1, closed=True)


def _roundabout_exits(img, rng, f, w):
    """Roads leaving the ring: context outside the box, drawn before any object."""
    for k in range(4):
        a = k * math.pi / 2 + rng.uniform(-0.3, 0.3)
        _line(
            img,
            f([(0, 0), (w * 0.75 * math.cos(a), w * 0.75 * math.sin(a))]),
            _jitter(rng, (120, 120, 118), 6),
            max(3, int(w * 0.12)),
        )


def _roundabout(img, rng, f, w, h):
    _fill(img, f(_arc(0, 0, w / 2, w / 2, 0, 2 * math.pi, 32)), _jitter(rng, (120, 120, 118), 6))
    _fill(img, f(_arc(0, 0, w * 0.3, w * 0.3, 0, 2 * math.pi, 24)), _jitter(rng, (60, 140, 70), 15))
    _line(img, f(_arc(0, 0, w * 0.4, w * 0.4, 0, 2 * math.pi, 24)), (225, 225, 225), 1, closed=True)


def _harbor(img, rng, f, w, h):
    col = _jitter(rng, (150, 155, 160), 15)
    _fill(img, f(_rect(-w / 2, -0.17 * h, w / 2, 0.17 * h)), col)
    for x in np.arange(-w / 2 + 0.1 * w, w / 2 - 3, max(8.0, 0.18 * w)):
        _fill(img, f(_rect(x, -h / 2, x + 3, h / 2)), col)


def _pool(img, rng, f, w, h):
    _fill(img, f(_rect(-w / 2, -h / 2, w / 2, h / 2)), (235, 235, 230))
    water = _jitter(rng, (225, 190, 40), 20)
    _fill(img, f(_rect(-w / 2 + 1.5, -h / 2 + 1.5, w / 2 - 1.5, h / 2 - 1.5)), water)
    if w > 18:
        _line(img, f([(-w / 2 + 3, 0), (w / 2 - 3, 0)]), (180, 120, 20))


def _helicopter(img, rng, f, w, h):
    col = _jitter(rng, (60, 90, 70), 15)
    _fill(img, f([(-w / 2, -0.04 * h), (0, -0.06 * h), (0, 0.06 * h), (-w / 2, 0.04 * h)]), col)
    _fill(img, f(_arc(0.15 * w, 0, 0.22 * w, 0.16 * h, 0, 2 * math.pi, 16)), col)
    blade = (30, 30, 30)
    _line(img, f([(0.15 * w, -h / 2), (0.15 * w, h / 2)]), blade)
    _line(img, f([(-0.2 * w, 0), (0.5 * w, 0)]), blade)
    _line(img, f([(-0.47 * w, -0.15 * h), (-0.47 * w, 0.15 * h)]), blade)


@dataclass(frozen=True)
class ClassSpec:
    """How one DOTA class looks: length range (px), width/length ratio, renderer, and layout."""

    length: tuple[float, float]
    ratio: tuple[float, float]
    draw: Callable
    per_image: tuple[int, int]  # groups per 3000x3000 px
    group: tuple[int, int] = (1, 1)  # objects per group (laid out in rows)
    axis_aligned: bool = False  # round things: the angle of the box is meaningless


DOTA_SPECS: dict[str, ClassSpec] = {
    "plane": ClassSpec((30, 70), (0.8, 1.0), _plane, (1, 3), (3, 10)),
    "baseball-diamond": ClassSpec((60, 110), (1.0, 1.0), _baseball, (1, 2)),
    "bridge": ClassSpec((80, 170), (0.12, 0.2), _bridge, (1, 2)),
    "ground-track-field": ClassSpec((110, 175), (0.5, 0.6), _track, (1, 1)),
    "small-vehicle": ClassSpec((8, 15), (0.42, 0.5), _small_vehicle, (5, 9), (12, 50)),
    "large-vehicle": ClassSpec((22, 40), (0.25, 0.32), _large_vehicle, (2, 4), (3, 12)),
    "ship": ClassSpec((20, 90), (0.18, 0.3), _ship, (3, 6), (2, 8)),
    "tennis-court": ClassSpec((36, 44), (0.45, 0.52), _tennis, (1, 2), (1, 4)),
    "basketball-court": ClassSpec((28, 34), (0.5, 0.56), _basketball, (1, 2), (1, 2)),
    "storage-tank": ClassSpec((14, 60), (1.0, 1.0), _tank, (1, 3), (4, 16), True),
    "soccer-ball-field": ClassSpec((90, 150), (0.6, 0.68), _soccer, (1, 1)),
    "roundabout": ClassSpec((50, 100), (1.0, 1.0), _roundabout, (1, 2), (1, 1), True),
    "harbor": ClassSpec((50, 160), (0.12, 0.22), _harbor, (1, 3)),
    "swimming-pool": ClassSpec((10, 30), (0.45, 0.8), _pool, (3, 6), (1, 6)),
    "helicopter": ClassSpec((14, 28), (0.8, 1.0), _helicopter, (1, 2), (1, 4)),
}
assert tuple(DOTA_SPECS) == DOTA_CLASSES


# --------------------------------------------------------------------------- scenes
def _occlude(img, rng, poly: np.ndarray) -> None:
    """A tree/cloud over part of an object: the reason it is marked difficult."""
    p = poly.reshape(4, 2)
    c = p[rng.integers(4)] * 0.6 + p.mean(0) * 0.4
    r = np.linalg.norm(p[0] - p[2]) * rng.uniform(0.25, 0.4)
    col = (60, 110, 60) if rng.random() < 0.5 else (225, 225, 225)
    cv2.circle(img, (int(c[0]), int(c[1])), max(2, int(r)), col, -1, cv2.LINE_AA)


def render_hrsc(seed: int, index: int) -> tuple[np.ndarray, HrscAnnotation]:
    """One HRSC-size image (800-1000 x 500-600) with 1-8 ships at any angle, some difficult."""
    rng = np.random.default_rng([seed, index, _TAG["hrsc2016"]])
    w, h = int(rng.integers(800, 1001)), int(rng.integers(500, 601))
    water = np.array([[95, 75, 40], [110, 100, 60], [80, 90, 70], [120, 110, 90]], np.float32)
    img = _color_field(rng, h, w, water[rng.permutation(4)[:3]], 96)
    if rng.random() < 0.7:  # land along one edge, with a rough coast
        n = 12
        t = np.linspace(-0.1, 1.1, n)
        depth = rng.uniform(0.15, 0.4) + np.cumsum(rng.normal(0, 0.03, n))
        edge = int(rng.integers(4))
        along, across = (w, h) if edge in (0, 1) else (h, w)
        line = np.stack([t * along, depth * across], 1)
        pts = np.vstack([line, [(along * 1.1, -10), (-along * 0.1, -10)]])
        if edge in (1, 3):
            pts[:, 1] = across - pts[:, 1]
        if edge in (2, 3):
            pts = pts[:, ::-1]
        _fill(img, pts, _jitter(rng, [(120, 150, 160), (90, 140, 110), (150, 150, 150)][rng.integers(3)], 15))
    _clutter(img, rng, int(rng.integers(15, 40)), (4, 30))
    occ = Occupancy(h, w)
    rboxes, difficult, headers, drawn = [], [], [], []
    for _ in range(int(rng.integers(1, 9))):
        for _try in range(20):
            length = float(np.exp(rng.uniform(math.log(40), math.log(250))))
            beam = length / rng.uniform(3, 8)
            a = rng.uniform(-math.pi / 2, math.pi / 2)
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            box = np.round([cx, cy, length, beam], 2).tolist() + [round(a, 6)]
            if occ.try_add(rbox_to_poly(np.array(box))[0], margin=3):
                break
        else:
            continue
        bow = 1 if rng.random() < 0.5 else -1
        f = Frame(box[0], box[1], box[4])
        if rng.random() < 0.4:  # wake behind the stern
            wl = box[2] * rng.uniform(0.4, 1.2)
            _fill(
                img,
                f(
                    [
                        (-bow * box[2] / 2, -box[3] * 0.3),
                        (-bow * (box[2] / 2 + wl), -box[3] * 1.2),
                        (-bow * (box[2] / 2 + wl), box[3] * 1.2),
                        (-bow * box[2] / 2, box[3] * 0.3),
                    ]
                ),
                _jitter(rng, (170, 165, 150), 10),
            )
        drawn.append((f, box, bow))
        rboxes.append(box)
        headers.append(f([(bow * box[2] / 2, 0)])[0])
        difficult.append(box[2] < 50)
    for f, box, bow in drawn:
        draw_ship(img, rng, f, box[2], box[3], bow)
    for k, box in enumerate(rboxes):
        if not difficult[k] and rng.random() < 0.08:
            _occlude(img, rng, rbox_to_poly(np.array(box))[0])
            difficult[k] = True
    img = _add_noise(cv2.GaussianBlur(img, (3, 3), 0), rng, 6)
    ann = HrscAnnotation(
        hrsc_image_id(index),
        w,
        h,
        np.array(rboxes).reshape(-1, 5),
        np.array(difficult, bool),
        headers=np.array(headers).reshape(-1, 2),
    )
    return img, ann


def render_dota(seed: int, index: int, size_range: tuple[int, int] = (2000, 4000)) -> tuple[np.ndarray, DotaAnnotation]:
    """One large DOTA-style image with every class, small objects in dense groups."""
    rng = np.random.default_rng([seed, index, _TAG["dota"]])
    w, h = (int(v) for v in rng.integers(size_range[0], size_range[1] + 1, 2))
    terrain = np.array([[90, 130, 110], [110, 125, 130], [140, 150, 150], [70, 110, 80], [120, 140, 160]], np.float32)
    img = _color_field(rng, h, w, terrain[rng.permutation(5)[:4]], 160)
    area = w * h / 3000**2
    for _ in range(max(1, int(round(rng.uniform(2, 5) * math.sqrt(area))))):  # roads
        p0, p1 = rng.uniform(0, 1, 2) * (w, h), rng.uniform(0, 1, 2) * (w, h)
        p1 = p0 + (p1 - p0) * 3
        _line(img, [p0 - (p1 - p0), p1], _jitter(rng, (105, 105, 100), 8), int(rng.integers(10, 25)))
    _clutter(img, rng, int(rng.integers(150, 300) * area) + 10, (5, 60))
    occ = Occupancy(h, w, scale=0.5)
    polys, labels, diffs, jobs = [], [], [], []
    for name in DOTA_CLASSES:
        spec = DOTA_SPECS[name]
        groups = max(1, int(round(rng.integers(spec.per_image[0], spec.per_image[1] + 1) * area)))
        for _ in range(groups):
            n = int(rng.integers(spec.group[0], spec.group[1] + 1))
            length = rng.uniform(*spec.length)
            width = length * rng.uniform(*spec.ratio)
            a = 0.0 if spec.axis_aligned else rng.uniform(-math.pi / 2, math.pi / 2)
            cols = max(1, int(math.ceil(math.sqrt(n * 2))))
            gx, gy = length * rng.uniform(1.15, 1.4), width * rng.uniform(1.4, 2.0) + 2
            g = Frame(rng.uniform(0, w), rng.uniform(0, h), a)
            placed = []
            for k in range(n):  # rows along the length axis, columns side by side
                lx = (k // cols) * gx
                ly = (k % cols - (cols - 1) / 2) * gy
                cx, cy = g([(lx, ly)])[0] + rng.normal(0, 1.0, 2)
                ol = length * rng.uniform(0.9, 1.1)
                ow = ol * rng.uniform(*spec.ratio)
                oa = a if spec.axis_aligned else a + rng.normal(0, 0.04)
                box = np.array([cx, cy, ol, ow, oa])
                poly = np.round(rbox_to_poly(box)[0], 1)
                if occ.try_add(poly, margin=0):
                    placed.append((box, poly))
            if placed and name in ("small-vehicle", "large-vehicle", "plane", "storage-tank"):
                pts = np.vstack([p.reshape(4, 2) for _, p in placed]).astype(np.float32)
                hull = cv2.convexHull(pts).reshape(-1, 2)
                c = hull.mean(0)
                _fill(img, c + (hull - c) * 1.15, _jitter(rng, (95, 95, 92), 8))  # lot / apron
            for box, _ in placed if name == "roundabout" else []:
                _roundabout_exits(img, rng, Frame(box[0], box[1], box[4]), box[2])
            if placed and name in ("ship", "harbor", "bridge"):
                for box, _ in placed:  # water under it
                    f = Frame(box[0], box[1], box[4] + (math.pi / 2 if name == "bridge" else 0))
                    r = box[2] * (0.35 if name == "bridge" else 0.9)
                    _fill(
                        img,
                        f(_arc(0, 0, r * (3 if name == "bridge" else 1), r, 0, 2 * math.pi, 20)),
                        _jitter(rng, (100, 80, 45), 8),
                    )
            for box, poly in placed:
                jobs.append((name, box))
                polys.append(poly)
                labels.append(name)
                diffs.append(int(box[2] < 10))
    for name, box in jobs:
        DOTA_SPECS[name].draw(img, rng, Frame(box[0], box[1], box[4]), box[2], box[3])
    for k in range(len(polys)):
        if not diffs[k] and rng.random() < 0.05:
            _occlude(img, rng, polys[k])
            diffs[k] = 1
    img = _add_noise(img, rng, 5)
    ann = DotaAnnotation(
        np.array(polys).reshape(-1, 8),
        labels,
        np.array(diffs, np.int64),
        "synthetic",
        round(float(rng.uniform(0.3, 1.0)), 3),
    )
    return img, ann


# --------------------------------------------------------------------------- writing
def hrsc_image_id(index: int) -> str:
    return f"1{index + 1:08d}"


def dota_image_id(index: int) -> str:
    return f"P{index:04d}"


def hrsc_split_of(index: int) -> str:
    """60% trainval (train 40%, val 20%), 40% test, fixed per index so N only adds images."""
    return ("train", "train", "val", "test", "test")[index % 5]


def _write_one(job: tuple[str, int, int, str, tuple[int, int]]) -> int:
    dataset, seed, index, root_dir, size_range = job
    root = Path(root_dir)
    if dataset == "hrsc2016":
        img, hrsc = render_hrsc(seed, index)
        name = hrsc_image_id(index)
        imwrite(root / "FullDataSet" / "AllImages" / f"{name}.bmp", img)
        write_hrsc_xml(root / "FullDataSet" / "Annotations" / f"{name}.xml", hrsc)
        return len(hrsc)
    img, dota = render_dota(seed, index, size_range)
    name = dota_image_id(index)
    imwrite(root / "images" / f"{name}.png", img)
    write_dota_label(root / "labelTxt" / f"{name}.txt", dota)
    return len(dota)


def synth_dataset(
    dataset: str,
    out: str | os.PathLike,
    images: int,
    seed: int = 0,
    workers: int = 0,
    overwrite: bool = False,
    progress: bool = True,
    size_range: tuple[int, int] = (2000, 4000),
) -> dict:
    """Write `images` synthetic images of `dataset` under `out`, all or nothing (see atomic.py).

    `size_range` is the DOTA image side range; HRSC images are always HRSC-size.
    Returns the summary also stored in `out/.complete`.
    """
    if dataset not in DATASETS:
        raise UserError(f"--dataset {dataset!r}: choose one of {', '.join(DATASETS)}")
    if images < 1:
        raise UserError(f"--images {images}: must be at least 1")
    if not 64 <= size_range[0] <= size_range[1]:
        raise UserError(f"size range {size_range}: need 64 <= min <= max")
    workers = min(workers or min(2, os.cpu_count() or 1), images)
    meta = dict(
        tool="detlab data synth",
        dataset=dataset,
        images=images,
        seed=seed,
        size_range=list(size_range) if dataset == "dota" else None,
    )
    with atomic_output_dir(out, overwrite, meta) as root:
        subdirs = (
            ["FullDataSet/AllImages", "FullDataSet/Annotations", "ImageSets"]
            if dataset == "hrsc2016"
            else ["images", "labelTxt"]
        )
        for sub in subdirs:
            (root / sub).mkdir(parents=True)
        jobs = [(dataset, seed, i, str(root), tuple(size_range)) for i in range(images)]
        bar = dict(total=images, desc=f"synth {dataset}", unit="img", disable=not progress)
        if workers == 1:
            counts = [_write_one(j) for j in tqdm(jobs, **bar)]
        else:
            with process_pool(workers, __name__) as pool:
                counts = list(tqdm(pool.imap(_write_one, jobs, chunksize=4), **bar))
        if dataset == "hrsc2016":
            _write_image_sets(root / "ImageSets", images)
        meta["objects"] = int(sum(counts))
    return meta


def _write_image_sets(folder: Path, images: int) -> None:
    sets: dict[str, list[str]] = {"train": [], "val": [], "trainval": [], "test": []}
    for i in range(images):
        split = hrsc_split_of(i)
        sets[split].append(hrsc_image_id(i))
        if split != "test":
            sets["trainval"].append(hrsc_image_id(i))
    for name, ids in sets.items():
        (folder / f"{name}.txt").write_text("".join(f"{x}\n" for x in ids))
