"""Ground truth for the evaluators, read with refined_det's strict format readers.

This is the one place that knows the annotation formats' Python API
(`refined_det.datasets.formats`); it turns their per-image annotations into the
evaluators' `{image_id: (polys, class_names, difficult)}` and their
`AnnotationError` into our `UserError`. DOTA labels are read keeping
zero-area polygons, as the devkit keeps them (an object nothing can match).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from detlab.errors import UserError

from .classes import DOTA_V1_CLASSES, HRSC_CLASSES
from .core import GroundTruth


def _formats():
    from refined_det.datasets import formats

    return formats


def read_image_set(path: str | os.PathLike) -> list[str]:
    """Image ids listed one per line (the devkit's `imagesetfile`)."""
    fmt = _formats()
    try:
        return [image_id for _, image_id in fmt.read_image_set(path)]
    except fmt.AnnotationError as err:
        raise UserError(str(err)) from None


def _files(ann_dir: str | os.PathLike, ext: str, image_ids: Sequence[str] | None) -> list[Path]:
    ann_dir = Path(ann_dir)
    if not ann_dir.is_dir():
        raise UserError(f"{ann_dir}: not a directory")
    if image_ids is None:
        files = sorted(ann_dir.glob(f"*{ext}"))
        if not files:
            raise UserError(f"{ann_dir}: no annotation files (*{ext})")
        return files
    files = [ann_dir / f"{image_id}{ext}" for image_id in image_ids]
    for f in files:
        if not f.is_file():
            raise UserError(f"{f}: no such file (image {f.stem!r} is in the image set)")
    return files


def load_dota_gts(
    ann_dir: str | os.PathLike, classes: Sequence[str] = DOTA_V1_CLASSES, image_ids: Sequence[str] | None = None
) -> GroundTruth:
    """{image_id: (polys, names, difficult)} from a DOTA `labelTxt` folder (all `*.txt`, or
    the listed images)."""
    fmt = _formats()
    out = {}
    for f in _files(ann_dir, ".txt", image_ids):
        try:
            ann = fmt.read_dota_label(f, classes=classes, degenerate="keep")
        except fmt.AnnotationError as err:
            raise UserError(str(err)) from None
        out[f.stem] = (ann.polys, list(ann.labels), np.asarray(ann.difficult, dtype=bool))
    return out


def load_hrsc_gts(ann_dir: str | os.PathLike, image_ids: Sequence[str] | None = None) -> GroundTruth:
    """{image_id: (polys, ['ship', ...], difficult)} from an HRSC2016 `Annotations` folder.

    Every object is a `ship` (mmrotate's HRSCDataset with classwise=False);
    polygons are the corners of the le90 rotated boxes, as mmrotate builds them.
    """
    fmt = _formats()
    out = {}
    for f in _files(ann_dir, ".xml", image_ids):
        try:
            ann = fmt.read_hrsc_xml(f)
        except fmt.AnnotationError as err:
            raise UserError(str(err)) from None
        out[f.stem] = (ann.polys, [HRSC_CLASSES[0]] * len(ann), np.asarray(ann.difficult, bool))
    return out
