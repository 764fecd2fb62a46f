"""DOTA v1.0 `labelTxt` files: `imagesource:`/`gsd:` headers, then `x1 y1 ... x4 y4 class difficult`.

The devkit's parser skips short lines and crashes on a non-numeric coordinate;
mmrotate's loader silently drops what `poly2obb_np` rejects and crashes on an
unknown class. Here every row is checked and a bad one is one line naming
`path:line`. An empty file (or headers only) is legal: an image with no objects.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from . import (
    DOTA_CLASSES,
    MAX_COORD,
    AnnotationError,
    AnnotationWarning,
    format_number,
    list_files,
    polygon_area,
    read_text,
    self_intersecting,
)

Degenerate = Literal["skip", "error", "keep"]
# Below this area (px^2) a polygon has no inside: the devkit's splitter and mmrotate both drop it.
MIN_POLY_AREA = 1e-6


@dataclass
class DotaAnnotation:
    """The objects of one image. `difficulty` keeps the raw flag (0, 1, or 2 for "cut at a patch edge")."""

    polys: np.ndarray = field(default_factory=lambda: np.zeros((0, 8)))
    labels: list[str] = field(default_factory=list)
    difficulty: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))
    imagesource: str | None = None
    gsd: float | None = None

    def __post_init__(self) -> None:
        self.polys = np.asarray(self.polys, dtype=np.float64).reshape(-1, 8)
        self.difficulty = np.asarray(self.difficulty, dtype=np.int64).reshape(-1)
        self.labels = list(self.labels)
        if not len(self.polys) == len(self.labels) == len(self.difficulty):
            raise ValueError("polys, labels and difficulty must have the same length")

    @property
    def difficult(self) -> np.ndarray:
        """Boolean flags as the devkit evaluator uses them (any non-zero flag is difficult)."""
        return self.difficulty != 0

    def __len__(self) -> int:
        return len(self.labels)


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _parse_row(tokens: list[str], classes: frozenset[str], where: str) -> tuple[list[float], str, int]:
    """One object row -> (8 coordinates, class, difficulty), or AnnotationError."""
    n = len(tokens)
    if (n == 9 or n == 10) and tokens[8] in classes and (n == 9 or tokens[9].isdigit()):
        try:  # the well-formed row, without the per-token diagnosis below
            coords = [float(t) for t in tokens[:8]]
        except ValueError:
            pass
        else:
            if all(abs(v) <= MAX_COORD for v in coords):  # finite and within range (NaN fails too)
                return coords, tokens[8], int(tokens[9]) if n == 10 else 0
    return _diagnose_row(tokens, classes, where)


def _diagnose_row(tokens: list[str], classes: frozenset[str], where: str) -> tuple[list[float], str, int]:
    """`_parse_row` for a row that may be malformed: the first problem as one line."""
    first_word = next((i for i, t in enumerate(tokens) if not _is_number(t)), len(tokens))
    if first_word < 8:
        if tokens[first_word] in classes or first_word == len(tokens) - 2:
            raise AnnotationError(f"{where}: expected 8 coordinates before the class name, got {first_word}")
        raise AnnotationError(f"{where}: coordinate {first_word + 1} is {tokens[first_word]!r}, not a number")
    if len(tokens) not in (9, 10):
        raise AnnotationError(f'{where}: expected "x1 y1 x2 y2 x3 y3 x4 y4 class difficult", got {len(tokens)} fields')
    coords = [float(t) for t in tokens[:8]]
    bad = next((i for i, v in enumerate(coords) if not math.isfinite(v)), None)
    if bad is not None:
        raise AnnotationError(f"{where}: coordinate {bad + 1} is {tokens[bad]!r}, not a finite number")
    huge = next((i for i, v in enumerate(coords) if abs(v) > MAX_COORD), None)
    if huge is not None:
        raise AnnotationError(
            f"{where}: coordinate {huge + 1} is {tokens[huge]!r}, beyond ±{MAX_COORD:.0f} px (no image is that large)"
        )
    name = tokens[8]
    if name not in classes:
        raise AnnotationError(f"{where}: unknown class {name!r}")
    difficulty = 0
    if len(tokens) == 10:
        if not tokens[9].isdigit():
            raise AnnotationError(f"{where}: difficult flag is {tokens[9]!r}, not 0, 1 or 2")
        difficulty = int(tokens[9])
    return coords, name, difficulty


def read_dota_label(
    path: str | os.PathLike, classes: Iterable[str] = DOTA_CLASSES, degenerate: Degenerate = "skip"
) -> DotaAnnotation:
    """Parse one DOTA label file strictly.

    `degenerate` says what to do with a zero-area polygon: 'skip' (with an
    AnnotationWarning; the devkit's splitter and mmrotate's loader drop it too),
    'error', or 'keep' (the devkit evaluator keeps it as an unmatchable object).
    A self-intersecting polygon is an error, except with 'keep' (kept as given, as the
    devkit's evaluator keeps it).
    """
    path = os.fspath(path)
    allowed = frozenset(classes)
    polys, labels, diffs, linenos = [], [], [], []
    source: str | None = None
    gsd: float | None = None
    row_error: AnnotationError | None = None
    for lineno, raw in enumerate(read_text(path).splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        try:
            if line[0] in "iIgG":
                lower = line.lower()
                if lower.startswith("imagesource:"):
                    source = line.split(":", 1)[1].strip()
                    continue
                if lower.startswith("gsd:"):
                    gsd = _parse_gsd(line.split(":", 1)[1].strip(), f"{path}:{lineno}")
                    continue
            coords, name, difficulty = _parse_row(line.split(), allowed, f"{path}:{lineno}")
            # a corner-order error, whatever its signed area; 'keep' (the evaluator) takes the polygon as
            # given, as the devkit's evaluator does, so its scores stay the devkit's
            if degenerate != "keep" and self_intersecting(np.array(coords)):
                raise AnnotationError(
                    f"{path}:{lineno}: self-intersecting polygon (its corners are not in order around the object)"
                )
        except AnnotationError as err:
            row_error = err  # raised after the degenerate rows above it, as a row-by-row reader would
            break
        polys.append(coords)
        labels.append(name)
        diffs.append(difficulty)
        linenos.append(lineno)
    polys_arr = np.array(polys, dtype=np.float64).reshape(-1, 8)
    diffs_arr = np.array(diffs, dtype=np.int64)
    if degenerate != "keep" and len(polys_arr):
        flat = np.flatnonzero(polygon_area(polys_arr) <= MIN_POLY_AREA)
        if flat.size and degenerate == "error":
            raise AnnotationError(f"{path}:{linenos[flat[0]]}: degenerate polygon (zero area)")
        for i in flat:
            warnings.warn(
                f"{path}:{linenos[i]}: degenerate polygon (zero area) skipped", AnnotationWarning, stacklevel=2
            )
        if flat.size:
            keep = np.ones(len(polys_arr), dtype=bool)
            keep[flat] = False
            polys_arr, diffs_arr = polys_arr[keep], diffs_arr[keep]
            labels = [name for name, k in zip(labels, keep) if k]
    if row_error is not None:
        raise row_error
    return DotaAnnotation(polys_arr, labels, diffs_arr, source, gsd)


def _parse_gsd(value: str, where: str) -> float | None:
    if value.lower() in ("", "null", "none", "nan"):
        return None
    if _is_number(value) and math.isfinite(float(value)) and float(value) > 0:
        return float(value)
    raise AnnotationError(f"{where}: gsd is {value!r}, not a positive number or null")


def read_dota_dir(
    label_dir: str | os.PathLike, classes: Iterable[str] = DOTA_CLASSES, degenerate: Degenerate = "skip"
) -> dict[str, DotaAnnotation]:
    """{image_id: annotation} for every `*.txt` in a `labelTxt`/`annfiles` folder, sorted by id."""
    return {f.stem: read_dota_label(f, classes, degenerate) for f in list_files(label_dir, "*.txt", "label files")}


def write_dota_label(
    path: str | os.PathLike, ann: DotaAnnotation, header: bool = True, classes: Iterable[str] = DOTA_CLASSES
) -> None:
    """Write one label file; refuses what the reader would refuse, so output always reads back."""
    path = os.fspath(path)
    allowed = frozenset(classes)
    lines = []
    if header:
        lines.append(f"imagesource:{ann.imagesource or 'synthetic'}")
        lines.append(f"gsd:{format_number(ann.gsd) if ann.gsd else 'null'}")
    for i, (poly, name, diff) in enumerate(zip(ann.polys, ann.labels, ann.difficulty)):
        if name not in allowed or not np.isfinite(poly).all() or diff < 0:
            raise AnnotationError(f"{path}: object {i}: cannot write {name!r} {poly.tolist()} {diff}")
        lines.append(" ".join([*map(format_number, poly), name, str(int(diff))]))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + ("\n" if lines else ""))
