"""`detlab train`: distributed training on Ray Train, recorded in MLflow (see docs/training.md).

Fit a Ray Train TorchTrainer whose workers run mmdet's training loop on the merged config. Uses a
running Ray cluster ($RAY_ADDRESS or one started with `ray start`), else starts a local one. One
MLflow run per training; failures end it FAILED with a one-line reason.
"""

from __future__ import annotations

import argparse
import json
import sys

from detlab.commands.options import add_mlflow_uri, add_sets, options_of
from detlab.limits import PLACEMENT_TIMEOUT_S

HELP = "train a detector on Ray Train (N workers), recorded in MLflow"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help=HELP, description=__doc__)
    p.add_argument("--config", required=True, help="MMRotate config file (e.g. experiments/configs/...py)")
    add_sets(p, "override a config value by dotted key (repeatable); unknown keys are errors")
    p.add_argument("--workers", type=int, default=1, help="Ray Train workers (DDP processes), default 1")
    p.add_argument(
        "--gpus-per-worker", type=float, default=0.0, help="GPUs per worker (0: CPU training over gloo; >0: NCCL)"
    )
    p.add_argument(
        "--cpus-per-worker",
        type=float,
        default=1.0,
        help="CPUs per worker (fractions allowed; torch threads = max(1, int(this)))",
    )
    p.add_argument("--seed", type=int, default=0)
    add_mlflow_uri(p)
    p.add_argument("--experiment", default=None, help="MLflow experiment (default: the config's name)")
    p.add_argument("--parent-run-id", default=None, help="record as a child of this MLflow run")
    p.add_argument(
        "--storage",
        default=None,
        help="Ray Train storage path for checkpoints and run folders (default: work_dirs/ray_train)",
    )
    p.add_argument("--name", default=None, help="run name (default: <config name>-<date>-<time>)")
    p.add_argument(
        "--resume", action="store_true", help="continue the stopped run --name (default: the latest run of this config)"
    )
    p.add_argument(
        "--max-failures",
        type=int,
        default=3,
        help="worker-group restarts from the last checkpoint before giving up (default 3)",
    )
    p.add_argument(
        "--placement-timeout",
        type=float,
        default=PLACEMENT_TIMEOUT_S,
        metavar="SECONDS",
        help="how long the workers may wait for their CPUs/GPUs on the cluster before the run ends "
        f"FAILED naming what it waited for (default {PLACEMENT_TIMEOUT_S:g})",
    )
    p.add_argument(
        "--keep-checkpoints",
        type=int,
        default=2,
        help="checkpoints kept, best by val/mAP (the latest is always kept too)",
    )
    p.add_argument(
        "--register",
        default=None,
        metavar="NAME",
        help="at the end, log the best checkpoint as an MLflow model and register it as NAME "
        "(see `detlab model register`)",
    )
    p.add_argument(
        "--verbose",
        dest="show_library_noise",
        action="store_true",
        help="also show third-party warnings (torch, mmcv) that are filtered by default",
    )
    p.add_argument(
        "--no-system-metrics",
        dest="system_metrics",
        action="store_false",
        help="do not record MLflow system metrics (CPU, memory, GPU) of the training nodes",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from detlab.training.contract import FitRequest
    from detlab.training.driver.ray_trainer import DetectorOptions, train

    names: list[str] = []
    try:
        result = train(
            options_of(
                FitRequest,
                args,
                overrides=args.sets,
                storage_path=args.storage,
                resume=bool(args.resume),
                placement_timeout_s=args.placement_timeout,
            ),
            DetectorOptions(
                keep_checkpoints=args.keep_checkpoints,
                on_name=names.append,
                on_run=_print_links,
                system_metrics=None if args.system_metrics else False,
            ),
        )
    except KeyboardInterrupt:
        where = f" --storage {args.storage}" if args.storage else ""
        name = f" --name {names[0]}" if names else ""
        print(
            f"detlab: interrupted; the MLflow run is marked KILLED. Continue it with: "
            f"detlab train --config {args.config}{where}{name} --resume",
            file=sys.stderr,
        )
        return 130
    summary = {
        "run_id": result.run_id,
        "name": result.name,
        "run_dir": result.path,
        "tracking_uri": result.tracking_uri,
        "best_checkpoint": result.best_checkpoint,
        "best": result.best_metrics,
        "last": result.metrics,
    }
    if args.register:
        from detlab.inference.registry import log_run_model

        summary["model"] = log_run_model(result.run_id, result.tracking_uri, args.register)
    print(json.dumps(summary, indent=2, default=str))
    sys.stdout.flush()
    _print_links(result.run_id, result.tracking_uri)
    return 0


def _print_links(run_id: str, uri: str) -> None:
    """The runs table and the run in MLflow's UI (stderr: stdout is the JSON summary)."""
    from detlab.tracking.links import print_run_links

    print_run_links(uri, run_id)
