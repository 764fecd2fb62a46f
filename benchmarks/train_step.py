"""Mini training step (forward, backward, optimizer step) with sparse vs dense assignment IoU, one run.

    .venv/bin/python benchmarks/train_step.py [--steps 6] [--threads 2] [--hrsc-gts 8] [--dota-gts 60]

Builds the mini Refined-Det and Rotated RetinaNet configs (HRSC2016 400x256 -> padded
416x256, 4 images; DOTA 512x512, 2 images) and times one training step on a fixed random
batch (random images, random le90 GTs inside the image: --hrsc-gts / --dota-gts per image),
alternating the assigner's IoU between ``iou_mode='sparse'`` (the default) and ``'dense'``
(mmrotate's RBboxOverlaps2D on every anchor-GT pair) step by step, so drift on a shared
machine hits both alike. Prints the median s/iter of each and their ratio; the labels are
the same in both modes (tests/detectors/test_sparse_iou.py), so only the time differs.
"""
from __future__ import annotations

import argparse
import math
import os.path as osp
import statistics
import time

import torch
from mmcv import Config
from mmrotate.models import build_detector

import refined_det.register  # noqa: F401  (registers the plugins)
from refined_det.assigners.sparse_iou import overlaps_for_mode

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = {
    "Refined-Det HRSC mini": ("experiments/configs/refined_det/refined_det_obb_r50_fpn_6x_hrsc_rr_le90_mini.py",
                              (256, 416), 4, "hrsc"),
    "Rotated RetinaNet HRSC mini": ("experiments/configs/rotated_retinanet/"
                                    "rotated_retinanet_obb_r50_fpn_6x_hrsc_rr_le90_mini.py", (256, 416), 4, "hrsc"),
    "Refined-Det DOTA mini": ("experiments/configs/refined_det/refined_det_obb_r50_fpn_1x_dota_le90_mini.py",
                              (512, 512), 2, "dota"),
}


def random_batch(pad_hw, images: int, gts: int, num_classes: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    h, w = pad_hw
    img = torch.randn(images, 3, h, w, generator=g)
    meta = dict(img_shape=(h, w, 3), pad_shape=(h, w, 3), ori_shape=(h, w, 3), scale_factor=1.0,
                flip=False)
    boxes, labels = [], []
    for _ in range(images):
        bw = 8 + torch.rand(gts, generator=g) * 120
        bh = bw * (0.2 + 0.8 * torch.rand(gts, generator=g))
        cx = bw / 2 + torch.rand(gts, generator=g) * (w - bw).clamp(min=1)
        cy = bh / 2 + torch.rand(gts, generator=g) * (h - bh).clamp(min=1)
        ang = (torch.rand(gts, generator=g) - 0.5) * math.pi * 0.999
        boxes.append(torch.stack([cx, cy, bw, bh, ang], 1))
        labels.append(torch.randint(0, num_classes, (gts,), generator=g))
    return img, [dict(meta) for _ in range(images)], boxes, labels


def set_iou_mode(model, mode: str) -> int:
    """Switch every assigner's IoU calculator; returns how many were switched."""
    n = 0
    for module in model.modules():
        assigner = getattr(module, "assigner", None)
        if assigner is not None and hasattr(assigner, "iou_calculator"):
            assigner.iou_calculator = overlaps_for_mode(assigner.iou_calculator, mode)
            n += 1
    return n


def time_config(path: str, pad_hw, images: int, gts: int, steps: int) -> dict[str, float]:
    cfg = Config.fromfile(osp.join(REPO, path))
    model = build_detector(cfg.model, train_cfg=cfg.get("train_cfg"), test_cfg=cfg.get("test_cfg"))
    model.init_weights()
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    num_classes = cfg.model.bbox_head.num_classes
    img, metas, boxes, labels = random_batch(pad_hw, images, gts, num_classes)

    def step():
        losses = model(img, metas, gt_bboxes=boxes, gt_labels=labels)
        loss, _ = model._parse_losses(losses)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    times = {"sparse": [], "dense": []}
    assert set_iou_mode(model, "sparse") >= 1
    step()  # warm-up
    for _ in range(steps):
        for mode in ("sparse", "dense"):
            set_iou_mode(model, mode)
            t = time.perf_counter()
            step()
            times[mode].append(time.perf_counter() - t)
    return {mode: statistics.median(ts) for mode, ts in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6, help="timed steps per mode (interleaved)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--hrsc-gts", type=int, default=8, help="GTs per HRSC image")
    parser.add_argument("--dota-gts", type=int, default=60, help="GTs per DOTA patch")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"median s/iter of {args.steps} interleaved steps per mode, {args.threads} torch threads")
    print(f"{'config':30}{'batch':>7}{'GTs/img':>9}{'dense s/iter':>14}{'sparse s/iter':>15}{'sparse/dense':>14}")
    for name, (path, pad_hw, images, kind) in CONFIGS.items():
        gts = args.hrsc_gts if kind == "hrsc" else args.dota_gts
        med = time_config(path, pad_hw, images, gts, args.steps)
        print(f"{name:30}{images:>7}{gts:>9}{med['dense']:>14.3f}{med['sparse']:>15.3f}"
              f"{med['sparse'] / med['dense']:>13.3f}x", flush=True)


if __name__ == "__main__":
    main()
