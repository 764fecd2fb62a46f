"""How far the mini Refined-Det gets on synthetic HRSC2016 in a CPU time budget.

Generates a synthetic HRSC2016 set (real file formats) if missing, trains the
``_mini`` twin through the strict HRSC2016 loader with mmdet's own loop, and
evaluates the test split with the platform's evaluator after every
``--eval-every`` epochs. Prints val mAP (AP50, VOC07 and VOC12) against the
elapsed training time. Goal: VOC07 mAP above 0.3 within about 15 minutes on
2 CPU cores.

    python benchmarks/mini_hrsc_map.py [--images 240] [--epochs 24] [--eval-every 4] [--config ...]
"""
from __future__ import annotations

import argparse
import os.path as osp
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
MINI = osp.join(REPO, "experiments/configs/refined_det/refined_det_obb_r50_fpn_6x_hrsc_rr_le90_mini.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=MINI)
    parser.add_argument("--data", default=osp.join(REPO, "data/synth_hrsc2016_bench"))
    parser.add_argument("--images", type=int, default=240)
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--eval-every", type=int, default=4)
    parser.add_argument("--work-dir", default=osp.join(REPO, "work_dirs/mini_hrsc_map"))
    parser.add_argument("--set", dest="sets", action="append", default=[])
    args = parser.parse_args()

    from mmcv.runner import HOOKS, Hook

    from detlab.data.synth import synth_dataset
    from detlab.training.worker.local import train_local
    from detlab.training.driver.setup import prepare_config

    if not osp.exists(osp.join(args.data, ".complete")):
        synth_dataset("hrsc2016", args.data, args.images, seed=0)
    root = args.data.rstrip("/") + "/"
    sets = [f"data.{s}.{k}={root + sub}" for s in ("train", "val", "test")
            for k, sub in (("ann_subdir", "FullDataSet/Annotations/"),
                           ("img_subdir", "FullDataSet/AllImages/"),
                           ("img_prefix", "FullDataSet/AllImages/"))]
    sets += [f"data.train.ann_file={root}ImageSets/trainval.txt",
             f"data.val.ann_file={root}ImageSets/test.txt",
             f"runner.max_epochs={args.epochs}", f"evaluation.interval={args.eval_every}",
             f"lr_config.step=[{int(args.epochs * 0.75)}]", "checkpoint_config.interval=1000",
             "log_config.interval=50", *args.sets]
    cfg = prepare_config(args.config, sets, work_dir=args.work_dir, seed=0, device="cpu")
    rows: list[tuple[int, float, dict]] = []
    start = {}

    @HOOKS.register_module(force=True)
    class _BudgetTable(Hook):
        """Record (epoch, training seconds so far, val metrics) after each evaluation."""

        def before_run(self, runner):
            start["t"] = time.perf_counter()

        def after_train_epoch(self, runner):
            metrics = {k: v for k, v in runner.log_buffer.output.items() if k.startswith("val/mAP")}
            if metrics:
                rows.append((runner.epoch + 1, time.perf_counter() - start["t"], metrics))

    cfg.custom_hooks = [dict(type="_BudgetTable", priority=80)]  # after the eval hook (70), before the loggers clear the buffer (90)
    train_local(cfg, validate=True)
    print(f"\n{osp.basename(args.config)} on {args.images} synthetic HRSC2016 images (seed 0)")
    print(f"{'epoch':>5} {'minutes':>8} {'mAP VOC07':>10} {'mAP VOC12':>10}")
    for epoch, seconds, m in rows:
        print(f"{epoch:>5} {seconds / 60:>8.1f} {m.get('val/mAP_voc07', float('nan')):>10.3f} "
              f"{m.get('val/mAP_voc12', float('nan')):>10.3f}")


if __name__ == "__main__":
    main()
