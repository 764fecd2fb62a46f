"""Label assignment per image: mmdet's MaxIoUAssigner (dense rotated IoU) vs our sparse IoU, one run.

    python benchmarks/assign.py [--gts 100] [--reps 10] [--reps-nine 3] [--device cpu|cuda|all]

Cases, all with le90 GTs and strides 8-128:
  one anchor per cell (CLA's grid) at 1024x1024 (21,824 anchors; the full configs' DOTA patches)
  and at 512x512 (5,456 anchors; the mini DOTA config's patches);
  9 anchors per cell (Rotated RetinaNet's generator: 3 scales x 3 ratios) at 1024x1024 (196,416).
Columns, timed interleaved and reported as medians:
  MaxIoU dense:  mmdet's ``MaxIoUAssigner`` with mmrotate's ``RBboxOverlaps2D`` (today's baseline);
  MaxIoU sparse: the same assigner with ``SparseRBboxOverlaps2D(cuda='sparse')`` (exact IoU only for
                 pairs whose circumscribed circles overlap, on either device; same labels);
  CLA sparse / CLA dense: ``cross_grid_assign`` with ``iou_mode`` sparse / dense (one-anchor grids).
Ratios are against MaxIoU dense. Goal: sparse <= 0.25x on CPU. On CUDA the dense kernel is the
faster (one launch over all pairs), which is why the default ``iou_mode='auto'`` (and
``SparseRBboxOverlaps2D``'s default ``cuda='dense'``) runs it there; the CUDA rows show by how much.
Every run also checks that the sparse labels equal the dense ones.
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
from mmdet.core import build_assigner
from mmrotate.core import build_prior_generator

import refined_det.register  # noqa: F401  (registers the plugins)
from refined_det.assigners import cross_grid_assign

STRIDES = [8, 16, 32, 64, 128]
GOAL = 0.25
ONE_PER_CELL = dict(type="RotatedAnchorGenerator", scales=[4], ratios=[1.0], strides=STRIDES)
NINE_PER_CELL = dict(type="RotatedAnchorGenerator", octave_base_scale=4, scales_per_octave=3,
                     ratios=[1.0, 0.5, 2.0], strides=STRIDES)


def make_case(generator: dict, num_gts: int, size: int, device: str, seed: int = 0):
    gen = build_prior_generator(generator)
    sizes = [(math.ceil(size / s), math.ceil(size / s)) for s in STRIDES]
    anchors = gen.grid_priors(sizes, device=device)
    g = torch.Generator().manual_seed(seed)
    wh = 8 + torch.rand(num_gts, 2, generator=g) * 200
    gts = torch.cat([torch.rand(num_gts, 2, generator=g) * size, wh,
                     (torch.rand(num_gts, 1, generator=g) - 0.5) * math.pi * 0.999], 1).to(device)
    return anchors, sizes, gts


def max_iou(calculator: dict):
    return build_assigner(dict(type="MaxIoUAssigner", pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0,
                               ignore_iof_thr=-1, iou_calculator=calculator))


def timed(fn, device: str) -> float:
    if device == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t


def run_case(generator: dict, device: str, num_gts: int, size: int, reps: int) -> dict[str, float]:
    """Median seconds per column (interleaved, so drift hits every column alike)."""
    anchors, sizes, gts = make_case(generator, num_gts, size, device)
    flat = torch.cat(anchors)
    dense = max_iou(dict(type="RBboxOverlaps2D"))
    sparse = max_iou(dict(type="SparseRBboxOverlaps2D", cuda="sparse"))  # the sparse path on either device
    columns = {"MaxIoU dense": lambda: dense.assign(flat, gts),
               "MaxIoU sparse": lambda: sparse.assign(flat, gts)}
    if generator is ONE_PER_CELL:
        for mode in ("sparse", "dense"):
            columns[f"CLA {mode}"] = (lambda m=mode: cross_grid_assign(anchors, sizes, STRIDES, gts,
                                                                       (size, size), iou_mode=m))
    outputs = {name: fn() for name, fn in columns.items()}  # warm-up, and the labels to compare
    assert torch.equal(outputs["MaxIoU dense"].gt_inds, outputs["MaxIoU sparse"].gt_inds)
    if "CLA sparse" in outputs:
        assert torch.equal(outputs["CLA sparse"], outputs["CLA dense"])
    times: dict[str, list[float]] = {name: [] for name in columns}
    for _ in range(reps):
        for name, fn in columns.items():
            times[name].append(timed(fn, device))
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gts", type=int, default=100)
    parser.add_argument("--reps", type=int, default=10, help="timed runs per column, one-anchor grids")
    parser.add_argument("--reps-nine", type=int, default=3,
                        help="timed runs per column, 9-anchor grid (its dense column takes ~10-40 s)")
    parser.add_argument("--no-nine", action="store_true", help="skip the 9-anchor case (minutes on a CPU)")
    parser.add_argument("--device", default="all", choices=["cpu", "cuda", "all"])
    args = parser.parse_args()
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    cases = [("1 anchor/cell 1024x1024", ONE_PER_CELL, 1024, args.reps),
             ("1 anchor/cell 512x512 (mini)", ONE_PER_CELL, 512, args.reps),
             ("9 anchors/cell 1024x1024", NINE_PER_CELL, 1024, args.reps_nine)][:2 if args.no_nine else 3]
    cols = ["MaxIoU dense", "MaxIoU sparse", "CLA sparse", "CLA dense"]
    print(f"{args.gts} GTs, strides {STRIDES}, median of interleaved runs; ratios against MaxIoU dense "
          f"(mmdet MaxIoUAssigner + mmrotate RBboxOverlaps2D); goal: sparse <= {GOAL}x on CPU")
    print(f"{'device':7}{'case':31}{'anchors':>9}" + "".join(f"{c + ' ms':>17}" for c in cols)
          + f"{'MaxIoU sp.':>12}{'CLA sp.':>9}{'CLA dense':>10}  goal")
    for device in devices:
        if device == "cuda" and not torch.cuda.is_available():
            print(f"{'cuda':7}(no CUDA device here)")
            continue
        for name, generator, size, reps in cases:
            med = run_case(generator, device, args.gts, size, reps)
            n = sum(math.ceil(size / s) ** 2 for s in STRIDES) * (9 if generator is NINE_PER_CELL else 1)
            base = med["MaxIoU dense"]
            ratios = {c: med[c] / base for c in cols[1:] if c in med}
            cells = "".join(f"{med[c] * 1e3:>17.1f}" if c in med else f"{'-':>17}" for c in cols)
            rcells = "".join(f"{ratios[c]:>{w}.3f}x" if c in ratios else f"{'-':>{w + 1}}"
                             for c, w in zip(cols[1:], (11, 8, 9)))
            sparse_ok = all(ratios[c] <= GOAL for c in ("MaxIoU sparse", "CLA sparse") if c in ratios)
            verdict = ("met" if sparse_ok else "NOT met") if device == "cpu" else "n/a: 'auto' runs dense on CUDA"
            print(f"{device:7}{name:31}{n:>9}{cells}{rcells}  {verdict}", flush=True)


if __name__ == "__main__":
    main()
