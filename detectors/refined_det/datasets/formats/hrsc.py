"""HRSC2016: `FullDataSet/Annotations/<id>.xml`, `FullDataSet/AllImages/<id>.bmp`, `ImageSets/<split>.txt`.

Each `HRSC_Objects/HRSC_Object` holds a rotated box `mbox_cx, mbox_cy, mbox_w,
mbox_h, mbox_ang` (angle in radians; mmrotate reads it as le90 as is) and a
`difficult` flag. mmrotate's loader dies with "'NoneType' object has no attribute
'text'" on a missing field and only fails on a missing image mid-training; here
each problem is one line naming the file and the field, or the ImageSets line.
"""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import MAX_COORD, AnnotationError, check_image, format_number, list_files, rbox_to_poly

BOX_FIELDS = ("mbox_cx", "mbox_cy", "mbox_w", "mbox_h", "mbox_ang")
SHIP_CLASS_ID = "100000001"  # HRSC's level-1 "ship" class


@dataclass
class HrscAnnotation:
    """One image's ships. `rboxes` are HRSC's own (cx, cy, w, h, angle rad), as in the file."""

    image_id: str
    width: int
    height: int
    rboxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 5)))
    difficult: np.ndarray = field(default_factory=lambda: np.zeros((0,), bool))
    class_ids: list[str] = field(default_factory=list)
    headers: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    def __post_init__(self) -> None:
        self.rboxes = np.asarray(self.rboxes, dtype=np.float64).reshape(-1, 5)
        self.difficult = np.asarray(self.difficult, dtype=bool).reshape(-1)
        self.headers = np.asarray(self.headers, dtype=np.float64).reshape(-1, 2)
        self.class_ids = list(self.class_ids) or [SHIP_CLASS_ID] * len(self.rboxes)
        if not len(self.rboxes) == len(self.difficult) == len(self.class_ids) == len(self.headers):
            raise ValueError("rboxes, difficult, class_ids and headers must have the same length")

    @property
    def polys(self) -> np.ndarray:
        """(N, 8) corners of the rotated boxes."""
        return rbox_to_poly(self.rboxes)

    def __len__(self) -> int:
        return len(self.rboxes)


def _text(node: ET.Element, name: str, path: str, where: str, required: bool = True) -> str | None:
    child = node.find(name)
    if child is None or child.text is None or not child.text.strip():
        if required:
            raise AnnotationError(f"{path}: field {name}: missing{where}")
        return None
    return child.text.strip()


def _number(node: ET.Element, name: str, path: str, where: str) -> float:
    value = _maybe_number(node, name, path, where, required=True)
    assert value is not None  # a required field that is absent raised in _text
    return value


def _maybe_number(node: ET.Element, name: str, path: str, where: str, required: bool = True) -> float | None:
    text = _text(node, name, path, where, required)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise AnnotationError(f"{path}: field {name}: {text!r} is not a finite number{where}")
    if abs(value) > MAX_COORD:
        raise AnnotationError(
            f"{path}: field {name}: {text!r} is beyond ±{MAX_COORD:.0f} (no image is that large){where}"
        )
    return value


def read_hrsc_xml(path: str | os.PathLike) -> HrscAnnotation:
    """Parse one HRSC2016 annotation strictly (sizes, every box field, `difficult`)."""
    path = os.fspath(path)
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise AnnotationError(f"{path}: no such file") from None
    except ET.ParseError as err:
        raise AnnotationError(f"{path}:{err.position[0]}: malformed XML ({err})") from None
    except OSError as err:
        raise AnnotationError(f"{path}: cannot read ({err.strerror})") from None
    sizes = []
    for name in ("Img_SizeWidth", "Img_SizeHeight"):
        value = _number(root, name, path, "")
        if value <= 0 or value != int(value):
            raise AnnotationError(f"{path}: field {name}: {value} is not a positive integer")
        sizes.append(int(value))
    rboxes, difficult, class_ids, headers = [], [], [], []
    for k, obj in enumerate(root.findall("HRSC_Objects/HRSC_Object"), 1):
        where = f" (HRSC_Object {k})"
        box = [_number(obj, name, path, where) for name in BOX_FIELDS]
        if box[2] <= 0 or box[3] <= 0:
            raise AnnotationError(f"{path}: field mbox_w/mbox_h: degenerate box {box[2]} x {box[3]}{where}")
        flag = _text(obj, "difficult", path, where)
        if flag not in ("0", "1"):
            raise AnnotationError(f"{path}: field difficult: {flag!r} is not 0 or 1{where}")
        hx = _maybe_number(obj, "header_x", path, where, required=False)
        hy = _maybe_number(obj, "header_y", path, where, required=False)
        if hx is None or hy is None:  # no bow point given: take the +w end of the box
            hx = box[0] + box[2] / 2 * math.cos(box[4])
            hy = box[1] + box[2] / 2 * math.sin(box[4])
        rboxes.append(box)
        difficult.append(flag == "1")
        class_ids.append(_text(obj, "Class_ID", path, where, required=False) or SHIP_CLASS_ID)
        headers.append((hx, hy))
    image_id = _text(root, "Img_ID", path, "", required=False) or Path(path).stem
    return HrscAnnotation(
        image_id,
        sizes[0],
        sizes[1],
        np.array(rboxes).reshape(-1, 5),
        np.array(difficult, bool),
        class_ids,
        np.array(headers).reshape(-1, 2),
    )


