"""How each class looks: the ship hull of HRSC2016 and one painter per DOTA v1.0 class (shape,
colour, texture), with the sizes and counts they are drawn at (`DOTA_SPECS`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from detlab.data.synth.draw import Frame, arc, draw_line, fill_poly, jitter, rect, shade
from refined_det.datasets.formats import (
    DOTA_CLASSES,
)


def _hull(f: Frame, w: float, h: float, bow: int) -> np.ndarray:
    """Ship hull: flat stern, straight sides, pointed bow; spans exactly [-w/2, w/2] x [-h/2, h/2]."""
    b = w * 0.22
    pts = np.array([(-w / 2, -h * 0.42), (w / 2 - b, -h / 2), (w / 2, 0), (w / 2 - b, h / 2), (-w / 2, h * 0.42)])
    pts[:, 0] *= bow
    return f(pts)


def draw_ship(img, rng, f: Frame, w: float, h: float, bow: int = 1) -> None:
    """Grey hull, darker deck edge, and a superstructure stripe along the centre line."""
    hull = jitter(rng, [rng.integers(110, 215)] * 3, 20)
    fill_poly(img, _hull(f, w, h, bow), shade(hull, 0.75))
    inner = _hull(f, w * 0.92, h * 0.78, bow)
    fill_poly(img, inner, hull)
    s0, s1 = sorted(rng.uniform(-0.38, 0.18, 2) * w)
    s1 = max(s1, s0 + 0.12 * w)
    top = jitter(rng, (235, 235, 235) if rng.random() < 0.5 else (60, 60, 70), 15)
    fill_poly(img, f(np.array(rect(s0, -h * 0.22, s1, h * 0.22)) * (bow, 1)), top)
    if w > 60 and rng.random() < 0.5:  # deck cargo blocks
        for x in np.arange(s1 + 0.03 * w, w * 0.28, max(4.0, 0.06 * w)):
            fill_poly(
                img, f(np.array(rect(x, -h * 0.3, x + 0.045 * w, h * 0.3)) * (bow, 1)), jitter(rng, (40, 90, 180), 60)
            )


def _plane(img, rng, f, w, h):
    col = jitter(rng, (225, 225, 225), 20)
    fw = 0.06 * w
    body = [(w / 2, 0), (0.4 * w, -fw), (-0.5 * w, -fw * 0.6), (-0.5 * w, fw * 0.6), (0.4 * w, fw)]
    fill_poly(img, f(body), col)
    for s in (-1, 1):
        wing = [(0.15 * w, s * fw), (-0.12 * w, s * h / 2), (-0.22 * w, s * h / 2), (-0.05 * w, s * fw)]
        tail = [(-0.38 * w, s * fw * 0.5), (-0.47 * w, s * 0.18 * h), (-0.5 * w, s * 0.18 * h), (-0.46 * w, 0)]
        fill_poly(img, f(wing), col)
        fill_poly(img, f(tail), col)
    draw_line(img, f([(0.42 * w, 0), (-0.4 * w, 0)]), shade(col, 0.8))


def _baseball(img, rng, f, w, h):
    s = w
    fan = np.vstack([[(-s / 2, s / 2)], arc(-s / 2, s / 2, s, s, -math.pi / 2, 0, 14)])
    fill_poly(img, f(fan), jitter(rng, (80, 140, 190), 15))
    fill_poly(
        img,
        f(
            [
                (-s / 2 + 0.08 * s, s / 2 - 0.08 * s),
                (-0.05 * s, s / 2 - 0.08 * s),
                (-0.05 * s, -0.05 * s),
                (-s / 2 + 0.08 * s, -0.05 * s),
            ]
        ),
        jitter(rng, (60, 150, 70), 15),
    )
    draw_line(img, f([(-s / 2, s / 2), (-s / 2, -s / 2)]), (240, 240, 240))
    draw_line(img, f([(-s / 2, s / 2), (s / 2, s / 2)]), (240, 240, 240))


def _bridge(img, rng, f, w, h):
    fill_poly(img, f(rect(-w / 2, -h / 2, w / 2, h / 2)), jitter(rng, (125, 125, 120), 15))
    for y in (-h / 2 + 1.5, h / 2 - 1.5):
        draw_line(img, f([(-w / 2, y), (w / 2, y)]), (200, 200, 200), 2)
    for x in np.arange(-w / 2 + 4, w / 2 - 8, 12):
        draw_line(img, f([(x, 0), (x + 6, 0)]), (210, 230, 230))


def _stadium(w, h, inset):
    r = h / 2 - inset
    x = w / 2 - h / 2
    return np.vstack([arc(x, 0, r, r, -math.pi / 2, math.pi / 2), arc(-x, 0, r, r, math.pi / 2, 1.5 * math.pi)])


def _track(img, rng, f, w, h):
    fill_poly(img, f(_stadium(w, h, 0)), jitter(rng, (70, 80, 170), 15))
    fill_poly(img, f(_stadium(w, h, 0.18 * h)), jitter(rng, (70, 160, 80), 15))
    draw_line(img, f(_stadium(w, h, 0.09 * h)), (235, 235, 235), 1, closed=True)


def _small_vehicle(img, rng, f, w, h):
    paints = [(40, 40, 200), (220, 220, 220), (30, 30, 30), (160, 60, 20), (150, 150, 150)]
    col = jitter(rng, paints[rng.integers(5)], 25)
    fill_poly(img, f(rect(-w / 2, -h / 2, w / 2, h / 2)), col)
    fill_poly(img, f(rect(0.1 * w, -h * 0.4, 0.3 * w, h * 0.4)), (40, 35, 30))
    fill_poly(img, f(rect(-0.4 * w, -h * 0.38, -0.25 * w, h * 0.38)), shade(col, 0.6))


def _large_vehicle(img, rng, f, w, h):
    fill_poly(img, f(rect(0.3 * w, -h / 2, w / 2, h / 2)), jitter(rng, (50, 60, 170), 40))
    fill_poly(img, f(rect(-w / 2, -h / 2, 0.26 * w, h / 2)), jitter(rng, (215, 215, 210), 25))
    draw_line(img, f([(-w / 2 + 2, 0), (0.24 * w, 0)]), (160, 160, 160))


def _ship(img, rng, f, w, h):
    draw_ship(img, rng, f, w, h, 1 if rng.random() < 0.5 else -1)


def _court(img, rng, f, w, h, surface, margin):
    fill_poly(img, f(rect(-w / 2, -h / 2, w / 2, h / 2)), jitter(rng, margin, 12))
    iw, ih = w * 0.42, h * 0.38
    fill_poly(img, f(rect(-iw, -ih, iw, ih)), jitter(rng, surface, 12))
    draw_line(img, f(rect(-iw, -ih, iw, ih)), (245, 245, 245), 1, closed=True)
    draw_line(img, f([(0, -ih), (0, ih)]), (245, 245, 245))


def _tennis(img, rng, f, w, h):
    surface = [(60, 130, 60), (150, 90, 40), (60, 90, 190)][rng.integers(3)]
    _court(img, rng, f, w, h, surface, (80, 150, 90))
    for x in (-0.22 * w, 0.22 * w):
        draw_line(img, f([(x, -0.38 * h), (x, 0.38 * h)]), (245, 245, 245))
    draw_line(img, f([(-0.22 * w, 0), (0.22 * w, 0)]), (245, 245, 245))


def _basketball(img, rng, f, w, h):
    _court(img, rng, f, w, h, (60, 140, 210), (90, 110, 130))
    centre = tuple(int(v) for v in f([(0, 0)])[0])
    cv2.circle(img, centre, max(2, int(h * 0.15)), (245, 245, 245), 1, cv2.LINE_AA)
    for s in (-1, 1):
        fill_poly(img, f(rect(s * 0.42 * w, -0.1 * h, s * 0.3 * w, 0.1 * h)), (40, 90, 190))


def _tank(img, rng, f, w, h):
    c = tuple(int(v) for v in f([(0, 0)])[0])
    r = w / 2
    grey = int(rng.integers(175, 235))
    cv2.circle(img, c, int(r), jitter(rng, (grey, grey, grey - 5), 6), -1, cv2.LINE_AA)
    cv2.circle(img, c, int(r), (90, 90, 90), max(1, int(r * 0.08)), cv2.LINE_AA)
    cv2.circle(img, c, max(1, int(r * 0.7)), shade((grey, grey, grey), 0.8), 1, cv2.LINE_AA)


def _soccer(img, rng, f, w, h):
    g = np.array(jitter(rng, (60, 150, 60), 15))
    n = 8
    for i in range(n):
        x0 = -w / 2 + i * w / n
        stripe = tuple(int(v) for v in g * (1.0 if i % 2 else 0.85))  # mowing pattern
        fill_poly(img, f(rect(x0, -h / 2, x0 + w / n, h / 2)), stripe)
    white = (240, 240, 240)
    draw_line(img, f(rect(-w / 2 + 2, -h / 2 + 2, w / 2 - 2, h / 2 - 2)), white, 1, closed=True)
    draw_line(img, f([(0, -h / 2 + 2), (0, h / 2 - 2)]), white)
    draw_line(img, f(arc(0, 0, h * 0.15, h * 0.15, 0, 2 * math.pi, 20)), white, 1, closed=True)
    for s in (-1, 1):
        draw_line(img, f(rect(s * (w / 2 - 2), -0.3 * h, s * 0.33 * w, 0.3 * h)), white, 1, closed=True)


def roundabout_exits(img, rng, f, w):
    """Roads leaving the ring: context outside the box, drawn before any object."""
    for k in range(4):
        a = k * math.pi / 2 + rng.uniform(-0.3, 0.3)
        draw_line(
            img,
            f([(0, 0), (w * 0.75 * math.cos(a), w * 0.75 * math.sin(a))]),
            jitter(rng, (120, 120, 118), 6),
            max(3, int(w * 0.12)),
        )


def _roundabout(img, rng, f, w, h):
    fill_poly(img, f(arc(0, 0, w / 2, w / 2, 0, 2 * math.pi, 32)), jitter(rng, (120, 120, 118), 6))
    fill_poly(img, f(arc(0, 0, w * 0.3, w * 0.3, 0, 2 * math.pi, 24)), jitter(rng, (60, 140, 70), 15))
    draw_line(img, f(arc(0, 0, w * 0.4, w * 0.4, 0, 2 * math.pi, 24)), (225, 225, 225), 1, closed=True)


def _harbor(img, rng, f, w, h):
    col = jitter(rng, (150, 155, 160), 15)
    fill_poly(img, f(rect(-w / 2, -0.17 * h, w / 2, 0.17 * h)), col)
    for x in np.arange(-w / 2 + 0.1 * w, w / 2 - 3, max(8.0, 0.18 * w)):
        fill_poly(img, f(rect(x, -h / 2, x + 3, h / 2)), col)


def _pool(img, rng, f, w, h):
    fill_poly(img, f(rect(-w / 2, -h / 2, w / 2, h / 2)), (235, 235, 230))
    water = jitter(rng, (225, 190, 40), 20)
    fill_poly(img, f(rect(-w / 2 + 1.5, -h / 2 + 1.5, w / 2 - 1.5, h / 2 - 1.5)), water)
    if w > 18:
        draw_line(img, f([(-w / 2 + 3, 0), (w / 2 - 3, 0)]), (180, 120, 20))


def _helicopter(img, rng, f, w, h):
    col = jitter(rng, (60, 90, 70), 15)
    fill_poly(img, f([(-w / 2, -0.04 * h), (0, -0.06 * h), (0, 0.06 * h), (-w / 2, 0.04 * h)]), col)
    fill_poly(img, f(arc(0.15 * w, 0, 0.22 * w, 0.16 * h, 0, 2 * math.pi, 16)), col)
    blade = (30, 30, 30)
    draw_line(img, f([(0.15 * w, -h / 2), (0.15 * w, h / 2)]), blade)
    draw_line(img, f([(-0.2 * w, 0), (0.5 * w, 0)]), blade)
    draw_line(img, f([(-0.47 * w, -0.15 * h), (-0.47 * w, 0.15 * h)]), blade)


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
