"""`detlab data synth|split|merge`: thin argument parsing over detlab.data."""

from __future__ import annotations

import argparse
import json

from detlab.errors import UserError, disk_errors_as_user_errors


def _synth(args: argparse.Namespace) -> int:
    from detlab.data.synth import synth_dataset

    meta = synth_dataset(
        args.dataset,
        args.out,
        args.images,
        args.seed,
        args.workers,
        args.overwrite,
        progress=not args.quiet,
        size_range=(args.min_size, args.max_size),
    )
    print(json.dumps(meta))
    return 0


def _split(args: argparse.Namespace) -> int:
    from detlab.data.split import SplitConfig, split_dataset

    rates = tuple(args.rates or ((0.5, 1.0, 1.5) if args.multi_scale else (1.0,)))
    gap = args.gap if args.gap is not None else (500 if args.multi_scale else 200)
    cfg = SplitConfig(
        size=args.size,
        gap=gap,
        rates=rates,
        img_rate_thr=args.img_rate_thr,
        iof_thr=args.iof_thr,
        padding=not args.no_padding,
        padding_value=tuple(args.padding_value),
        ext=args.ext,
    )
    meta = split_dataset(args.src, args.out, cfg, args.workers, args.overwrite, progress=not args.quiet)
    print(json.dumps(meta))
    return 0


def _merge(args: argparse.Namespace) -> int:
    from detlab.data.merge import merge_to_submission

    meta = merge_to_submission(
        args.dets, args.out, args.split_dir, args.iou_thr, overwrite=args.overwrite, progress=not args.quiet
    )
    print(json.dumps(meta))
    return 0


def _run(func):
    """Bad files found by the format readers are user errors too, and so is a full or read-only
    output disk: one line (naming --out when the system names no file), exit code 2."""

    def run(args: argparse.Namespace) -> int:
        from refined_det.datasets.formats import AnnotationError

        try:
            with disk_errors_as_user_errors(where=args.out):
                return func(args)
        except AnnotationError as err:
            raise UserError(str(err)) from None

    return run


def add_parser(subparsers) -> None:
    data = subparsers.add_parser("data", help="synthetic datasets, DOTA split and merge")
    sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--out", required=True, help="output folder (written all or nothing)")
    common.add_argument("--overwrite", action="store_true", help="replace a complete output")
    common.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("synth", parents=[common], help="write a synthetic HRSC2016 or DOTA set")
    p.add_argument("--dataset", required=True, choices=["hrsc2016", "dota"])
    p.add_argument("--images", type=int, required=True, help="number of images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=0, help="processes (default: up to 2)")
    p.add_argument("--min-size", type=int, default=2000, help="DOTA: smallest image side")
    p.add_argument("--max-size", type=int, default=4000, help="DOTA: largest image side")
    p.set_defaults(func=_run(_synth))

    p = sub.add_parser("split", parents=[common], help="split DOTA images into patches (MMRotate img_split)")
    p.add_argument("--src", required=True, help="DOTA folder with images/ and (optional) labelTxt/")
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--gap", type=int, default=None, help="overlap (default 200; 500 with --multi-scale)")
    p.add_argument("--rates", type=float, nargs="+", help="window scale rates (default 1.0)")
    p.add_argument("--multi-scale", action="store_true", help="MMRotate's ms set: rates 0.5 1.0 1.5, gap 500")
    p.add_argument("--iof-thr", type=float, default=0.7)
    p.add_argument("--img-rate-thr", type=float, default=0.6)
    p.add_argument("--no-padding", action="store_true")
    p.add_argument("--padding-value", type=int, nargs="+", default=[104, 116, 124])
    p.add_argument("--ext", default=".png")
    p.add_argument("--workers", type=int, default=0)
    p.set_defaults(func=_run(_split))

    p = sub.add_parser("merge", parents=[common], help="patch detections -> DOTA Task1 submission")
    p.add_argument("--dets", required=True, help="folder of patch-level Task1_<class>.txt, or an mmdet results .pkl")
    p.add_argument("--split-dir", help="the split folder the .pkl results are over")
    p.add_argument("--iou-thr", type=float, default=0.1, help="rotated NMS IoU (mmrotate: 0.1)")
    p.set_defaults(func=_run(_merge))
