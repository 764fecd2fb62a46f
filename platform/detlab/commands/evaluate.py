"""`detlab evaluate`: DOTA Task1 / HRSC2016 AP from annotation files and Task1 detection files.

Evaluate Task1_<class>.txt detection files (image_id score x1 y1 ... x4 y4). DOTA: the official
devkit Task1 rules (IoU > thr, difficult ignored, mAP over all 15 classes). HRSC2016: mmrotate's
rules, one class "ship", AP50 with VOC07 and VOC12 and AP50:95 all reported. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from detlab.atomic import atomic_write_text, staged_files
from detlab.errors import disk_errors_as_user_errors

HELP = "AP/mAP of Task1 detection files against DOTA or HRSC2016 annotations"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help=HELP, description=__doc__)
    p.add_argument("--dataset", required=True, choices=["dota", "hrsc2016"])
    p.add_argument(
        "--ann-dir",
        required=True,
        type=Path,
        help="DOTA labelTxt folder (*.txt) or HRSC2016 Annotations folder (*.xml)",
    )
    p.add_argument("--det-dir", required=True, type=Path, help="folder of Task1_<class>.txt")
    p.add_argument("--iou-thr", type=float, default=0.5, help="IoU threshold (default 0.5)")
    p.add_argument(
        "--metric",
        choices=["voc07", "voc12"],
        default="voc07",
        help="voc07: 11-point AP (default, the devkit's); voc12: area under the PR curve",
    )
    p.add_argument(
        "--image-set",
        type=Path,
        default=None,
        help="evaluate only the image ids listed in this file (default: every annotation file in --ann-dir)",
    )
    p.add_argument(
        "--out", type=Path, default=None, help="also write OUT/eval.json and OUT/pr_<class>.png (all or none)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from detlab.evaluation import DOTA_V1_CLASSES, HRSC_CLASSES, evaluate_dota, evaluate_hrsc
    from detlab.evaluation.gt_sources import load_dota_gts, load_hrsc_gts, read_image_set
    from detlab.evaluation.task1 import check_image_ids, read_task1_dir

    image_ids = read_image_set(args.image_set) if args.image_set else None
    if args.dataset == "dota":
        classes = list(DOTA_V1_CLASSES)
        gts = load_dota_gts(args.ann_dir, classes, image_ids)
    else:
        classes = list(HRSC_CLASSES)
        gts = load_hrsc_gts(args.ann_dir, image_ids)
    found, missing = read_task1_dir(args.det_dir, classes)
    check_image_ids(found, gts, str(args.ann_dir))
    if missing:
        print(
            f"detlab evaluate: warning: no Task1 file for {', '.join(missing)} in "
            f"{args.det_dir}; counted as no detections",
            file=sys.stderr,
        )
    dets = {name: d.as_tuple() for name, d in found.items()}
    evaluate = evaluate_dota if args.dataset == "dota" else evaluate_hrsc
    result = evaluate(gts, dets, iou_thr=args.iou_thr, metric=args.metric, classes=classes)
    if missing:
        result.notes.append(f"no detection file for: {', '.join(missing)}")
    summary = result.to_dict()
    summary["num_images"] = len(gts)
    text = json.dumps(summary, indent=2)
    if args.out is not None:
        from detlab.evaluation.plots import save_pr_curves

        with disk_errors_as_user_errors(where=args.out), staged_files(args.out) as stage:  # all or none
            save_pr_curves(result, stage)
            atomic_write_text(stage / "eval.json", text + "\n")
    print(text)
    return 0
