"""`detlab model register`: a training run's best checkpoint as an MLflow (registered) model."""

from __future__ import annotations

import argparse
import json

from detlab.commands.options import add_mlflow_uri


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "model", help="log / register a trained model in MLflow", description="Models in MLflow: see docs/results.md."
    )
    sub = p.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    r = sub.add_parser(
        "register",
        help="log a run's best checkpoint as an MLflow model and register it",
        description="Log the best checkpoint of a training run, with its merged config and class names, as an "
        "MLflow 3 logged model (python_function flavor) of that run, its best val metrics linked; "
        "with --name, register it in the model registry (a new version each time). "
        "Then: detlab test --model models:/NAME/VERSION. Prints JSON.",
    )
    r.add_argument("--run", required=True, metavar="RUN_ID", help="the training run")
    r.add_argument("--name", default=None, help="registered model name (omit: log the model only)")
    add_mlflow_uri(r)
    r.set_defaults(func=run_register)


def run_register(args: argparse.Namespace) -> int:
    from detlab.inference.registry import log_run_model
    from detlab.tracking import resolve_tracking_uri

    print(json.dumps(log_run_model(args.run, resolve_tracking_uri(args.mlflow_uri), args.name), indent=2))
    return 0
