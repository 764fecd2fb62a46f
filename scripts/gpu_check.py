"""The first checks to run on a machine with a GPU (`scripts/gpu_check.sh`): each prints one line
with what it measured, and the script exits non-zero at the first that fails.

1. CUDA is visible to torch and mmcv-full's rotated IoU runs on it (else: what to do).
2. CLA on CUDA gives the CPU's labels for the same IoU matrix, on random cases (k = 1, 2, 3; 30 GTs at
   1024x1024); the two devices' IoU agree within 1e-5, and the labels that float rounding moves
   between exactly tied anchors are counted.
3. A forward and backward pass of the paper-size Refined-Det (DOTA, R50-FPN, 1024x1024, batch 2,
   seeded random weights) with fp16 off and on (mmcv's mixed precision, as ``fp16 = dict(...)`` in a
   config turns it on): losses finite, s/iter, images/s and peak memory printed.
4. With 2+ GPUs visible: `detlab train` of the mini HRSC2016 config on 2 Ray Train workers over NCCL
   (1 GPU each), on a synthetic dataset it generates: exit 0 and images/s from the run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PAPER_DOTA = osp.join(REPO, "experiments/configs/refined_det/refined_det_obb_r50_fpn_1x_dota_le90.py")
MINI_HRSC = osp.join(REPO, "experiments/configs/refined_det/refined_det_obb_r50_fpn_6x_hrsc_rr_le90_mini.py")


class CheckFailed(Exception):
    """One check failed; the message is its one-line reason."""


def say(check: str, text: str) -> None:
    print(f"gpu_check: {check}: {text}", flush=True)


def check_cuda() -> None:
    import torch

    if not torch.cuda.is_available():
        raise CheckFailed(
            "no CUDA device visible to torch (torch.cuda.is_available() is False): run this on a machine with a "
            "GPU, with the CUDA build installed (FORCE_CUDA=1 make install)"
        )
    from mmcv.ops import box_iou_rotated

    # Run a CUDA op rather than ask mmcv.ops.get_compiling_cuda_version(): that call crashed the process
    # (SIGSEGV) on an H200 machine (torch 2.11.0+cu130, g++ 13.3), where every CUDA op ran.
    boxes = torch.tensor([[10.0, 10.0, 8.0, 4.0, 0.3]], device="cuda")
    try:
        iou = float(box_iou_rotated(boxes, boxes)[0, 0])
    except RuntimeError as err:
        raise CheckFailed(f"mmcv-full's rotated IoU does not run on CUDA ({err}): reinstall with FORCE_CUDA=1 "
                          "make install") from err
    if abs(iou - 1.0) > 1e-4:
        raise CheckFailed(f"mmcv-full's rotated IoU of a box with itself on CUDA is {iou}, not 1")
    names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    say("cuda", f"torch {torch.__version__} (CUDA {torch.version.cuda}), mmcv ops CUDA "
        f"(box_iou_rotated ran), {len(names)} device(s): {', '.join(names)}")


def random_gts(gen, num: int, pad: tuple[int, int], max_size: float = 160.0):
    import torch

    h, w = pad
    cx, cy = torch.rand(num, generator=gen) * w, torch.rand(num, generator=gen) * h
    bw = 4 + torch.rand(num, generator=gen) * max_size
    bh = bw * (0.15 + torch.rand(num, generator=gen) * 0.85)
    ang = (torch.rand(num, generator=gen) - 0.5) * math.pi * 0.999
    return torch.stack([cx, cy, bw, bh, ang], dim=1)


def check_cla(cases: int) -> None:
    """CLA's logic gives the same labels on CUDA as on the CPU for the same IoU matrix; the IoU matrices
    themselves differ in the last float bits, which moves step A's exact-equality ties (mmdet's
    ``gt_max_assign_all``) between symmetric anchors: those are counted and printed, not failed."""
    import torch
    from mmrotate.core import build_prior_generator
    from mmrotate.core.bbox import rbbox_overlaps

    import refined_det.register  # noqa: F401  (registers the plugins)
    from refined_det.assigners.cross_grid import cross_grid_assign_full

    pad, strides = (1024, 1024), [8, 16, 32, 64, 128]
    sizes = [(pad[0] // s, pad[1] // s) for s in strides]
    gen = build_prior_generator(dict(type="RotatedAnchorGenerator", scales=[4], ratios=[1.0], strides=strides))
    cpu_anchors, cuda_anchors = gen.grid_priors(sizes, device="cpu"), gen.grid_priors(sizes, device="cuda")

    def cuda_iou_on_cpu(gts, anchors):
        return rbbox_overlaps(gts.cuda(), anchors.cuda()).cpu()

    rng = torch.Generator().manual_seed(0)
    compared, tie_moves, worst = 0, 0, 0.0
    for case in range(cases):
        gts = random_gts(rng, 30, pad)
        for k in (1, 2, 3):
            cpu = cross_grid_assign_full(cpu_anchors, sizes, strides, gts, pad, num_neighbors=k)
            cuda = cross_grid_assign_full(cuda_anchors, sizes, strides, gts.cuda(), pad, num_neighbors=k)
            same_iou = cross_grid_assign_full(cpu_anchors, sizes, strides, gts, pad, num_neighbors=k,
                                              overlaps_fn=cuda_iou_on_cpu)
            if not torch.equal(same_iou.assigned, cuda.assigned.cpu()):
                differ = int((same_iou.assigned != cuda.assigned.cpu()).sum())
                raise CheckFailed(f"CLA labels differ between CPU and CUDA for the same IoU: case {case}, k={k}, "
                                  f"{differ} anchors")
            worst = max(worst, float((cpu.max_overlaps - cuda.max_overlaps.cpu()).abs().max()))
            if worst > 1e-5:
                raise CheckFailed(f"rotated IoU differs between CPU and CUDA by {worst:.2e}: case {case}, k={k}")
            tie_moves += int((cpu.assigned != cuda.assigned.cpu()).sum())
            compared += 1
    say("cla", f"CUDA labels equal the CPU logic's on the same IoU in {compared} assignments ({cases} cases x k = 1, "
        f"2, 3; 30 GTs, 1024x1024); IoU CPU vs CUDA within {worst:.1e}, which moves {tie_moves} labels in all "
        "between tied anchors (step A's exact-equality ties)")


def check_forward_backward(iters: int, device: str = "cuda", size: int = 1024) -> None:
    import torch
    from mmdet.models import build_detector

    import refined_det.register  # noqa: F401
    from detlab.config import load_config

    cfg = load_config(PAPER_DOTA, import_custom_modules=False)
    cfg.model.backbone.init_cfg = None  # no download: random weights suffice for a pass
    torch.manual_seed(0)  # the same weights every run: one unseeded run on an H200 reached a NaN loss in 7 steps
    model = build_detector(cfg.model).to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-4)
    gen = torch.Generator().manual_seed(0)
    batch = 2
    img = torch.randn(batch, 3, size, size, device=device)
    metas = [dict(img_shape=(size, size, 3), pad_shape=(size, size, 3), ori_shape=(size, size, 3),
                  scale_factor=1.0, flip=False, batch_input_shape=(size, size)) for _ in range(batch)]
    gts = [random_gts(gen, 20, (size, size), max_size=size / 6).to(device) for _ in range(batch)]
    labels = [torch.randint(0, 15, (20,), generator=gen).to(device) for _ in range(batch)]
    cuda = device == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    for fp16 in (False, True) if cuda else (False,):
        if fp16:  # mmcv's own mixed precision (what `fp16 = dict(loss_scale=...)` in a config turns on):
            # autocast in the decorated forward, losses forced back to fp32 (`force_fp32`)
            from mmcv.runner import wrap_fp16_model

            wrap_fp16_model(model)
        times = []
        for i in range(iters + 2):
            sync()
            start = time.perf_counter()
            losses = model(img, metas, gt_bboxes=gts, gt_labels=labels)
            loss, _ = model._parse_losses(losses)  # mmdet's own sum of the loss terms
            if not torch.isfinite(loss):
                bad = {k: float(sum(v) if isinstance(v, list) else v) for k, v in losses.items()}
                raise CheckFailed(f"forward/backward (fp16={fp16}), iteration {i}: loss is {float(loss.detach())} "
                                  f"(terms: {bad})")
            opt.zero_grad()
            loss.backward()
            opt.step()
            sync()
            if i >= 2:  # the first two: cuDNN autotuning and allocator warm-up
                times.append(time.perf_counter() - start)
        mean = sum(times) / len(times)
        memory = f", peak memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB" if cuda else ""
        say("train step", f"paper Refined-Det (DOTA R50-FPN) at {size}x{size} on {device}, batch {batch}, "
            f"fp16={fp16}: {mean:.3f} s/iter, {batch / mean:.1f} images/s, loss {float(loss.detach()):.3f}{memory}")


def check_ray_nccl(images: int) -> None:
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        root = osp.join(tmp, "hrsc2016") + "/"
        detlab = [sys.executable, "-m", "detlab.cli"]
        subprocess.run([*detlab, "data", "synth", "--dataset", "hrsc2016", "--out", root, "--images", str(images),
                        "--quiet"], check=True, capture_output=True)
        sets = [f"data.{s}.{k}={root}{sub}" for s in ("train", "val", "test")
                for k, sub in (("ann_subdir", "FullDataSet/Annotations/"), ("img_subdir", "FullDataSet/AllImages/"),
                               ("img_prefix", "FullDataSet/AllImages/"))]
        sets += [f"data.train.ann_file={root}ImageSets/trainval.txt", f"data.val.ann_file={root}ImageSets/test.txt",
                 f"data.test.ann_file={root}ImageSets/test.txt", "runner.max_epochs=2", "evaluation.interval=1"]
        cmd = [*detlab, "train", "--config", MINI_HRSC, "--workers", "2", "--gpus-per-worker", "1",
               "--cpus-per-worker", "2", "--storage", osp.join(tmp, "ray"), "--mlflow-uri",
               f"sqlite:///{tmp}/mlflow.db"] + [a for s in sets for a in ("--set", s)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise CheckFailed(f"2-worker Ray Train over NCCL failed (exit {proc.returncode}): {tail}")
        summary = json.loads(proc.stdout[proc.stdout.index("{"):])
        last = summary.get("last") or {}
        say("ray nccl", f"2 workers x 1 GPU, 2 epochs of the mini HRSC2016 config: FINISHED, "
            f"val/mAP {last.get('val/mAP')}, run {summary.get('run_id')}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=10, help="random CLA cases compared CPU vs CUDA")
    p.add_argument("--iters", type=int, default=5, help="timed train steps per fp16 setting")
    p.add_argument("--images", type=int, default=32, help="synthetic images for the Ray Train check")
    p.add_argument("--cpu-smoke", action="store_true",
                   help="only the train step, on the CPU at 256x256 (checks this script where there is no GPU)")
    args = p.parse_args()
    if args.cpu_smoke:
        check_forward_backward(1, device="cpu", size=256)
        return 0
    try:
        check_cuda()
        check_cla(args.cases)
        check_forward_backward(args.iters)
        import torch

        if torch.cuda.device_count() >= 2:
            check_ray_nccl(args.images)
        else:
            say("ray nccl", "skipped: needs 2 GPUs, 1 visible")
    except CheckFailed as err:
        print(f"gpu_check: FAILED: {err}", file=sys.stderr)
        return 2
    say("all", "passed")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("RAY_worker_niceness", "0")
    sys.exit(main())
