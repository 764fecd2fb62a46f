"""A model's size and speed beside its mAP: parameters, FLOPs at the config's test size
(mmcv's complexity counter over ``forward_dummy``, as mmdet's ``get_flops.py``), and the
latency of one full inference (pipeline, network, NMS) on this machine's CPU, and GPU
when there is one. Logged as ``profile/*`` metrics of every training run."""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from detlab.tracking.profile_columns import (
    GFLOPS,
    IMGS_PER_S_CPU,
    IMGS_PER_S_GPU,
    LATENCY_CPU,
    LATENCY_GPU,
    PARAMS,
)

PROFILE_ENV = "DETLAB_PROFILE"  # "0": training runs skip the profile
LATENCY_RUNS = 3


def test_size(cfg) -> tuple[int, int]:
    """(height, width) of the test input: the pipeline's ``img_scale`` (w, h), padded to 32."""
    for step in cfg.data.test.pipeline:
        scale = step.get("img_scale")
        if scale is not None:
            w, h = scale[0] if isinstance(scale, list) else scale
            pad = lambda v: int(-(-int(v) // 32) * 32)  # noqa: E731
            return pad(h), pad(w)
    return 1024, 1024


def count_flops(model, size: tuple[int, int]) -> float:
    """FLOPs (multiply-adds, mmcv's convention) of backbone, neck and head at ``size``."""
    from mmcv.cnn import get_model_complexity_info

    forward = model.forward
    model.forward = model.forward_dummy
    try:
        flops, _ = get_model_complexity_info(model, (3, *size), print_per_layer_stat=False, as_strings=False)
    finally:
        model.forward = forward
    return float(flops)


def latency_ms(model, size: tuple[int, int], runs: int = LATENCY_RUNS) -> float:
    """Median wall time of ``inference_detector`` on a random image of ``size`` (one warm-up run)."""
    import numpy as np
    from mmdet.apis import inference_detector

    img = np.random.default_rng(0).integers(0, 255, (*size, 3), dtype=np.uint8)
    inference_detector(model, img)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        inference_detector(model, img)
        if next(model.parameters()).is_cuda:
            import torch

            torch.cuda.synchronize()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def profile_model(cfg, *, latency: bool = True, runs: int = LATENCY_RUNS) -> dict[str, Any]:
    """``{"metrics": {profile/...}, "tags": {...}}`` for the detector of ``cfg`` (random weights:
    size and speed do not depend on them)."""
    import copy

    import torch
    from mmrotate.models import build_detector

    import refined_det.register  # noqa: F401  (registers the plugins)

    cfg = copy.deepcopy(cfg)
    cfg.model.pretrained = None
    if cfg.model.get("backbone", {}).get("init_cfg") is not None:
        cfg.model.backbone.init_cfg = None
    model = build_detector(cfg.model, test_cfg=cfg.get("test_cfg"))
    model.CLASSES = tuple(range(cfg.model.bbox_head.get("num_classes", 1)))
    model.cfg = cfg
    model.eval()
    size = test_size(cfg)
    metrics = {PARAMS: sum(p.numel() for p in model.parameters()) / 1e6, GFLOPS: count_flops(model, size) / 1e9}
    tags = {
        "profile.input": f"3x{size[0]}x{size[1]}",
        "profile.cpu_threads": torch.get_num_threads(),
        "profile.flops": "mmcv get_model_complexity_info over forward_dummy (multiply-adds)",
    }
    if latency:
        with torch.no_grad():
            metrics[LATENCY_CPU] = latency_ms(model, size, runs)
            metrics[IMGS_PER_S_CPU] = 1000.0 / metrics[LATENCY_CPU]
            if torch.cuda.is_available():
                model.cuda()
                metrics[LATENCY_GPU] = latency_ms(model, size, runs)
                metrics[IMGS_PER_S_GPU] = 1000.0 / metrics[LATENCY_GPU]
    return {"metrics": metrics, "tags": tags}


def enabled() -> bool:
    return os.environ.get(PROFILE_ENV, "1") != "0"
