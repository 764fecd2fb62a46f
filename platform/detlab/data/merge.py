"""Merge patch detections back into full DOTA images and write the Task1 submission.

Input: patch-level Task1 files (`<id>__<size>__<x>___<y>` image ids, as the
devkit's ResultMerge takes), or an mmdet results pickle over a split folder.
Each detection is shifted by its patch offset; per image and class, duplicates
from overlapping patches are removed by rotated NMS (mmcv `nms_rotated`, CPU or
CUDA; IoU 0.1 as mmrotate's `merge_det`). Output: `Task1_<class>.txt` for all
classes plus `<out name>.zip`, the archive the DOTA server takes.
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from detlab.atomic import atomic_output_dir
from detlab.errors import UserError
from detlab.evaluation.task1 import read_task1_dir, write_task1_dir
from refined_det.datasets.formats import DOTA_CLASSES, rbox_to_poly

PATCH_ID = re.compile(r"^(?P<image>.+)__(?P<size>\d+)__(?P<x>\d+)___(?P<y>\d+)$")
# {class: (image_ids, scores (N,), polys (N, 8))}, the evaluator's detection format
ClassDets = tuple[list[str], np.ndarray, np.ndarray]


def parse_patch_id(patch_id: str) -> tuple[str, int, int]:
    """`P0001__1024__824___0` -> ('P0001', 824, 0)."""
    m = PATCH_ID.match(patch_id)
    if m is None:
        raise UserError(f"{patch_id!r} is not a patch id <image>__<size>__<x>___<y>")
    return m["image"], int(m["x"]), int(m["y"])


def polys_to_rboxes(polys: np.ndarray) -> np.ndarray:
    """(N, 8) -> (N, 5) le90 minimum-area boxes (angles in radians), as mmrotate's poly2obb_np."""
    out = np.zeros((len(polys), 5), np.float32)
    for i, p in enumerate(np.asarray(polys, np.float32).reshape(-1, 4, 2)):
        (cx, cy), (w, h), deg = cv2.minAreaRect(p)
        a = np.deg2rad(deg)
        if w < h:
            w, h, a = h, w, a + np.pi / 2
        out[i] = cx, cy, max(w, 1e-3), max(h, 1e-3), (a + np.pi / 2) % np.pi - np.pi / 2
    return out


def nms_polys(polys: np.ndarray, scores: np.ndarray, iou_thr: float) -> np.ndarray:
    """Indices kept by rotated NMS, best score first."""
    if len(polys) == 0:
        return np.zeros(0, np.int64)
    boxes = torch.from_numpy(polys_to_rboxes(polys))
    if torch.cuda.is_available():
        boxes = boxes.cuda()
    from mmcv.ops import nms_rotated

    _, keep = nms_rotated(boxes, torch.as_tensor(scores, dtype=torch.float32, device=boxes.device), iou_thr)
    return keep.cpu().numpy().astype(np.int64)


def merge_class(image_ids: Sequence[str], scores: np.ndarray, polys: np.ndarray, iou_thr: float = 0.1) -> ClassDets:
    """One class's patch detections -> full-image detections after per-image NMS."""
    groups: dict[str, list[int]] = defaultdict(list)
    shifted = np.array(polys, np.float64).reshape(-1, 8)
    for i, pid in enumerate(image_ids):
        image, x, y = parse_patch_id(pid)
        shifted[i] += np.tile([x, y], 4)
        groups[image].append(i)
    ids, out_scores, out_polys = [], [], []
    for image in sorted(groups):
        idx = np.array(groups[image])
        keep = idx[nms_polys(shifted[idx], np.asarray(scores)[idx], iou_thr)]
        ids += [image] * len(keep)
        out_scores.append(np.asarray(scores, np.float64)[keep])
        out_polys.append(shifted[keep])
    cat = lambda xs, shape: np.concatenate(xs) if xs else np.zeros(shape)
    return ids, cat(out_scores, (0,)), cat(out_polys, (0, 8))


def merge_detections(
    patch_dets: Mapping[str, ClassDets], iou_thr: float = 0.1, progress: bool = False
) -> dict[str, ClassDets]:
    """{class: patch detections} -> {class: full-image detections}."""
    return {
        name: merge_class(dets[0], dets[1], dets[2], iou_thr=iou_thr)
        for name, dets in tqdm(patch_dets.items(), desc="merge", disable=not progress)
    }