def read_hrsc_dir(ann_dir: str | os.PathLike) -> dict[str, HrscAnnotation]:
    """{image_id: annotation} for every `*.xml` in an Annotations folder, sorted by id."""
    return {f.stem: read_hrsc_xml(f) for f in list_files(ann_dir, "*.xml", "annotation files")}


def read_image_set(path: str | os.PathLike) -> list[tuple[int, str]]:
    """(line number, image id) of an ImageSets file; blank lines skipped, duplicates refused."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8-sig") as f:
            lines = f.read().splitlines()
    except OSError as err:
        raise AnnotationError(f"{path}: cannot read ({err.strerror})") from None
    seen: dict[str, int] = {}
    out = []
    for lineno, line in enumerate(lines, 1):
        image_id = line.strip()
        if not image_id:
            continue
        if image_id in seen:
            raise AnnotationError(f"{path}:{lineno}: image {image_id!r} already listed on line {seen[image_id]}")
        seen[image_id] = lineno
        out.append((lineno, image_id))
    return out


def read_hrsc_split(root: str | os.PathLike, split: str, check_images: bool = True) -> dict[str, HrscAnnotation]:
    """{image_id: annotation} for `ImageSets/<split>.txt` under an HRSC2016 root, in list order.

    A listed image whose XML or BMP is absent is an error naming the ImageSets line.
    """
    root = Path(root)
    set_file = root / "ImageSets" / f"{split}.txt"
    if not set_file.is_file():
        raise AnnotationError(f"{set_file}: no such file (split {split!r})")
    out = {}
    for lineno, image_id in read_image_set(set_file):
        xml = root / "FullDataSet" / "Annotations" / f"{image_id}.xml"
        img = root / "FullDataSet" / "AllImages" / f"{image_id}.bmp"
        if not xml.is_file():
            raise AnnotationError(f"{set_file}:{lineno}: image {image_id!r} listed but its annotation {xml} is absent")
        if check_images:
            if not img.is_file():
                raise AnnotationError(f"{set_file}:{lineno}: image {image_id!r} listed but {img} is absent")
            check_image(img)
        out[image_id] = read_hrsc_xml(xml)
    return out


def write_hrsc_xml(path: str | os.PathLike, ann: HrscAnnotation) -> None:
    """Write an annotation with the fields the real HRSC2016 files carry."""
    root = ET.Element("HRSC_Image")
    for name, value in (
        ("Img_ID", ann.image_id),
        ("Img_FileName", ann.image_id),
        ("Img_FileFmt", "bmp"),
        ("Img_SizeWidth", ann.width),
        ("Img_SizeHeight", ann.height),
        ("Img_SizeDepth", 3),
    ):
        ET.SubElement(root, name).text = str(value)
    objects = ET.SubElement(root, "HRSC_Objects")
    polys = ann.polys
    for k in range(len(ann)):
        if not np.isfinite(ann.rboxes[k]).all() or (ann.rboxes[k, 2:4] <= 0).any():
            raise AnnotationError(f"{path}: object {k}: cannot write box {ann.rboxes[k].tolist()}")
        obj = ET.SubElement(objects, "HRSC_Object")
        xs, ys = polys[k, 0::2], polys[k, 1::2]
        fields: list[tuple[str, object]] = [
            ("Object_ID", ann.image_id + f"{k:03d}"),
            ("Class_ID", ann.class_ids[k]),
            ("Object_NO", k + 1),
            ("truncated", 0),
            ("difficult", int(ann.difficult[k])),
            ("box_xmin", int(xs.min())),
            ("box_ymin", int(ys.min())),
            ("box_xmax", int(math.ceil(xs.max()))),
            ("box_ymax", int(math.ceil(ys.max()))),
        ]
        fields += [(name, format_number(v)) for name, v in zip(BOX_FIELDS, ann.rboxes[k])]
        fields += [("header_x", int(round(ann.headers[k, 0]))), ("header_y", int(round(ann.headers[k, 1])))]
        for name, field_value in fields:
            ET.SubElement(obj, name).text = str(field_value)
    ET.indent(root)
    ET.ElementTree(root).write(os.fspath(path), encoding="utf-8", xml_declaration=True)
