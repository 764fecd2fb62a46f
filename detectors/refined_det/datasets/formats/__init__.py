"""Readers and writers for the DOTA v1.0 and HRSC2016 annotation formats.

Pure numpy/PIL (no mmcv), so the evaluator and the data tools can use them
without building a dataset. Every reader validates strictly: a bad file gives
one `AnnotationError` line naming the file and the line or field, instead of the
crash deep inside a training run (or the silent skip) the upstream loaders give.
"""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path

import numpy as np

DOTA_CLASSES: tuple[str, ...] = (
    "plane",
    "baseball-diamond",
    "bridge",
    "ground-track-field",
    "small-vehicle",
    "large-vehicle",
    "ship",
    "tennis-court",
    "basketball-court",
    "storage-tank",
    "soccer-ball-field",
    "roundabout",
    "harbor",
    "swimming-pool",
    "helicopter",
)


class AnnotationError(ValueError):
    """A dataset file is malformed: "<path>:<line>: <what>" or "<path>: field <name>: <what>"."""


class AnnotationWarning(UserWarning):
    """Something was skipped, as the official tools skip it (the message says what and where)."""


def read_text(path: str, error: type[Exception] = AnnotationError, encoding: str = "utf-8-sig") -> str:
    """A text file's content, or one ``error`` line naming the file and what is wrong with it (missing,
    not text, unreadable): the strict readers' common start (also the Task1 detections reader's)."""
    try:
        with open(path, encoding=encoding) as f:
            return f.read()
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except UnicodeDecodeError as err:
        raise error(f"{path}: not a text file ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise error(f"{path}: cannot read ({err.strerror})") from None


def parse_finite(token: str, what: str, where: str, error: type[Exception] = AnnotationError) -> float:
    """``token`` as a finite float, or one ``error`` line: ``WHERE: WHAT is 'x', not a (finite) number``."""
    try:
        value = float(token)
    except ValueError:
        raise error(f"{where}: {what} is {token!r}, not a number") from None
    if not math.isfinite(value):
        raise error(f"{where}: {what} is {token!r}, not a finite number")
    return value


def list_files(
    folder: str | os.PathLike, pattern: str, what: str, error: type[Exception] = AnnotationError
) -> list[Path]:
    """The files of `folder` matching `pattern`, sorted; a one-line error when there are none."""
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise error(f"{folder}: not a directory")
    files = sorted(Path(folder).glob(pattern))
    if not files:
        raise error(f"{folder}: no {what} ({pattern})")
    return files


def format_number(value: float) -> str:
    """Shortest text that reads back to the same float64 (no exponent), so writers round-trip."""
    return np.format_float_positional(float(value), trim="-")


# No image is this large; beyond it a coordinate is a typo or garbage (1e300 overflows areas to inf).
MAX_COORD = 1e6


def self_intersecting(poly: np.ndarray) -> bool:
    """True for a quadrilateral whose opposite edges cross (a "bow tie": corners out of order)."""
    p = np.asarray(poly, dtype=np.float64).reshape(4, 2)

    def cross(o, a, b) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    def crosses(a, b, c, d) -> bool:  # proper intersection of segments ab and cd
        return cross(a, b, c) * cross(a, b, d) < 0 and cross(c, d, a) * cross(c, d, b) < 0

    return crosses(p[0], p[1], p[2], p[3]) or crosses(p[1], p[2], p[3], p[0])


def polygon_area(polys: np.ndarray) -> np.ndarray:
    """Absolute shoelace area of (N, 8) quadrilaterals."""
    pts = np.asarray(polys, dtype=np.float64).reshape(-1, 4, 2)
    x, y = pts[..., 0], pts[..., 1]
    return 0.5 * np.abs(np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1))


def rbox_to_poly(rboxes: np.ndarray) -> np.ndarray:
    """(N, 5) (cx, cy, w, h, angle in rad) -> (N, 8) corners, the same corners as mmrotate's le90."""
    rb = np.asarray(rboxes, dtype=np.float64).reshape(-1, 5)
    cx, cy, w, h, a = rb.T
    cos, sin = np.cos(a), np.sin(a)
    v1 = np.stack([w / 2 * cos, w / 2 * sin], axis=1)
    v2 = np.stack([-h / 2 * sin, h / 2 * cos], axis=1)
    c = np.stack([cx, cy], axis=1)
    return np.concatenate([c - v1 - v2, c + v1 - v2, c + v1 + v2, c - v1 + v2], axis=1)


def check_image(path: str | os.PathLike, decode: bool = False) -> tuple[int, int]:
    """(width, height) of a readable image; AnnotationError if absent, not an image, or truncated.

    Without `decode` the check reads only the header and the file's end (PNG
    `IEND` chunk, BMP declared size, JPEG end marker), so a loader can run it over
    thousands of patches at start-up; `decode=True` decodes the pixels too.
    """
    from PIL import Image, UnidentifiedImageError

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise AnnotationError(f"{path}: image file is absent")
    try:
        with Image.open(path) as im:
            size, fmt = im.size, im.format
            if decode:
                im.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error) as err:
        raise AnnotationError(f"{path}: unreadable or truncated image ({err})") from None
    nbytes = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(6)
        f.seek(max(nbytes - 12, 0))
        tail = f.read(12)
    truncated = (
        (fmt == "PNG" and b"IEND" not in tail)
        or (fmt == "JPEG" and not tail.endswith(b"\xff\xd9"))
        or (fmt == "BMP" and nbytes < struct.unpack("<I", head[2:6])[0])
    )
    if truncated:
        raise AnnotationError(f"{path}: truncated image ({fmt}, {nbytes} bytes)")
    if size[0] <= 0 or size[1] <= 0:
        raise AnnotationError(f"{path}: image has size {size}")
    return size


# The readers import the names above, so they come last.
from .dota import DotaAnnotation, read_dota_dir, read_dota_label, write_dota_label  # noqa: E402
from .hrsc import HrscAnnotation, read_hrsc_dir, read_hrsc_split, read_hrsc_xml, read_image_set, write_hrsc_xml  # noqa: E402

__all__ = [
    "DOTA_CLASSES",
    "AnnotationError",
    "AnnotationWarning",
    "MAX_COORD",
    "format_number",
    "polygon_area",
    "self_intersecting",
    "rbox_to_poly",
    "check_image",
    "DotaAnnotation",
    "read_dota_label",
    "read_dota_dir",
    "write_dota_label",
    "HrscAnnotation",
    "read_hrsc_xml",
    "read_hrsc_dir",
    "read_hrsc_split",
    "read_image_set",
    "write_hrsc_xml",
]
