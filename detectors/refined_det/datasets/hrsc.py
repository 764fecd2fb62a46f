"""`StrictHRSCDataset`: mmrotate's HRSCDataset, loading through the strict HRSC2016 reader.

Same constructor and results as `HRSCDataset` (boxes are HRSC's own
(cx, cy, w, h, angle) taken as le90, other versions via `poly2obb_np` of the
corners), except: an ImageSets line whose XML or BMP is absent, a truncated
image, a missing or non-numeric XML field, or an XML size that disagrees with
the image is one line naming it; and `ann_subdir` relative to the working
directory works (mmrotate joins it under `img_prefix`, issue open-mmlab/mmrotate#1004).
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
from mmrotate.core import poly2obb_np
from mmrotate.datasets.builder import ROTATED_DATASETS
from mmrotate.datasets.hrsc import HRSCDataset

from .formats import AnnotationError, AnnotationWarning, check_image, rbox_to_poly
from .formats.hrsc import read_hrsc_xml, read_image_set

CHECK_IMAGES = ("header", "full", "none")


def to_le90(rbox: np.ndarray) -> np.ndarray:
    """HRSC box -> le90 (w the long side, angle in [-pi/2, pi/2)); identity on HRSC2016's own boxes."""
    cx, cy, w, h, a = (float(v) for v in rbox)
    if w < h:
        w, h, a = h, w, a + math.pi / 2
    a = (a + math.pi / 2) % math.pi - math.pi / 2
    return np.array([cx, cy, w, h, a], np.float32)


@ROTATED_DATASETS.register_module()
class StrictHRSCDataset(HRSCDataset):
    """HRSC2016 with strict checks. `check_images`: 'header' (cheap), 'full' (decode) or 'none'."""

    def __init__(
        self,
        ann_file,
        pipeline,
        img_subdir="JPEGImages",
        ann_subdir="Annotations",
        classwise=False,
        version="oc",
        check_images: str = "header",
        **kwargs,
    ):
        if check_images not in CHECK_IMAGES:
            raise ValueError(f"check_images={check_images!r}: choose one of {CHECK_IMAGES}")
        self.check_images = check_images
        super().__init__(
            ann_file,
            pipeline,
            img_subdir=img_subdir,
            ann_subdir=ann_subdir,
            classwise=classwise,
            version=version,
            **kwargs,
        )

    def _ann_dir(self) -> str:
        """mmrotate's `img_prefix/ann_subdir`, else `ann_subdir` itself, else under `data_root`."""
        candidates = [os.path.join(self.img_prefix or "", self.ann_subdir), self.ann_subdir]
        if self.data_root:
            candidates.append(os.path.join(self.data_root, self.ann_subdir))
        for path in candidates:
            if os.path.isdir(path):
                return path
        raise AnnotationError(
            f"{self.ann_subdir}: annotation folder (ann_subdir) not found; tried {', '.join(dict.fromkeys(candidates))}"
        )

    def load_annotations(self, ann_file):
        """One data_info per ImageSets line, checked against its XML and its image."""
        ann_dir = self._ann_dir()
        data_infos, skipped = [], 0
        for lineno, img_id in read_image_set(ann_file):
            where = f"{ann_file}:{lineno}"
            xml = os.path.join(ann_dir, f"{img_id}.xml")
            img = os.path.join(self.img_prefix or "", f"{img_id}.bmp")
            if not os.path.isfile(xml):
                raise AnnotationError(f"{where}: image {img_id!r} listed but its annotation {xml} is absent")
            if not os.path.isfile(img):
                raise AnnotationError(f"{where}: image {img_id!r} listed but {img} is absent")
            ann = read_hrsc_xml(xml)
            if self.check_images != "none":
                size = check_image(img, decode=self.check_images == "full")
                if size != (ann.width, ann.height):
                    raise AnnotationError(
                        f"{xml}: field Img_SizeWidth/Img_SizeHeight: "
                        f"{ann.width}x{ann.height} but {img} is {size[0]}x{size[1]}"
                    )
            bboxes, labels, polys, heads = [], [], [], []
            for rbox, class_id, head in zip(ann.rboxes, ann.class_ids, ann.headers):
                label = self.catid2label.get(class_id) if self.classwise else 0
                bbox = to_le90(rbox)
                poly = rbox_to_poly(bbox)[0].astype(np.float32)
                if self.version != "le90":
                    bbox = poly2obb_np(poly, self.version)
                if label is None or bbox is None:  # class outside the 31 / side under 2 px
                    skipped += 1
                    continue
                bboxes.append(np.asarray(bbox, np.float32))
                labels.append(label)
                polys.append(poly)
                heads.append(np.round(head))
            data_infos.append(
                dict(
                    filename=f"{img_id}.bmp",
                    width=ann.width,
                    height=ann.height,
                    ann=dict(
                        bboxes=np.array(bboxes, np.float32).reshape(-1, 5),
                        labels=np.array(labels, np.int64),
                        polygons=np.array(polys, np.float32).reshape(-1, 8),
                        headers=np.array(heads, np.int64).reshape(-1, 2),
                        bboxes_ignore=np.zeros((0, 5), np.float32),
                        labels_ignore=np.array([], np.int64),
                        polygons_ignore=np.zeros((0, 8), np.float32),
                        headers_ignore=np.zeros((0, 2), np.float32),
                    ),
                )
            )
        if skipped:
            warnings.warn(
                f"{ann_file}: {skipped} objects skipped (class not in the classwise list "
                f"or a side under 2 px, as mmrotate does)",
                AnnotationWarning,
                stacklevel=2,
            )
        return data_infos
