"""Main command of the foundation: a short CPU training of the mini Refined-Det config.

Generates a small synthetic HRSC2016 set (real file formats) if it is missing,
then trains ``refined_det_obb_r50_fpn_6x_hrsc_rr_le90_mini.py`` for a few epochs
with mmdet's own training loop, showing a progress bar and the losses.

    python experiments/train_mini.py [--images 16] [--epochs 6] [--set key=value ...]
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, "experiments/configs/refined_det/refined_det_obb_r50_fpn_6x_hrsc_rr_le90_mini.py")


def main(argv: list[str] | None = None) -> int:
    from detlab.quiet import silence

    silence(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=CONFIG)
    parser.add_argument("--data", default=osp.join(REPO, "data/synth_hrsc2016"),
                        help="synthetic HRSC2016 root (generated when missing)")
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", default=osp.join(REPO, "work_dirs/train_mini"))
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)

    from detlab.data.synth import synth_dataset
    from detlab.errors import UserError
    from detlab.training.worker.local import train_local
    from detlab.training.driver.setup import prepare_config

    try:
        if not osp.exists(osp.join(args.data, ".complete")):
            synth_dataset("hrsc2016", args.data, args.images, seed=args.seed)
        root = args.data.rstrip("/") + "/"
        sets = [f"runner.max_epochs={args.epochs}", "lr_config.step=[100]",
                "checkpoint_config.interval=1000",
                *[f"data.{split}.{key}={root + sub}" for split in ("train", "val", "test")
                  for key, sub in (("ann_subdir", "FullDataSet/Annotations/"),
                                   ("img_subdir", "FullDataSet/AllImages/"),
                                   ("img_prefix", "FullDataSet/AllImages/"))],
                f"data.train.ann_file={root}ImageSets/trainval.txt",
                *args.sets]
        cfg = prepare_config(args.config, sets, work_dir=args.work_dir, seed=args.seed)
        train_local(cfg)
    except UserError as err:
        print(f"train_mini: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
