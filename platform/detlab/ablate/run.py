"""`run_ablation`: an ablation definition in, its cells trained as one grid sweep, the report out.

The sweep runner does the work (Ray Tune grid over cells x seeds, one MLflow parent
run, one child run per trial, resume by running the same command again); this module
only compiles the definition into a study (study.py), picks the cell-aware trainer
(`detlab.sweep.cell_trainer` trains each cell), and afterwards closes runs a killed driver left RUNNING and publishes
the report to the parent run.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from detlab.ablate.extend import until_significant
from detlab.ablate.options import AblateOptions, sweep_options
from detlab.ablate.study import plan_of, study_data, write_study
from detlab.errors import UserError
from detlab.report import ReportOptions, make_report
from detlab.specs.ablation_cells import load_ablation, resolve_cells
from detlab.sweep import SweepOutcome, run_sweep
from detlab.sweep.layout import default_storage
from detlab.sweep.trainers import TRAINERS
from detlab.tracking import RunRecorder
from detlab.tracking.client import make_client


def run_ablation(opts: AblateOptions, out: TextIO | None = None) -> SweepOutcome:
    """Run (or resume) the ablation; returns the sweep's `SweepOutcome`."""

    out = out or sys.stdout
    if opts.trainer not in TRAINERS:
        raise UserError(f"--trainer {opts.trainer!r}: choose {', '.join(TRAINERS)}")
    if opts.until_significant and (opts.max_seeds is None or opts.max_seeds < 2):
        raise UserError(f"--until-significant needs --max-seeds N with N >= 2 (got {opts.max_seeds})")
    spec = load_ablation(opts.ablation, opts.sets)
    cells = resolve_cells(spec)
    plan = plan_of(spec, cells, trainer=opts.trainer, reuse=opts.reuse)
    storage = Path(opts.storage).expanduser().resolve() if opts.storage else default_storage(spec.root)
    study = write_study(study_data(spec, cells, plan), storage / "ablations")
    print(
        f"ablation {spec.name}: {len(cells)} cells x {len(spec.seeds)} seeds "
        f"({', '.join(c.name for c in cells)}); study {study}",
        file=out,
    )
    outcome = run_sweep(sweep_options(opts, study, storage, fresh=opts.fresh), out)
    if outcome.complete:
        closed = close_orphans(outcome.tracking_uri, outcome.parent_run_id)
        if closed:
            print(
                f"marked {len(closed)} run(s) KILLED that a killed driver had left RUNNING: {', '.join(closed)}",
                file=out,
            )
    if opts.until_significant and outcome.complete:
        outcome.complete = until_significant(opts, spec, cells, storage, outcome.tracking_uri, out)
    _log_definition(outcome, opts.ablation)
    if opts.report:
        make_report(
            ReportOptions(
                ablation=opts.ablation,
                sets=list(opts.sets),
                tracking_uri=outcome.tracking_uri,
                trainer=opts.trainer,
                out_dir=opts.report_dir,
            ),
            out,
        )
    return outcome


def close_orphans(tracking_uri: str, parent_run_id: str) -> list[str]:
    """Child runs of a finished sweep still RUNNING (their trial's snapshot died with a killed
    driver, and Tune ran the cell again as a new trial) become KILLED, so nothing stays RUNNING."""

    client = make_client(tracking_uri)
    parent = client.get_run(parent_run_id)
    runs = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{parent_run_id}' and attributes.status = 'RUNNING'",
        max_results=1000,
    )
    for run in runs:
        RunRecorder.close_run(
            run.info.run_id,
            "KILLED",
            tracking_uri=tracking_uri,
            error="left RUNNING by a killed sweep driver; its cell was run again",
        )
    return [r.info.run_id for r in runs]


def _log_definition(outcome: SweepOutcome, path: str) -> None:
    """The ablation definition beside the generated study on the parent run."""

    try:
        text = Path(path).read_text()
        make_client(outcome.tracking_uri).log_text(outcome.parent_run_id, text, "spec/ablation.yaml")
    except Exception as err:  # noqa: BLE001 - the report works without it
        print(f"warning: could not log the ablation definition to the parent run ({err})", file=sys.stderr)
