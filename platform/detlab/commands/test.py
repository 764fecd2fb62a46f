"""`detlab test`: a trained model on the val/test split, scored as the benchmark does, logged to MLflow.

Run the model over the config's test (or val) dataset and score it with the platform's evaluator.
HRSC2016: AP50 VOC07 (the paper's), AP50 VOC12, AP75, mAP50:95. DOTA: the patch results are merged
to full images (rotated NMS) and scored with the devkit's rules at the same IoU levels. Metrics
test/* go to the training run (--run) or to a new run in experiment detlab-test tagged with its
source; the Task1 files, PR curves and eval.json are its artifacts. Prints JSON.
"""

from __future__ import annotations

import argparse
import json

from detlab.commands.options import add_model_source, options_of

HELP = "test a trained model (run, registered model or checkpoint) on the val/test split"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("test", help=HELP, description=__doc__)
    add_model_source(p)
    p.add_argument("--split", choices=["val", "test"], default="test", help="which data.<split> (default test)")
    p.add_argument(
        "--submission",
        default=None,
        metavar="OUT.zip",
        help="also write the DOTA test-server zip (one Task1_<class>.txt per class, full images)",
    )
    p.add_argument(
        "--workers", type=int, default=1, help="data-parallel inference on N Ray tasks (default 1: this process)"
    )
    p.add_argument(
        "--labels",
        default=None,
        metavar="DIR",
        help="DOTA: full-image labelTxt folder (default: the one the split folder was cut from)",
    )
    p.add_argument("--out", default=None, metavar="DIR", help="keep the Task1 files, PR curves and eval.json here")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from detlab.inference.source import resolve
    from detlab.inference.test_job import TestOptions, run_test
    from detlab.tracking import resolve_tracking_uri

    uri = resolve_tracking_uri(args.mlflow_uri)
    source = resolve(args, uri)
    opts = options_of(TestOptions, args)
    print(json.dumps(run_test(source, opts, uri), indent=2, default=str))
    return 0
