"""`detlab sweep`: run or resume a Ray Tune sweep of a study spec, recorded in MLflow (docs/sweeps.md)."""

from __future__ import annotations

import argparse
import sys

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
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="change a spec field by dotted path (repeatable), e.g. trials.num_samples=4",
    )
    p.add_argument(
        "--storage",
        default=None,
        help="folder (shared storage on a cluster) for the study's Tune, Train and Optuna state "
        "(default: $DETLAB_SWEEP_STORAGE, else <repo>/sweeps; ~/detlab-sweeps in a Ray job)",
    )
    p.add_argument(
        "--fresh",
        action="store_true",
        help="move an earlier sweep of this study aside and start over instead of resuming it",
    )
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
        help="what a trial fits: mmdet (the detector, default), toy (a cheap synthetic objective "
        "for testing the machinery) or module:function",
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
        from detlab.sweep.dashboard import serve

        return serve(args.study, list(args.sets), args.storage, host=args.host, port=args.port)
    import os

    from detlab.sweep import SweepOptions, run_sweep
    from detlab.training.ray_trainer import SYSTEM_METRICS_ENV

    if not args.system_metrics:  # the trials' processes inherit it (local Ray)
        os.environ[SYSTEM_METRICS_ENV] = "0"

    opts = SweepOptions(
        study=args.study,
        sets=list(args.sets),
        storage=args.storage,
        trainer=args.trainer,
        address=args.address,
        num_cpus=args.num_cpus,
        fresh=args.fresh,
        synth_images=args.synth_images,
        max_failures=args.max_failures,
        trial_retries=args.trial_retries,
        progress_interval=args.progress_interval,
        verbose=args.verbose,
    )
    try:
        outcome = run_sweep(opts)
    except KeyboardInterrupt:
        print("sweep: interrupted; run the same command again to resume it", file=sys.stderr)
        return 130
    return 0 if outcome.complete else 3