def load_results_pickle(
    path: str | os.PathLike, split_dir: str | os.PathLike, classes: Sequence[str] = DOTA_CLASSES
) -> dict[str, ClassDets]:
    """mmdet results (per patch, per class (n, 6) rboxes + score) -> patch-level detections.

    The patches are those of `split_dir` in sorted order, the order StrictDOTADataset uses.
    """
    try:
        with open(path, "rb") as f:
            results = pickle.load(f)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        ImportError,
        IndexError,
        KeyError,
    ) as err:
        raise UserError(f"{path}: not a results pickle ({type(err).__name__}: {err})") from None
    if not isinstance(results, (list, tuple)):
        raise UserError(
            f"{path}: not a results pickle (holds a {type(results).__name__}, expected a list with one entry per patch)"
        )
    split_dir = Path(split_dir)
    folder = split_dir / "annfiles" if (split_dir / "annfiles").is_dir() else split_dir / "images"
    if not folder.is_dir():
        raise UserError(f"--split-dir {split_dir}: no annfiles/ or images/ folder (not a split output)")
    patch_ids = sorted(p.stem for p in folder.iterdir() if not p.name.startswith("."))
    if len(results) != len(patch_ids):
        raise UserError(f"{path}: {len(results)} results but {folder} has {len(patch_ids)} patches")
    dets: dict[str, tuple[list, list, list]] = {c: ([], [], []) for c in classes}
    for k, (pid, per_class) in enumerate(zip(patch_ids, results)):
        if len(per_class) != len(classes):
            raise UserError(f"{path}: result {k} ({pid}) has {len(per_class)} classes, expected {len(classes)}")
        for name, arr in zip(classes, per_class):
            try:
                arr = np.asarray(arr, np.float64).reshape(-1, 6)
            except (ValueError, TypeError):
                raise UserError(
                    f"{path}: result {k} ({pid}), class {name}: not an (n, 6) array of rotated boxes and scores"
                ) from None
            dets[name][0].extend([pid] * len(arr))
            dets[name][1].append(arr[:, 5])
            dets[name][2].append(rbox_to_poly(arr[:, :5]))
    return {
        c: (ids, np.concatenate(s) if s else np.zeros(0), np.concatenate(p) if p else np.zeros((0, 8)))
        for c, (ids, s, p) in dets.items()
    }


def write_submission(
    out: Path, dets: Mapping[str, ClassDets], zip_name: str, classes: Sequence[str] = DOTA_CLASSES
) -> Path:
    """`Task1_<class>.txt` for every class (numbers written exactly) and `zip_name` holding them."""
    paths = write_task1_dir(out, dets, classes)
    archive = out / zip_name
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for p in paths:
            z.write(p, p.name)
    return archive


def merge_to_submission(
    dets_path: str | os.PathLike,
    out: str | os.PathLike,
    split_dir: str | os.PathLike | None = None,
    iou_thr: float = 0.1,
    classes: Sequence[str] = DOTA_CLASSES,
    overwrite: bool = False,
    progress: bool = True,
) -> dict:
    """The `detlab data merge` job: read patch detections, merge, write the submission folder."""
    dets_path = Path(dets_path)
    if not 0 < iou_thr < 1:
        raise UserError(f"--iou-thr {iou_thr}: must be in (0, 1)")
    if dets_path.is_dir():
        found, _missing = read_task1_dir(dets_path, classes)
        patch_dets = {name: found[name].as_tuple() for name in found}
    elif dets_path.suffix in (".pkl", ".pickle"):
        if split_dir is None:
            raise UserError("--split-dir is needed with a results pickle (the patch order)")
        patch_dets = load_results_pickle(dets_path, split_dir, classes)
    else:
        raise UserError(f"{dets_path}: expected a folder of Task1_<class>.txt or a results .pkl")
    merged = merge_detections(patch_dets, iou_thr, progress)
    meta = dict(
        tool="detlab data merge",
        dets=str(dets_path.absolute()),
        iou_thr=iou_thr,
        detections={c: len(merged[c][0]) for c in merged},
    )
    with atomic_output_dir(out, overwrite, meta) as root:
        meta["zip"] = zip_name = f"{Path(out).name}.zip"
        write_submission(root, merged, zip_name, classes)
    return meta
