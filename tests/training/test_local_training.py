"""Training the mini Refined-Det with mmdet's own loop: the loss falls when it overfits a
handful of generated images, and a full train step runs with no GPU visible."""
from __future__ import annotations

import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MINI = osp.join(REPO, "experiments/configs/refined_det/refined_det_obb_r50_fpn_6x_hrsc_rr_le90_mini.py")


@pytest.fixture(scope="module")
def synth_hrsc(tmp_path_factory):
    from detlab.data.synth import synth_dataset
    root = tmp_path_factory.mktemp("synth") / "hrsc2016"
    synth_dataset("hrsc2016", root, 8, seed=3, progress=False)
    return str(root) + "/"


def data_sets(root, train_list="ImageSets/trainval.txt"):
    return [f"data.{s}.{k}={root + sub}" for s in ("train", "val", "test")
            for k, sub in (("ann_subdir", "FullDataSet/Annotations/"),
                           ("img_subdir", "FullDataSet/AllImages/"),
                           ("img_prefix", "FullDataSet/AllImages/"))] + [
        f"data.train.ann_file={root}{train_list}"]


@pytest.mark.slow
def test_mini_refined_det_loss_falls_when_overfitting(synth_hrsc, tmp_path):
    from detlab.training.hooks.progress import ProgressBarHook
    from detlab.training.worker.local import train_local
    from detlab.training.driver.setup import prepare_config

    sets = data_sets(synth_hrsc) + [
        # Overfit: no augmentation noise, a steady learning rate, a few images, many epochs.
        "data.train.pipeline.3.flip_ratio=[0.0, 0.0, 0.0]", "data.train.pipeline.4.rotate_ratio=0.0",
        "data.train.ann_file=" + synth_hrsc + "ImageSets/train.txt",
        "data.samples_per_gpu=4", "data.workers_per_gpu=0", "runner.max_epochs=24",
        "lr_config.step=[100]", "lr_config.warmup_iters=5", "checkpoint_config.interval=100"]
    cfg = prepare_config(MINI, sets, work_dir=tmp_path, seed=0, device="cpu")
    seen = {}
    original = ProgressBarHook.after_run

    def keep_trend(self, runner):
        seen["trend"] = self.loss_trend()
        original(self, runner)

    ProgressBarHook.after_run = keep_trend
    try:
        train_local(cfg, progress=True)
    finally:
        ProgressBarHook.after_run = original
    first, last = seen["trend"]
    assert last < 0.85 * first, f"loss did not fall: first epoch {first:.3f}, last epoch {last:.3f}"


@pytest.mark.slow
def test_a_full_train_step_runs_with_no_gpu_visible(synth_hrsc, tmp_path):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    cmd = [sys.executable, osp.join(REPO, "experiments/train_mini.py"), "--data", synth_hrsc.rstrip("/"),
           "--epochs", "1", "--work-dir", str(tmp_path), "--set", "data.workers_per_gpu=0"]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "2/2" in run.stderr and "loss=" in run.stderr      # the progress bar with losses
    assert osp.exists(tmp_path / "epoch_1.pth")
