"""Paths and helpers of the results tests, importable by name (a test module importing `conftest`
gets whichever conftest pytest loaded last)."""
from __future__ import annotations

import os.path as osp

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, "experiments/configs/refined_det")
HRSC_MINI = osp.join(CONFIGS, "refined_det_obb_r50_fpn_6x_hrsc_rr_le90_mini.py")
DOTA_MINI = osp.join(CONFIGS, "refined_det_obb_r50_fpn_1x_dota_le90_mini.py")


def hrsc_sets(root: str) -> list[str]:
    """The mini HRSC2016 config on a synthetic root, one short epoch."""
    sets = [f"data.{s}.{k}={root + sub}" for s in ("train", "val", "test")
            for k, sub in (("ann_subdir", "FullDataSet/Annotations/"), ("img_subdir", "FullDataSet/AllImages/"),
                           ("img_prefix", "FullDataSet/AllImages/"))]
    return sets + [f"data.train.ann_file={root}ImageSets/trainval.txt",
                   f"data.val.ann_file={root}ImageSets/test.txt", f"data.test.ann_file={root}ImageSets/test.txt",
                   "data.samples_per_gpu=2", "data.workers_per_gpu=0", "runner.max_epochs=1",
                   "evaluation.interval=1", "lr_config.warmup_iters=2", "lr_config.step=[100]",
                   "log_config.interval=1", "model.test_cfg.score_thr=0.0"]


def dota_sets(split_dir) -> list[str]:
    images = f"{split_dir}/images/"
    return [f"data.test.ann_file={images}", f"data.test.img_prefix={images}", *DOTA_FEW_BOXES]


# the random model scores every box about 0.01: keep 20 per level (rotated NMS on CPU is quadratic)
DOTA_FEW_BOXES = ["model.test_cfg.score_thr=0.0", "model.test_cfg.nms_pre=20", "model.test_cfg.max_per_img=100"]


def json_out(text: str):
    """The JSON summary a command printed (Ray's task logs may surround it)."""
    import json
    return json.JSONDecoder().raw_decode(text[text.index('{\n  "'):])[0]


def cli(*args: str) -> int:
    """`detlab ARGS` in this process (what the console script runs)."""
    from detlab.cli import main
    return main(list(args))
