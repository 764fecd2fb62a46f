"""`detlab predict`: a trained model on loose images: text, pictures and an HTML index.

Per image: <stem>.txt (class score x1 y1 ... x4 y4 per detection) and <stem>.png (rotated boxes,
class names and scores drawn); index.html shows them all. Images larger than the model's input (DOTA
scenes) are cut into overlapping patches and merged back with rotated NMS. The output folder is
written all or nothing. Prints JSON.
"""

from __future__ import annotations

import argparse
import json

from detlab.commands.options import add_model_source, options_of
from detlab.inference.predict_job import PredictOptions, run_predict
from detlab.inference.source import resolve
from detlab.tracking import resolve_tracking_uri

HELP = "detect on images with a trained model: per-image text, pictures, index.html"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("predict", help=HELP, description=__doc__)
    add_model_source(p)
    p.add_argument("--images", required=True, nargs="+", metavar="DIR_OR_FILE", help="image folders and/or files")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--score-thr", type=float, default=0.3, help="keep detections scoring at least this (0.3)")
    p.add_argument(
        "--gap", type=int, default=None, help="overlap of the patches of large images, pixels (default: input size / 5)"
    )
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--overwrite", action="store_true", help="replace an output folder predict wrote before")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    source = resolve(args, resolve_tracking_uri(args.mlflow_uri))
    options = options_of(PredictOptions, args, sets=list(args.sets), progress=not args.quiet)
    summary = run_predict(source, args.images, args.out, options)
    print(json.dumps(summary, indent=2))
    return 0
