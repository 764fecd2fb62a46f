"""CLA vs mmdet's MaxIoUAssigner: time per image, measured side by side in one run.

1024x1024 input, strides 8-128 (one anchor per cell, 21,824 anchors), 100 le90
GTs. Both use mmrotate's rotated IoU (RBboxOverlaps2D); CLA = MaxIoU step (the
seed's comparisons) + the cross-grid step. Goal: CLA / MaxIoU <= 1.25 on CPU,
<= 1.1 on CUDA.

    python benchmarks/assign.py [--gts 100] [--reps 30] [--device cpu|cuda|all]
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
from mmdet.core import build_assigner
from mmrotate.core import build_prior_generator

import refined_det  # noqa: F401
from refined_det.assigners import cross_grid_assign

STRIDES = [8, 16, 32, 64, 128]


def make_case(num_gts: int, size: int, device: str, seed: int = 0):
    gen = build_prior_generator(dict(type="RotatedAnchorGenerator", scales=[4], ratios=[1.0],
                                     strides=STRIDES))
    sizes = [(math.ceil(size / s), math.ceil(size / s)) for s in STRIDES]
    anchors = gen.grid_priors(sizes, device=device)
    g = torch.Generator().manual_seed(seed)
    wh = 8 + torch.rand(num_gts, 2, generator=g) * 200
    gts = torch.cat([torch.rand(num_gts, 2, generator=g) * size, wh,
                     (torch.rand(num_gts, 1, generator=g) - 0.5) * math.pi * 0.999], 1).to(device)
    return anchors, sizes, gts


def timed(fn, reps: int, device: str) -> list[float]:
    out = []
    for _ in range(reps):
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        out.append(time.perf_counter() - t)
    return out


def run(device: str, num_gts: int, size: int, reps: int) -> tuple[float, float]:
    anchors, sizes, gts = make_case(num_gts, size, device)
    flat = torch.cat(anchors)
    maxiou = build_assigner(dict(type="MaxIoUAssigner", pos_iou_thr=0.5, neg_iou_thr=0.4,
                                 min_pos_iou=0, ignore_iof_thr=-1,
                                 iou_calculator=dict(type="RBboxOverlaps2D")))
    cla = lambda: cross_grid_assign(anchors, sizes, STRIDES, gts, (size, size))
    base = lambda: maxiou.assign(flat, gts)
    for fn in (cla, base):           # warm-up
        fn()
    cla_t, base_t = [], []
    for _ in range(reps):            # interleaved, so drift hits both alike
        cla_t += timed(cla, 1, device)
        base_t += timed(base, 1, device)
    return statistics.median(cla_t), statistics.median(base_t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gts", type=int, default=100)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--device", default="all", choices=["cpu", "cuda", "all"])
    args = parser.parse_args()
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    goals = {"cpu": 1.25, "cuda": 1.1}
    print(f"{args.size}x{args.size} input, strides {STRIDES}, {args.gts} GTs, "
          f"median of {args.reps} interleaved runs")
    print(f"{'device':8}{'CLA ms':>10}{'MaxIoU ms':>12}{'ratio':>8}{'goal':>8}")
    for device in devices:
        if device == "cuda" and not torch.cuda.is_available():
            print(f"{'cuda':8}{'(no CUDA device here)':>38}")
            continue
        cla_s, base_s = run(device, args.gts, args.size, args.reps)
        ratio = cla_s / base_s
        print(f"{device:8}{cla_s * 1e3:>10.2f}{base_s * 1e3:>12.2f}{ratio:>8.3f}"
              f"{'<= ' + str(goals[device]):>8}  {'met' if ratio <= goals[device] else 'NOT met'}")


if __name__ == "__main__":
    main()
