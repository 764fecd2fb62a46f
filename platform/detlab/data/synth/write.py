"""Writing a synthetic dataset in the real on-disk layout, images drawn in parallel."""

from __future__ import annotations

import os
from pathlib import Path

from tqdm import tqdm

from detlab.atomic import atomic_output_dir
from detlab.data import imwrite, process_pool
from detlab.data.synth import render
from detlab.errors import UserError
from refined_det.datasets.formats import (
    write_dota_label,
    write_hrsc_xml,
)


def _write_one(job: tuple[str, int, int, str, tuple[int, int]]) -> int:
    dataset, seed, index, root_dir, size_range = job
    root = Path(root_dir)
    if dataset == "hrsc2016":
        img, hrsc = render.render_hrsc(seed, index)
        name = render.hrsc_image_id(index)
        imwrite(root / "FullDataSet" / "AllImages" / f"{name}.bmp", img)
        write_hrsc_xml(root / "FullDataSet" / "Annotations" / f"{name}.xml", hrsc)
        return len(hrsc)
    img, dota = render.render_dota(seed, index, size_range)
    name = render.dota_image_id(index)
    imwrite(root / "images" / f"{name}.png", img)
    write_dota_label(root / "labelTxt" / f"{name}.txt", dota)
    return len(dota)


def synth_dataset(
    dataset: str,
    out: str | os.PathLike,
    images: int,
    seed: int = 0,
    workers: int = 0,
    overwrite: bool = False,
    progress: bool = True,
    size_range: tuple[int, int] = (2000, 4000),
) -> dict:
    """Write `images` synthetic images of `dataset` under `out`, all or nothing (see atomic.py).

    `size_range` is the DOTA image side range; HRSC images are always HRSC-size.
    Returns the summary also stored in `out/.complete`.
    """
    if dataset not in render.DATASETS:
        raise UserError(f"--dataset {dataset!r}: choose one of {', '.join(render.DATASETS)}")
    if images < 1:
        raise UserError(f"--images {images}: must be at least 1")
    if not 64 <= size_range[0] <= size_range[1]:
        raise UserError(f"size range {size_range}: need 64 <= min <= max")
    workers = min(workers or min(2, os.cpu_count() or 1), images)
    meta = dict(
        tool="detlab data synth",
        dataset=dataset,
        images=images,
        seed=seed,
        size_range=list(size_range) if dataset == "dota" else None,
    )
    with atomic_output_dir(out, overwrite, meta) as root:
        subdirs = (
            ["FullDataSet/AllImages", "FullDataSet/Annotations", "ImageSets"]
            if dataset == "hrsc2016"
            else ["images", "labelTxt"]
        )
        for sub in subdirs:
            (root / sub).mkdir(parents=True)
        jobs = [(dataset, seed, i, str(root), tuple(size_range)) for i in range(images)]
        bar = dict(total=images, desc=f"synth {dataset}", unit="img", disable=not progress)
        if workers == 1:
            counts = [_write_one(j) for j in tqdm(jobs, **bar)]
        else:
            with process_pool(workers, __name__) as pool:
                counts = list(tqdm(pool.imap(_write_one, jobs, chunksize=4), **bar))
        if dataset == "hrsc2016":
            _write_image_sets(root / "ImageSets", images)
        meta["objects"] = int(sum(counts))
    return meta


def _write_image_sets(folder: Path, images: int) -> None:
    sets: dict[str, list[str]] = {"train": [], "val": [], "trainval": [], "test": []}
    for i in range(images):
        split = render.hrsc_split_of(i)
        sets[split].append(render.hrsc_image_id(i))
        if split != "test":
            sets["trainval"].append(render.hrsc_image_id(i))
    for name, ids in sets.items():
        (folder / f"{name}.txt").write_text("".join(f"{x}\n" for x in ids))
