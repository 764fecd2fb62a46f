"""Command-line options several commands share, declared once: `--set`, `--mlflow-uri`, the model
source of `test`/`predict`, the options of a command that runs a sweep (`sweep`, `ablate run`),
and the options dataclass built from parsed arguments."""

from __future__ import annotations

import argparse

from detlab.options import options_of

__all__ = ["add_model_source", "add_mlflow_uri", "add_sets", "add_sweep_running", "options_of"]

MLFLOW_URI_HELP = "tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///<cwd>/mlflow.db)"


def add_sets(p: argparse.ArgumentParser, help: str, metavar: str = "KEY=VALUE") -> None:
    """`--set` (repeatable, into ``args.sets``)."""
    p.add_argument("--set", dest="sets", action="append", default=[], metavar=metavar, help=help)


def add_mlflow_uri(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mlflow-uri", default=None, help=MLFLOW_URI_HELP)


def add_model_source(p: argparse.ArgumentParser) -> None:
    """The model-source flags ``detlab test`` and ``detlab predict`` share (`inference.source.resolve`)."""
    p.add_argument("--run", default=None, metavar="RUN_ID", help="a training run: its best checkpoint")
    p.add_argument("--model", default=None, metavar="models:/NAME/VERSION", help="a registered model")
    p.add_argument("--checkpoint", default=None, metavar="FILE", help="a checkpoint file (with --config)")
    p.add_argument("--config", default=None, metavar="FILE", help="the config the checkpoint was trained with")
    add_sets(p, "override a config value by dotted key (repeatable)")
    add_mlflow_uri(p)


def add_sweep_running(
    p: argparse.ArgumentParser, *, storage_help: str, fresh_help: str, trainer_choices: list[str] | None = None
) -> None:
    """How a command that runs a sweep runs it: storage, Ray, trainer, retries, progress."""
    p.add_argument("--storage", default=None, help=storage_help)
    p.add_argument("--fresh", action="store_true", help=fresh_help)
    p.add_argument(
        "--synth-images",
        type=int,
        default=0,
        metavar="N",
        help="generate a synthetic dataset of N images at dataset.root where it is missing "
        "(smoke sweeps; each node generates its own)",
    )
    p.add_argument(
        "--address",
        default=None,
        help="Ray to use (default: $RAY_ADDRESS, else an embedded local Ray; 'auto': a cluster "
        "started with `ray start` on this machine)",
    )
    p.add_argument("--num-cpus", type=int, default=None, help="CPUs of the embedded Ray (default: all)")
    p.add_argument(
        "--trainer",
        default="mmdet",
        choices=trainer_choices,
        help="what a trial trains with: mmdet (the detector, default), toy (a cheap synthetic objective "
        "for testing the machinery)" + ("" if trainer_choices else " or a module:function Trainer"),
    )
    p.add_argument(
        "--max-failures",
        type=int,
        default=3,
        help="Ray Train worker-group restarts from the last checkpoint within a trial (default 3)",
    )
    p.add_argument(
        "--trial-retries",
        type=int,
        default=2,
        help="Tune restarts of a trial whose process died, e.g. with its node (default 2)",
    )
    p.add_argument("--progress-interval", type=float, default=20.0, help="seconds between progress tables (default 20)")
    p.add_argument(
        "--verbose", action="store_true", help="show the trials' own logs (mmdet, Ray Train) and third-party warnings"
    )
