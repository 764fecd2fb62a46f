"""Helpers shared by the Ray Train tests (imported by name: tests/ has no packages)."""
from __future__ import annotations

import os.path as osp

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MINI = osp.join(REPO, "experiments/configs/refined_det/refined_det_obb_r50_fpn_6x_hrsc_rr_le90_mini.py")


def data_sets(root: str) -> list[str]:
    """Point the mini config at a synthetic HRSC2016 root: train on trainval, validate on test."""
    return [f"data.{s}.{k}={root + sub}" for s in ("train", "val", "test")
            for k, sub in (("ann_subdir", "FullDataSet/Annotations/"), ("img_subdir", "FullDataSet/AllImages/"),
                           ("img_prefix", "FullDataSet/AllImages/"))] + [
        f"data.train.ann_file={root}ImageSets/trainval.txt", f"data.val.ann_file={root}ImageSets/test.txt"]


def tiny_sets(root: str, epochs: int = 3, interval: int = 1) -> list[str]:
    """A few seconds per epoch on 2 cores; augmentations stay on (they exercise the RNG states).
    workers_per_gpu=0: the pipeline's random draws happen in the training process."""
    return data_sets(root) + [
        "data.samples_per_gpu=1", "data.workers_per_gpu=0", f"runner.max_epochs={epochs}",
        f"evaluation.interval={interval}", "lr_config.warmup_iters=3", "lr_config.step=[100]",
        "log_config.interval=1"]


