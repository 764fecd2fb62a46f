"""`detlab ablate run ABLATION.yaml`: train an ablation's cells x seeds as one grid sweep (docs/ablations.md)."""

from __future__ import annotations

import argparse

DESCRIPTION = (
    "Run the cells of an ablation definition (experiments/ablations/*.yaml) over its seeds as one grid "
    "study on Ray Tune, recorded in MLflow (one parent run, one child run per cell and seed, tagged "
    "detlab.ablate.cell / detlab.ablate.seed). Running the same command again resumes it; a cell and seed "
    "that already has a finished run with the same config in MLflow is not trained again. At the end the "
    "report (detlab report) is written and logged to the parent run."
)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "ablate", help="run ablation tables (cells x seeds) as grid sweeps", description=DESCRIPTION
    )
    sub = p.add_subparsers(dest="ablate_command", required=True, metavar="ACTION")
    run = sub.add_parser("run", help="run or resume an ablation", description=DESCRIPTION)
    run.add_argument("ablation", help="ablation definition, e.g. experiments/ablations/components_smoke.yaml")
    run.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="change a field of the definition by dotted path (repeatable), e.g. seeds=[0,1]",
    )
    run.add_argument(
        "--storage",
        default=None,
        help="folder for the sweep's state (default: $DETLAB_SWEEP_STORAGE, else <repo>/sweeps)",
    )
    run.add_argument(
        "--fresh",
        action="store_true",
        help="start a new sweep (finished cells already in MLflow are still reused; add "
        "--no-reuse to train them again)",
    )
    run.add_argument(
        "--no-reuse",
        dest="reuse",
        action="store_false",
        help="train every cell and seed even when MLflow has a finished run of it",
    )
    run.add_argument(
        "--synth-images",
        type=int,
        default=0,
        metavar="N",
        help="generate a synthetic dataset of N images at dataset.root where it is missing",
    )
    run.add_argument("--address", default=None, help="Ray to use (default: $RAY_ADDRESS, else embedded)")
    run.add_argument("--num-cpus", type=int, default=None, help="CPUs of the embedded Ray (default: all)")
    run.add_argument(
        "--trainer",
        default="mmdet",
        choices=["mmdet", "toy"],
        help="what a trial fits: the detector (default) or the toy objective (tests)",
    )
    run.add_argument("--max-failures", type=int, default=3, help="Ray Train restarts within a trial")
    run.add_argument("--trial-retries", type=int, default=2, help="Tune restarts of a trial whose process died")
    run.add_argument("--progress-interval", type=float, default=20.0, help="seconds between progress tables")
    run.add_argument(
        "--no-report", dest="report", action="store_false", help="do not build and log the report at the end"
    )
    run.add_argument("--report-dir", default=None, help="where the report files go (default: work_dirs/reports/<name>)")
    run.add_argument(
        "--until-significant",
        action="store_true",
        help="after the table, add seeds to the cells of comparisons not yet significant "
        "(jumping to the seeds the power analysis asks for) until each is decided or has "
        "--max-seeds seeds",
    )
    run.add_argument(
        "--max-seeds",
        type=int,
        default=None,
        metavar="N",
        help="with --until-significant: the most seeds a compared cell gets",
    )
    run.add_argument("--verbose", action="store_true", help="show the trials' own logs")
    run.set_defaults(func=run_cmd)


def run_cmd(args: argparse.Namespace) -> int:
    from detlab.ablate import AblateOptions, run_ablation

    outcome = run_ablation(
        AblateOptions(
            ablation=args.ablation,
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
            reuse=args.reuse,
            report=args.report,
            report_dir=args.report_dir,
            until_significant=args.until_significant,
            max_seeds=args.max_seeds,
        )
    )
    return 0 if outcome.complete else 3
