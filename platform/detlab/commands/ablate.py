"""`detlab ablate run ABLATION.yaml`: train an ablation's cells x seeds as one grid sweep (docs/ablations.md)."""

from __future__ import annotations

import argparse

from detlab.commands.options import add_sets, add_sweep_running, options_of

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
    add_sets(run, "change a field of the definition by dotted path (repeatable), e.g. seeds=[0,1]", "FIELD=VALUE")
    add_sweep_running(
        run,
        storage_help="folder for the sweep's state (default: $DETLAB_SWEEP_STORAGE, else <repo>/sweeps)",
        fresh_help="start a new sweep (finished cells already in MLflow are still reused; add "
        "--no-reuse to train them again)",
        trainer_choices=["mmdet", "toy"],
    )
    run.add_argument(
        "--no-reuse",
        dest="reuse",
        action="store_false",
        help="train every cell and seed even when MLflow has a finished run of it",
    )
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
    run.set_defaults(func=run_cmd)


def run_cmd(args: argparse.Namespace) -> int:
    from detlab.ablate import AblateOptions, run_ablation

    outcome = run_ablation(options_of(AblateOptions, args, sets=list(args.sets)))
    return 0 if outcome.complete else 3
