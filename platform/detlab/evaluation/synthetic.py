"""Seeded DOTA-like evaluation cases, for the tests and `benchmarks/evaluate.py`.

A case has what makes evaluators disagree: difficult objects, rotated and
non-rectangular (also non-convex) quadrilaterals, integer-rounded labels,
duplicate and shifted detections, misses, false positives, detections labelled
with the wrong class, scores with ties, classes without detections and classes
without objects.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .classes import DOTA_V1_CLASSES
from .task1 import write_task1_dir


@dataclass
class Case:
    gts: dict[str, tuple[np.ndarray, list[str], np.ndarray]]
    dets: dict[str, tuple[list[str], np.ndarray, np.ndarray]]
    classes: list[str]


def _quads(rng: np.random.Generator, n: int, size: float) -> np.ndarray:
    """n objects in a size x size image: rotated rectangles, general convex and non-convex quads."""
    c = rng.uniform(0, size, (n, 2))
    w = rng.uniform(4, 80, n)
    h = w * rng.uniform(0.2, 1.0, n)
    a = rng.uniform(-np.pi, np.pi, n)
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    pts = corners[None] * np.stack([w, h], 1)[:, None]
    rot = np.stack([np.stack([np.cos(a), -np.sin(a)], 1), np.stack([np.sin(a), np.cos(a)], 1)], 1)
    pts = np.einsum("nij,nkj->nki", rot, pts)
    kind = rng.random(n)
    # general quads: move the corners independently (stays convex for small moves)
    general = kind < 0.35
    pts[general] += rng.normal(0, 0.08, (general.sum(), 4, 2)) * w[general, None, None]
    # non-convex ("dart"): pull one corner past the centre line
    dart = kind > 0.9
    k = rng.integers(0, 4, dart.sum())
    pts[np.flatnonzero(dart), k] *= -0.3
    pts = pts + c[:, None]
    return pts.reshape(n, 8)


def make_case(
    seed: int,
    num_images: int = 20,
    objects_per_image: tuple[int, int] = (5, 30),
    classes: Sequence[str] = DOTA_V1_CLASSES,
    image_size: float = 1024.0,
    classes_without_gt: int = 2,
    classes_without_dets: int = 2,
) -> Case:
    """A random case; the first `classes_without_gt` classes have detections but no objects,
    the last `classes_without_dets` have objects but no detections."""
    rng = np.random.default_rng(seed)
    classes = list(classes)
    gt_classes = classes[classes_without_gt:]
    det_classes = classes[: len(classes) - classes_without_dets]
    gts = {}
    rows: dict[str, list] = {c: [] for c in det_classes}
    for i in range(num_images):
        image_id = f"P{i:04d}"
        n = int(rng.integers(objects_per_image[0], objects_per_image[1] + 1)) if i % 7 else 0
        polys = _quads(rng, n, image_size)
        integer = rng.random(n) < 0.5
        polys[integer] = np.round(polys[integer])
        names = list(rng.choice(gt_classes, n, p=_skewed(len(gt_classes), rng)))
        difficult = rng.random(n) < 0.12
        if n > 1 and rng.random() < 0.3:  # a doubly labelled object
            polys[-1], names[-1] = polys[0], names[0]
        gts[image_id] = (polys, names, difficult)
        for poly, name in zip(polys, names):
            size = np.ptp(poly.reshape(4, 2), axis=0).max()
            for _ in range(rng.choice([0, 1, 1, 1, 1, 2, 3])):  # misses and duplicates
                noisy = poly + rng.normal(0, 0.04 * size, 8) + rng.normal(0, 0.04 * size, 1).repeat(8)
                label = name if rng.random() > 0.05 else rng.choice(classes)
                if label in rows:
                    rows[label].append((image_id, _score(rng), noisy))
                    if rng.random() < 0.05:  # an exact copy of the same detection
                        rows[label].append((image_id, _score(rng), noisy.copy()))
        for _ in range(int(rng.integers(0, 6))):  # false positives anywhere
            label = str(rng.choice(det_classes))
            rows[label].append((image_id, _score(rng), _quads(rng, 1, image_size)[0]))
    dets = {}
    for name, rs in rows.items():
        order = rng.permutation(len(rs))
        rs = [rs[k] for k in order]
        dets[name] = (
            [r[0] for r in rs],
            np.array([r[1] for r in rs], dtype=np.float64),
            np.array([r[2] for r in rs], dtype=np.float64).reshape(-1, 8),
        )
    return Case(gts, dets, classes)


def _skewed(k: int, rng: np.random.Generator) -> np.ndarray:
    p = rng.dirichlet(np.full(k, 0.7))
    return p / p.sum()


def _score(rng: np.random.Generator) -> float:
    s = rng.random()
    return round(s, 2) if rng.random() < 0.3 else s  # some exact ties


def write_dota_labels(label_dir: str | os.PathLike, gts) -> None:
    """DOTA `labelTxt` files (with the two header lines), float coordinates written exactly."""
    os.makedirs(label_dir, exist_ok=True)
    for image_id, (polys, names, difficult) in gts.items():
        lines = ["imagesource:synthetic", "gsd:null"]
        for poly, name, diff in zip(polys, names, difficult):
            lines.append(" ".join([*(repr(float(v)) for v in poly), str(name), str(int(diff))]))
        with open(os.path.join(label_dir, f"{image_id}.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")


def write_case(root: str | os.PathLike, case: Case) -> tuple[str, str, str]:
    """Write labels, Task1 files and an image set under root: (label_dir, det_dir, imageset)."""
    label_dir = os.path.join(root, "labelTxt")
    det_dir = os.path.join(root, "Task1")
    write_dota_labels(label_dir, case.gts)
    write_task1_dir(det_dir, case.dets, case.classes)
    imageset = os.path.join(root, "imageset.txt")
    with open(imageset, "w") as f:
        f.write("\n".join(case.gts) + "\n")
    return label_dir, det_dir, imageset
