"""The trainer of a grid-of-cells study (an ablation, a sweep's confirmation stage): train the
trial's cell with its own config, tag its run, skip what MLflow has.

A trial of such a study carries its cell in the request (`FitRequest.cell`: the study's
`CellGrid` and the cell's name, see `detlab.specs.study`). This trainer swaps in the
cell's own config and overrides, creates the trial's MLflow child run itself (so the
run carries `detlab.ablation`, `detlab.ablate.cell`, `detlab.ablate.seed`,
`detlab.ablate.fingerprint` and `detlab.ablate.trainer` from its first moment, even if
training dies at once) and records it in the trial's run folder, where the grid's
trainer (`CellGrid.trainer`: the detector, the toy, or the trainer a sweep used) finds
it and records into it.

Cells already in MLflow are not rerun: when a FINISHED run with the same ablation,
cell, seed, fingerprint and trainer exists (from an earlier, e.g. `--fresh`, run of the
ablation), the trial makes a child run that copies its metrics and names it in
`detlab.ablate.reused_from`, reports its numbers to Tune and trains nothing.
"""

from __future__ import annotations

import os.path as osp
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from detlab.errors import UserError
from detlab.specs.study import CellGrid
from detlab.tracking import resolve_tracking_uri
from detlab.tracking.ablation_tags import TAG_ABLATION, TAG_CELL, TAG_FINGERPRINT, TAG_REUSED, TAG_SEED, TAG_TRAINER
from detlab.tracking.client import make_client
from detlab.training.contract import FitOutcome, FitRequest, Trainer
from detlab.training.driver.lifecycle import RunPlace, TrainingRun, locate

if TYPE_CHECKING:
    from mlflow.entities import Run

DEFAULT_STORAGE = osp.join("work_dirs", "ablate")


def cell_tags(grid: CellGrid, cell: str, seed: int) -> dict[str, str]:
    """The tags that tie a run to its table cell (the report selects runs by them)."""
    return {
        TAG_ABLATION: grid.ablation,
        TAG_CELL: cell,
        TAG_SEED: str(seed),
        TAG_FINGERPRINT: grid.cells[cell].fingerprint,
        TAG_TRAINER: grid.trainer,
    }


class CellTrainer:
    """A `Trainer` for the trials of a grid of cells; ``resolve`` finds the grid's own trainer by name."""

    def __init__(self, resolve: Callable[[str], Trainer]) -> None:
        self.resolve = resolve

    def __call__(self, request: FitRequest, /) -> FitOutcome:
        if request.cell is None:
            raise UserError(
                "the cells trainer trains one cell of a grid study and this trial names none "
                "(run ablations with `detlab ablate run`)"
            )
        grid, cell, seed = request.cell.grid, request.cell.name, request.seed
        entry = grid.cells[cell]
        inner = replace(
            request,
            config=entry.config,
            overrides=dict(entry.overrides),
            mlflow_uri=resolve_tracking_uri(request.mlflow_uri),
            experiment=request.experiment or grid.ablation,
            name=request.name or f"{grid.ablation}-{cell}-s{seed}",
            cell=None,
        )
        place = locate(inner, DEFAULT_STORAGE)
        inner = replace(inner, storage_path=place.storage)
        tags = cell_tags(grid, cell, seed)
        if place.record is None:
            titled = replace(
                inner, run_name=f"{cell} seed={seed}" + (f" [{request.run_name}]" if request.run_name else "")
            )
            source = find_finished(titled, tags) if grid.reuse else None
            if source is not None:
                return reuse(source, place, titled, tags)
            TrainingRun.open(place, titled, tags=tags, print_hint=False)
        return self.resolve(grid.trainer)(inner)


def find_finished(request: FitRequest, tags: Mapping[str, str]) -> Run | None:
    """The earliest original FINISHED, unpruned run with exactly these cell tags in the request's
    experiment, if MLflow has one."""
    assert request.mlflow_uri is not None and request.experiment is not None  # CellTrainer fills both
    client = make_client(request.mlflow_uri)
    exp = client.get_experiment_by_name(request.experiment)
    if exp is None:
        return None
    where = " and ".join(f"tags.`{k}` = '{v}'" for k, v in tags.items())
    runs = client.search_runs(
        [exp.experiment_id],
        filter_string=f"{where} and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time ASC"],
        max_results=50,
    )
    runs = [r for r in runs if r.data.tags.get("pruned") != "true" and TAG_REUSED not in r.data.tags]
    return runs[0] if runs else None


def reuse(source: Run, place: RunPlace, request: FitRequest, tags: Mapping[str, str]) -> FitOutcome:
    """A FINISHED child run copying `source`'s params and last metrics, reported to Tune."""
    src_id = source.info.run_id
    copied = {**tags, TAG_REUSED: src_id, "mlflow.note.content": f"not retrained: the numbers of run {src_id}"}
    run = TrainingRun.open(place, request, tags=copied, print_hint=False)
    metrics = {k: float(v) for k, v in source.data.metrics.items()}
    rec = run.recorder()
    rec.log_params(dict(source.data.params))
    rec.log_metrics(metrics)
    rec.finish("FINISHED")
    _report_to_tune(metrics)
    return FitOutcome(run.run_id, place.name, place.run_dir, run.tracking_uri, metrics)


def _report_to_tune(metrics: Mapping[str, float]) -> None:
    """One result for Tune (the leaderboard and the objective need it); nothing outside Tune."""
    try:
        from ray import tune

        inside = tune.get_context().get_trial_id() is not None
    except Exception:  # noqa: BLE001 - not inside a Tune trial (a direct call)
        inside = False
    if not inside:
        return
    tune.report(dict(metrics))
