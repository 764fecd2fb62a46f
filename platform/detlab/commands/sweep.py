"""`detlab sweep`: run or resume a Ray Tune sweep of a study spec, recorded in MLflow (docs/sweeps.md)."""

from __future__ import annotations

import argparse
import sys

from detlab.commands.options import add_sets, add_sweep_running, options_of
from detlab.sweep import SweepOptions, run_sweep
from detlab.sweep.dashboard import serve

DESCRIPTION = (
    "Run the study's trials with Ray Tune (OptunaSearch + ASHA; one Ray Train fit per trial) and record "
    "them in MLflow: one parent run for the study, one child run per trial. Without --address and "
    "$RAY_ADDRESS it starts an embedded Ray on 127.0.0.1; under `ray job submit` it joins the cluster. "
    "Running the same command again resumes an interrupted sweep."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action",
        nargs="?",
        choices=["run", "dashboard"],
        default="run",
        help="run (default): run or resume the sweep; dashboard: open optuna-dashboard over the "
        "study's Optuna storage on 127.0.0.1 and print its link",
    )
    p.add_argument("--study", required=True, help="study spec, e.g. experiments/studies/cla_hrsc_smoke.yaml")
    add_sets(p, "change a spec field by dotted path (repeatable), e.g. trials.num_samples=4", "FIELD=VALUE")
    add_sweep_running(
        p,
        storage_help="folder (shared storage on a cluster) for the study's Tune, Train and Optuna state "
        "(default: $DETLAB_SWEEP_STORAGE, else <repo>/sweeps; ~/detlab-sweeps in a Ray job)",
        fresh_help="move an earlier sweep of this study aside and start over instead of resuming it",
    )
    p.add_argument(
        "--port", type=int, default=8080, help="dashboard: port of optuna-dashboard (default 8080; 0 picks a free one)"
    )
    p.add_argument("--host", default="127.0.0.1", help="dashboard: address to bind (default 127.0.0.1)")
    p.add_argument(
        "--no-system-metrics",
        dest="system_metrics",
        action="store_false",
        help="do not record MLflow system metrics (CPU, memory, GPU) of the trials",
    )


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep", help="run or resume a hyper-parameter sweep of a study spec", description=DESCRIPTION
    )
    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "dashboard":
        return serve(args.study, list(args.sets), args.storage, host=args.host, port=args.port)
    import os

    from detlab.training.driver.ray_trainer import SYSTEM_METRICS_ENV

    if not args.system_metrics:  # the trials' processes inherit it (local Ray)
        os.environ[SYSTEM_METRICS_ENV] = "0"

    opts = options_of(SweepOptions, args, sets=list(args.sets))
    try:
        outcome = run_sweep(opts)
    except KeyboardInterrupt:
        print("sweep: interrupted; run the same command again to resume it", file=sys.stderr)
        return 130
    return 0 if outcome.complete else 3
