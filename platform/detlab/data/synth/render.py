"""Whole images: an HRSC2016 harbour scene or a DOTA aerial scene with its objects and their
rotated boxes, from (seed, index) alone."""

from __future__ import annotations

import math

import cv2
import numpy as np

from detlab.data.synth.draw import (
    Frame,
    Occupancy,
    add_noise,
    arc,
    clutter,
    color_field,
    draw_line,
    fill_poly,
    jitter,
)
from detlab.data.synth.shapes import DOTA_SPECS, draw_ship, roundabout_exits
from refined_det.datasets.formats import (
    DOTA_CLASSES,
    DotaAnnotation,
    HrscAnnotation,
    rbox_to_poly,
)


def _occlude(img, rng, poly: np.ndarray) -> None:
    """A tree/cloud over part of an object: the reason it is marked difficult."""
    p = poly.reshape(4, 2)
    c = p[rng.integers(4)] * 0.6 + p.mean(0) * 0.4
    r = np.linalg.norm(p[0] - p[2]) * rng.uniform(0.25, 0.4)
    col = (60, 110, 60) if rng.random() < 0.5 else (225, 225, 225)
    cv2.circle(img, (int(c[0]), int(c[1])), max(2, int(r)), col, -1, cv2.LINE_AA)


DATASETS = ("hrsc2016", "dota")
_TAG = {"hrsc2016": 1, "dota": 2}  # the third part of every image's RNG seed


def render_hrsc(seed: int, index: int) -> tuple[np.ndarray, HrscAnnotation]:
    """One HRSC-size image (800-1000 x 500-600) with 1-8 ships at any angle, some difficult."""
    rng = np.random.default_rng([seed, index, _TAG["hrsc2016"]])
    w, h = int(rng.integers(800, 1001)), int(rng.integers(500, 601))
    water = np.array([[95, 75, 40], [110, 100, 60], [80, 90, 70], [120, 110, 90]], np.float32)
    img = color_field(rng, h, w, water[rng.permutation(4)[:3]], 96)
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
        fill_poly(img, pts, jitter(rng, [(120, 150, 160), (90, 140, 110), (150, 150, 150)][rng.integers(3)], 15))
    clutter(img, rng, int(rng.integers(15, 40)), (4, 30))
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
            fill_poly(
                img,
                f(
                    [
                        (-bow * box[2] / 2, -box[3] * 0.3),
                        (-bow * (box[2] / 2 + wl), -box[3] * 1.2),
                        (-bow * (box[2] / 2 + wl), box[3] * 1.2),
                        (-bow * box[2] / 2, box[3] * 0.3),
                    ]
                ),
                jitter(rng, (170, 165, 150), 10),
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
    img = add_noise(cv2.GaussianBlur(img, (3, 3), 0), rng, 6)
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
    img = color_field(rng, h, w, terrain[rng.permutation(5)[:4]], 160)
    area = w * h / 3000**2
    for _ in range(max(1, int(round(rng.uniform(2, 5) * math.sqrt(area))))):  # roads
        p0, p1 = rng.uniform(0, 1, 2) * (w, h), rng.uniform(0, 1, 2) * (w, h)
        p1 = p0 + (p1 - p0) * 3
        draw_line(img, [p0 - (p1 - p0), p1], jitter(rng, (105, 105, 100), 8), int(rng.integers(10, 25)))
    clutter(img, rng, int(rng.integers(150, 300) * area) + 10, (5, 60))
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
                fill_poly(img, c + (hull - c) * 1.15, jitter(rng, (95, 95, 92), 8))  # lot / apron
            for box, _ in placed if name == "roundabout" else []:
                roundabout_exits(img, rng, Frame(box[0], box[1], box[4]), box[2])
            if placed and name in ("ship", "harbor", "bridge"):
                for box, _ in placed:  # water under it
                    f = Frame(box[0], box[1], box[4] + (math.pi / 2 if name == "bridge" else 0))
                    r = box[2] * (0.35 if name == "bridge" else 0.9)
                    fill_poly(
                        img,
                        f(arc(0, 0, r * (3 if name == "bridge" else 1), r, 0, 2 * math.pi, 20)),
                        jitter(rng, (100, 80, 45), 8),
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
    img = add_noise(img, rng, 5)
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
