"""DOTA Task1 detection files: `Task1_<class>.txt`, one `image_id score x1 y1 ... x4 y4` per line.

The devkit trusts these files and fails far from the cause (or quietly
misreads a row with a missing field); here a bad row is an error naming
`file:line`. An empty file is legal: the class has no detections. Row order is
kept, since the devkit's sort breaks score ties by it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detlab.atomic import atomic_write_text
from detlab.errors import UserError
from refined_det.datasets.formats import parse_finite, read_text

PREFIX = "Task1_"
FIELDS = "image_id score x1 y1 x2 y2 x3 y3 x4 y4"


@dataclass
class Task1Detections:
    """One class's rows, in file order; `lines` are 1-based line numbers for error messages."""

    path: str
    image_ids: list[str] = field(default_factory=list)
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    polys: np.ndarray = field(default_factory=lambda: np.zeros((0, 8)))
    lines: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def as_tuple(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The evaluators' per-class detection entry."""
        return self.image_ids, self.scores, self.polys

    def __len__(self) -> int:
        return len(self.image_ids)


def read_task1_file(path: str | os.PathLike) -> Task1Detections:
    """Parse one Task1 file strictly (blank lines are skipped)."""
    path = os.fspath(path)
    text = read_text(path, UserError, encoding="utf-8")
    numbered = [(n, raw.split()) for n, raw in enumerate(text.splitlines(), 1)]
    numbered = [(n, tokens) for n, tokens in numbered if tokens]
    if not numbered:
        return Task1Detections(path)
    values = _parse_fast(numbered)
    if values is None:
        values = _parse_slow(path, numbered)
    lines = np.array([n for n, _ in numbered], dtype=np.int64)
    return Task1Detections(
        path, [tokens[0] for _, tokens in numbered], values[:, 0].copy(), values[:, 1:].copy(), lines
    )


def _parse_fast(numbered: list[tuple[int, list[str]]]) -> np.ndarray | None:
    """(M, 9) score and coordinates if numpy reads every row, else None."""
    if any(len(tokens) != 10 for _, tokens in numbered):
        return None
    try:
        values = np.array([tokens[1:] for _, tokens in numbered], dtype=np.float64)
    except ValueError:
        return None
    return values if np.isfinite(values).all() else None


def _parse_slow(path: str, numbered: list[tuple[int, list[str]]]) -> np.ndarray:
    """Row by row with float(): the first bad row is an error naming its line."""
    values = []
    for lineno, tokens in numbered:
        where = f"{path}:{lineno}"
        if len(tokens) != 10:
            raise UserError(f'{where}: expected 10 fields "{FIELDS}", got {len(tokens)}')
        row = [parse_finite(tokens[1], "score", where, UserError)]
        row += [
            parse_finite(t, f"coordinate {FIELDS.split()[k + 2]}", where, UserError) for k, t in enumerate(tokens[2:])
        ]
        values.append(row)
    return np.array(values, dtype=np.float64).reshape(-1, 9)


def read_task1_dir(det_dir: str | os.PathLike, classes: Sequence[str]) -> tuple[dict[str, Task1Detections], list[str]]:
    """({class: detections}, [classes whose file is absent]) for `Task1_<class>.txt` in det_dir.

    An absent file means no detections for that class (the devkit would crash);
    the caller decides whether to warn.
    """
    det_dir = os.fspath(det_dir)
    if not os.path.isdir(det_dir):
        raise UserError(f"{det_dir}: not a directory")
    found, missing = {}, []
    for name in classes:
        path = os.path.join(det_dir, f"{PREFIX}{name}.txt")
        if os.path.isfile(path):
            found[name] = read_task1_file(path)
        else:
            missing.append(name)
    if len(missing) == len(classes):
        raise UserError(f"{det_dir}: no detection files {PREFIX}<class>.txt for any of {', '.join(classes)}")
    return found, missing


def check_image_ids(dets: Mapping[str, Task1Detections], known: Iterable[str], ann_dir: str) -> None:
    """A row naming an image without annotation is an error at its file and line."""
    known = set(known)
    for d in dets.values():
        for image_id, lineno in zip(d.image_ids, d.lines):
            if image_id not in known:
                raise UserError(f"{d.path}:{lineno}: image {image_id!r} has no annotation in {ann_dir}")


def format_rows(image_ids: Sequence[str], scores: np.ndarray, polys: np.ndarray, precision: int | None = None) -> str:
    """Task1 rows; `precision=None` writes each float exactly (shortest round-trip form)."""
    fmt = repr if precision is None else (lambda v: f"{v:.{precision}f}")
    out = []
    for image_id, score, poly in zip(
        image_ids, np.asarray(scores, dtype=np.float64), np.asarray(polys, dtype=np.float64).reshape(-1, 8)
    ):
        if not str(image_id) or any(c.isspace() for c in str(image_id)):
            raise UserError(f"image id {image_id!r} cannot be written to a Task1 file")
        out.append(" ".join([str(image_id), fmt(float(score)), *(fmt(float(v)) for v in poly)]))
    return "".join(line + "\n" for line in out)


def write_task1_dir(
    det_dir: str | os.PathLike, dets: Mapping[str, tuple], classes: Sequence[str], precision: int | None = None
) -> list[Path]:
    """Write `Task1_<class>.txt` for every class (empty when it has no detections), atomically."""
    det_dir = Path(det_dir)
    det_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in classes:
        entry = dets.get(name)
        if isinstance(entry, Task1Detections):
            entry = entry.as_tuple()
        if entry is None:
            text = ""
        else:
            ids, scores, polys = entry
            text = format_rows(ids, scores, polys, precision=precision)
        path = det_dir / f"{PREFIX}{name}.txt"
        atomic_write_text(path, text)
        paths.append(path)
    return paths
