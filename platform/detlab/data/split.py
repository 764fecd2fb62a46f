"""Split large DOTA images into patches, with MMRotate `img_split` semantics.

Windows: for each rate r, size/r wide with gap/r overlap, the last window of a
row/column pulled back inside the image, windows with less than `img_rate_thr`
of image inside dropped. Objects: kept in a window when the part inside
(intersection area / object area, "iof") is at least `iof_thr`; kept unclipped,
and flagged difficult `2` when not wholly inside, as MMRotate writes them.
Patch `<id>__<size>__<x>___<y>.png` is padded to the full window size.
Output: `images/` and (with labels) `annfiles/`, all or nothing (atomic.py).
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import shapely
from tqdm import tqdm

from detlab.atomic import atomic_output_dir
from detlab.data import imwrite, process_pool
from detlab.errors import UserError
from refined_det.datasets.formats import (
    AnnotationWarning,
    DotaAnnotation,
    check_image,
    read_dota_label,
    write_dota_label,
)

IMAGE_EXTS = (".png", ".jpg", ".tif", ".bmp")
TRUNCATED = 2  # the difficulty MMRotate writes for an object cut by the window edge


@dataclass(frozen=True)
class SplitConfig:
    """MMRotate's `ss_*.json` defaults; `rates=(0.5, 1.0, 1.5)` (gap 500) is its multi-scale set."""

    size: int = 1024
    gap: int = 200
    rates: tuple[float, ...] = (1.0,)
    img_rate_thr: float = 0.6
    iof_thr: float = 0.7
    padding: bool = True
    padding_value: tuple[int, ...] = (104, 116, 124)
    ext: str = ".png"

    def __post_init__(self) -> None:
        if not self.rates or min(self.rates) <= 0:
            raise UserError(f"--rates {self.rates}: need positive rates")
        for size, gap in self.sizes_gaps():
            if not 0 <= gap < size:
                raise UserError(f"--size/--gap: window {size} with gap {gap}: need 0 <= gap < size")
        if not 0 <= self.iof_thr <= 1 or not 0 <= self.img_rate_thr <= 1:
            raise UserError("--iof-thr and --img-rate-thr must be in [0, 1]")
        if self.ext not in IMAGE_EXTS:
            raise UserError(f"--ext {self.ext}: choose one of {', '.join(IMAGE_EXTS)}")
        if len(self.padding_value) not in (1, 3):
            raise UserError("--padding-value takes 1 or 3 numbers")

    def sizes_gaps(self) -> list[tuple[int, int]]:
        """The rate only scales the window (the image is not resized), as in MMRotate."""
        return [(int(self.size / r), int(self.gap / r)) for r in self.rates]


def _starts(length: int, size: int, step: int) -> list[int]:
    n = 1 if length <= size else math.ceil((length - size) / step + 1)
    starts = [step * i for i in range(n)]
    if len(starts) > 1 and starts[-1] + size > length:
        starts[-1] = length - size
    return starts


def sliding_windows(width: int, height: int, cfg: SplitConfig) -> np.ndarray:
    """(K, 4) int64 windows x0, y0, x1, y1 covering the image, in MMRotate's order."""
    starts: list[tuple[int, int, int, int]] = []
    for size, gap in cfg.sizes_gaps():
        xs, ys = _starts(width, size, size - gap), _starts(height, size, size - gap)
        starts += [(x, y, x + size, y + size) for x in xs for y in ys]
    wins = np.array(starts, dtype=np.int64)
    inside_w = np.clip(wins[:, 2], 0, width) - np.clip(wins[:, 0], 0, width)
    inside_h = np.clip(wins[:, 3], 0, height) - np.clip(wins[:, 1], 0, height)
    rates = inside_w * inside_h / ((wins[:, 2] - wins[:, 0]) * (wins[:, 3] - wins[:, 1]))
    if not (rates > cfg.img_rate_thr).any():  # keep the best-covered windows rather than none
        rates[np.abs(rates - rates.max()) < 0.01] = 1
    return wins[rates > cfg.img_rate_thr]


