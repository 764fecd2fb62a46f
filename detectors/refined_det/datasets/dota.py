"""`StrictDOTADataset`: mmrotate's DOTADataset, loading through the strict DOTA reader.

Same constructor and behaviour as `DOTADataset` (le90/oc/le135 via mmrotate's
`poly2obb_np`, the `difficulty` threshold, 0-byte label files dropped when
`filter_empty_gt`, a folder of only `*.png` as a test set), except that a
malformed label file or a missing/truncated image stops loading with one line
naming it, files are read in sorted order (mmrotate uses glob order, so results
pickles are not reproducible across machines), and `img_ids` follows filtering.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from mmrotate.core import poly2obb_np
from mmrotate.datasets.builder import ROTATED_DATASETS
from mmrotate.datasets.dota import DOTADataset

from .formats import AnnotationError, AnnotationWarning, check_image, read_dota_label

CHECK_IMAGES = ("header", "full", "none")


def _ann(bboxes: list, labels: list, polys: list) -> dict:
    return dict(
        bboxes=np.array(bboxes, np.float32).reshape(-1, 5),
        labels=np.array(labels, np.int64),
        polygons=np.array(polys, np.float32).reshape(-1, 8),
        bboxes_ignore=np.zeros((0, 5), np.float32),
        labels_ignore=np.array([], np.int64),
        polygons_ignore=np.zeros((0, 8), np.float32),
    )


@ROTATED_DATASETS.register_module()
class StrictDOTADataset(DOTADataset):
    """DOTA v1.0 patches (or full images) with strict annotation and image checks.

    Args (beyond DOTADataset's):
        check_images: 'header' (exists, header and end of file: cheap), 'full'
            (decode every image) or 'none'.
    """

    def __init__(self, ann_file, pipeline, version="oc", difficulty=100, check_images: str = "header", **kwargs):
        if check_images not in CHECK_IMAGES:
            raise ValueError(f"check_images={check_images!r}: choose one of {CHECK_IMAGES}")
        self.check_images = check_images
        super().__init__(ann_file, pipeline, version=version, difficulty=difficulty, **kwargs)
        self.img_ids = [info["filename"][:-4] for info in self.data_infos]

    def _check_image(self, name: str) -> None:
        if self.check_images != "none":
            check_image(os.path.join(self.img_prefix or "", name), decode=self.check_images == "full")

    def load_annotations(self, ann_folder):
        """Read every `*.txt` of `ann_folder` strictly; a folder of only `*.png` is a test set."""
        folder = Path(ann_folder)
        if not folder.is_dir():
            raise AnnotationError(f"{ann_folder}: not a directory (ann_file must be a labelTxt or annfiles folder)")
        cls_map = {c: i for i, c in enumerate(self.CLASSES)}
        files = sorted(folder.glob("*.txt"))
        if not files:  # test phase, as in mmrotate: ann_file is the image folder
            images = sorted(folder.glob("*.png"))
            if not images:
                raise AnnotationError(f"{ann_folder}: no label files (*.txt) and no images (*.png)")
            return [dict(filename=p.name, ann=_ann([], [], [])) for p in images]
        data_infos, empty, tiny = [], 0, 0
        for path in files:
            if path.stat().st_size == 0 and self.filter_empty_gt:
                empty += 1
                continue
            ann = read_dota_label(path, self.CLASSES)
            name = path.stem + ".png"
            self._check_image(name)
            bboxes, labels, polys = [], [], []
            for poly, cls, diff in zip(ann.polys, ann.labels, ann.difficulty):
                if diff > self.difficulty:
                    continue
                poly = poly.astype(np.float32)
                obb = poly2obb_np(poly, self.version)
                if obb is None:  # a side under 2 px: mmrotate drops it silently
                    tiny += 1
                    continue
                bboxes.append(obb)
                labels.append(cls_map[cls])
                polys.append(poly)
            data_infos.append(dict(filename=name, ann=_ann(bboxes, labels, polys)))
        if empty:
            warnings.warn(
                f"{ann_folder}: {empty} empty label files skipped (filter_empty_gt, as mmrotate does)",
                AnnotationWarning,
                stacklevel=2,
            )
        if tiny:
            warnings.warn(
                f"{ann_folder}: {tiny} objects with a side under 2 px skipped (as mmrotate does)",
                AnnotationWarning,
                stacklevel=2,
            )
        return data_infos