def window_iof(polys: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """(N, K) share of each object's area inside each window; exactly 1 when wholly inside."""
    polys = np.asarray(polys, np.float64).reshape(-1, 8)
    iof = np.zeros((len(polys), len(windows)))
    if not len(polys) or not len(windows):
        return iof
    xy = polys.reshape(-1, 4, 2)
    lo, hi = xy.min(1), xy.max(1)
    w = windows[None].astype(np.float64)
    inside = ((lo[:, None] >= w[..., :2]) & (hi[:, None] <= w[..., 2:])).all(-1)
    touch = ((hi[:, None] > w[..., :2]) & (lo[:, None] < w[..., 2:])).all(-1) & ~inside
    iof[inside] = 1.0
    i, k = np.nonzero(touch)
    if len(i):
        shapes = shapely.polygons(xy)
        bad = ~shapely.is_valid(shapes)  # self-crossing vertex order: use the hull
        shapes[bad] = shapely.convex_hull(shapes[bad])
        boxes = shapely.box(*windows.T)
        inter = shapely.area(shapely.intersection(shapes[i], boxes[k]))
        iof[i, k] = inter / np.maximum(shapely.area(shapes[i]), 1e-6)
    return iof


def split_annotation(ann: DotaAnnotation, windows: np.ndarray, iof_thr: float) -> list[DotaAnnotation]:
    """The objects of each window, in window coordinates (unclipped), cut ones flagged 2."""
    iof = window_iof(ann.polys, windows)
    out = []
    for k, (x0, y0, _, _) in enumerate(windows):
        keep = np.nonzero(iof[:, k] >= iof_thr)[0]
        diff = np.where(iof[keep, k] < 1, TRUNCATED, ann.difficulty[keep])
        polys = np.round(ann.polys[keep] - np.tile([x0, y0], 4), 4)
        out.append(DotaAnnotation(polys, [ann.labels[i] for i in keep], diff))
    return out


def _read_image(path: Path) -> np.ndarray:
    check_image(path)
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise UserError(f"{path}: unreadable image (cv2 could not decode it)")
    return img


def split_image(img_path: Path, ann: DotaAnnotation | None, cfg: SplitConfig, out: Path) -> tuple[int, int]:
    """Write the patches (and their label files when `ann` is given); (patches, objects written)."""
    img = _read_image(img_path)
    h, w = img.shape[:2]
    windows = sliding_windows(w, h, cfg)
    anns = split_annotation(ann, windows, cfg.iof_thr) if ann is not None else [None] * len(windows)
    pad = np.array(cfg.padding_value * (3 if len(cfg.padding_value) == 1 else 1), np.uint8)
    objects = 0
    for (x0, y0, x1, y1), patch_ann in zip(windows.tolist(), anns):
        patch_id = f"{img_path.stem}__{x1 - x0}__{x0}___{y0}"
        patch = img[y0:y1, x0:x1]
        if cfg.padding and patch.shape[:2] != (y1 - y0, x1 - x0):
            full = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
            full[...] = pad
            full[: patch.shape[0], : patch.shape[1]] = patch
            patch = full
        imwrite(out / "images" / f"{patch_id}{cfg.ext}", patch)
        if patch_ann is not None:
            write_dota_label(out / "annfiles" / f"{patch_id}.txt", patch_ann, header=False)
            objects += len(patch_ann)
    return len(windows), objects


def _job(args: tuple[str, DotaAnnotation | None, SplitConfig, str]) -> tuple[int, int]:
    img_path, ann, cfg, out = args
    return split_image(Path(img_path), ann, cfg, Path(out))


def find_pairs(src: Path) -> tuple[list[Path], Path | None]:
    """Images of a DOTA folder (`images/`, optional `labelTxt/`), with the checks on labels."""
    img_dir, label_dir = src / "images", src / "labelTxt"
    if not img_dir.is_dir():
        raise UserError(f"{img_dir}: no images folder (expected DOTA layout images/, labelTxt/)")
    images = sorted(p for p in img_dir.iterdir() if p.suffix in IMAGE_EXTS)
    if not images:
        raise UserError(f"{img_dir}: no images ({', '.join(IMAGE_EXTS)})")
    if not label_dir.is_dir():
        return images, None
    stems = {p.stem for p in images}
    for p in images:
        if not (label_dir / f"{p.stem}.txt").is_file():
            warnings.warn(
                f"{label_dir / (p.stem + '.txt')}: absent; {p.name} split as an image "
                f"with no objects (as MMRotate does)",
                AnnotationWarning,
                stacklevel=2,
            )
    for p in sorted(label_dir.glob("*.txt")):
        if p.stem not in stems:
            warnings.warn(f"{p}: label file without an image, ignored", AnnotationWarning, stacklevel=2)
    return images, label_dir


def split_dataset(
    src: str | os.PathLike,
    out: str | os.PathLike,
    cfg: SplitConfig = SplitConfig(),
    workers: int = 0,
    overwrite: bool = False,
    progress: bool = True,
) -> dict:
    """Split every image of a DOTA folder into `out/images` (+ `out/annfiles`); returns the summary.

    All labels are read and checked before the first patch is written.
    """
    src = Path(src)
    images, label_dir = find_pairs(src)
    anns: list[DotaAnnotation | None] = [None] * len(images)  # read (and so checked) before the first patch is cut
    if label_dir is not None:
        anns = [
            read_dota_label(label_dir / f"{p.stem}.txt")
            if (label_dir / f"{p.stem}.txt").is_file()
            else DotaAnnotation()
            for p in images
        ]
    workers = min(workers or min(2, os.cpu_count() or 1), len(images))
    meta = dict(tool="detlab data split", src=str(src.absolute()), images=len(images), config=asdict(cfg))
    with atomic_output_dir(out, overwrite, meta) as root:
        (root / "images").mkdir()
        if label_dir is not None:
            (root / "annfiles").mkdir()
        jobs = [(str(p), ann, cfg, str(root)) for p, ann in zip(images, anns)]
        bar = dict(total=len(jobs), desc="split dota", unit="img", disable=not progress)
        if workers == 1:
            counts = [_job(j) for j in tqdm(jobs, **bar)]
        else:
            with process_pool(workers, __name__) as pool:
                counts = list(tqdm(pool.imap(_job, jobs), **bar))
        meta["patches"] = int(sum(c[0] for c in counts))
        meta["patch_objects"] = int(sum(c[1] for c in counts))
    return meta
