"""The trainer of a grid-of-cells study (an ablation, a sweep's confirmation stage): pick the
trial's cell, tag its run, skip what MLflow has.

The sweep calls `fit(config, overrides, seed=..., ...)` with the study's base config and
overrides holding the cell name and the plan (`detlab.ablate.study`, `detlab.sweep.confirm`). This wrapper swaps in the
cell's own config and overrides, creates the trial's MLflow child run itself (so the
run carries `detlab.ablation`, `detlab.ablate.cell`, `detlab.ablate.seed`,
`detlab.ablate.fingerprint` and `detlab.ablate.trainer` from its first moment, even if
training dies at once) and records it in the trial's run folder, where the real `fit`
(`detlab.training.ray_trainer.fit`, or the toy) finds it and records into it.

A plan may name the trainer to wrap itself (`inner`, a `detlab.sweep.trainers` name or
module:function): a sweep's confirmation stage (`detlab.sweep.confirm`) wraps the trainer
the sweep used.

Cells already in MLflow are not rerun: when a FINISHED run with the same ablation,
cell, seed, fingerprint and trainer exists (from an earlier, e.g. `--fresh`, run of the
ablation), the trial makes a child run that copies its metrics and names it in
`detlab.ablate.reused_from`, reports its numbers to Tune and trains nothing.
"""

from __future__ import annotations

import os
import os.path as osp
from collections.abc import Callable, Mapping
from typing import Any

from detlab.specs.ablation import CELL_KEY, PLAN_KEY
from detlab.sweep.trainers import TRAINERS as INNER
from detlab.tracking.ablation_tags import (
    TAG_ABLATION,
    TAG_CELL,
    TAG_FINGERPRINT,
    TAG_REUSED,
    TAG_SEED,
    TAG_TRAINER,  # the trainers a cell can wrap: one table
)


def cell_tags(plan: Mapping[str, Any], cell: str, seed: int) -> dict[str, str]:
    """The tags that tie a run to its table cell (the report selects runs by them)."""
    return {
        TAG_ABLATION: plan["ablation"],
        TAG_CELL: cell,
        TAG_SEED: str(seed),
        TAG_FINGERPRINT: plan["cells"][cell]["fingerprint"],
        TAG_TRAINER: plan["trainer"],
    }


def split_overrides(overrides: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """(plan, cell) out of a trial's overrides; the rest (the study's data paths) is dropped:
    each cell's plan entry carries its own."""
    if PLAN_KEY not in overrides or CELL_KEY not in overrides:
        from detlab.errors import UserError

        raise UserError(
            f"the ablation trainer needs {PLAN_KEY} and {CELL_KEY} in the overrides "
            "(run ablations with `detlab ablate run`)"
        )
    return dict(overrides[PLAN_KEY]), str(overrides[CELL_KEY])


def make_fit(inner: str) -> Callable[..., Any]:
    """A `fit` with the sweep's signature around the trainer `inner` (a name in INNER)."""

    def fit(
        config: str | os.PathLike,
        overrides: Mapping[str, Any] | None = None,
        *,
        seed: int = 0,
        mlflow_uri: str | None = None,
        experiment: str | None = None,
        parent_run_id: str | None = None,
        run_name: str | None = None,
        storage_path: str | os.PathLike | None = None,
        name: str | None = None,
        workers: int = 1,
        **kwargs: Any,
    ) -> Any:
        from detlab.sweep.trainers import resolve_trainer
        from detlab.tracking import resolve_tracking_uri
        from detlab.training.ray_trainer import normalize_overrides
        from detlab.training.run_record import RunRecord

        plan, cell = split_overrides(normalize_overrides(overrides))
        entry = plan["cells"][cell]
        uri = resolve_tracking_uri(mlflow_uri)
        exp = experiment or plan["ablation"]
        storage = osp.abspath(os.fspath(storage_path or osp.join("work_dirs", "ablate")))
        name = name or f"{plan['ablation']}-{cell}-s{seed}"
        run_dir = osp.join(storage, name)
        tags = cell_tags(plan, cell, seed)
        title = f"{cell} seed={seed}" + (f" [{run_name}]" if run_name else "")  # what the MLflow UI lists
        if RunRecord.load(run_dir) is None:
            source = find_finished(uri, exp, tags) if plan.get("reuse", True) else None
            if source is not None:
                return reuse(
                    source,
                    uri=uri,
                    experiment=exp,
                    parent_run_id=parent_run_id,
                    run_name=title,
                    run_dir=run_dir,
                    tags=tags,
                    plan=plan,
                    seed=seed,
                )
            _create_run(
                entry,
                tags,
                uri=uri,
                experiment=exp,
                parent_run_id=parent_run_id,
                run_name=title,
                run_dir=run_dir,
                seed=seed,
                workers=workers,
            )
        return resolve_trainer(plan.get("inner") or INNER[inner])(
            entry["config"],
            entry["overrides"],
            seed=seed,
            mlflow_uri=uri,
            experiment=exp,
            parent_run_id=parent_run_id,
            run_name=run_name,
            storage_path=storage,
            name=name,
            workers=workers,
            **kwargs,
        )

    fit.__name__ = f"fit_{inner}"
    fit.__qualname__ = f"fit_{inner}"
    return fit


fit_mmdet = make_fit("mmdet")
fit_toy = make_fit("toy")
TRAINERS = {"mmdet": "detlab.sweep.cell_trainer:fit_mmdet", "toy": "detlab.sweep.cell_trainer:fit_toy"}


def _create_run(
    entry: Mapping[str, Any],
    tags: Mapping[str, str],
    *,
    uri: str,
    experiment: str,
    parent_run_id: str | None,
    run_name: str,
    run_dir: str,
    seed: int,
    workers: int,
) -> str:
    """The child run with the cell's tags, and its record in the trial's run folder (so `fit` uses it)."""
    from detlab.tracking import RunRecorder
    from detlab.tracking.context import run_context_tags
    from detlab.training.run_record import RunRecord

    all_tags = {
        **run_context_tags(osp.dirname(entry["config"])),
        **tags,
        "detlab.config": entry["config"],
        "detlab.ray.run_dir": run_dir,
        "detlab.workers": workers,
    }
    run_id = RunRecorder.create_run(
        experiment, run_name, parent_run_id=parent_run_id, tags=all_tags, tracking_uri=uri, print_hint=False
    )
    RunRecord(run_id, uri, experiment, entry["config"], dict(entry["overrides"]), seed).save(run_dir)
    return run_id


def find_finished(uri: str, experiment: str, tags: Mapping[str, str]) -> Any | None:
    """The earliest original FINISHED, unpruned run with exactly these cell tags, if MLflow has one."""
    from detlab.tracking.client import make_client

    client = make_client(uri)
    exp = client.get_experiment_by_name(experiment)
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


def reuse(
    source: Any,
    *,
    uri: str,
    experiment: str,
    parent_run_id: str | None,
    run_name: str,
    run_dir: str,
    tags: Mapping[str, str],
    plan: Mapping[str, Any],
    seed: int,
) -> dict[str, Any]:
    """A FINISHED child run copying `source`'s params and last metrics, reported to Tune."""
    from detlab.tracking import RunRecorder
    from detlab.training.run_record import RunRecord

    src_id = source.info.run_id
    all_tags = {**tags, TAG_REUSED: src_id, "mlflow.note.content": f"not retrained: the numbers of run {src_id}"}
    run_id = RunRecorder.create_run(
        experiment, run_name, parent_run_id=parent_run_id, tags=all_tags, tracking_uri=uri, print_hint=False
    )
    entry = plan["cells"][tags[TAG_CELL]]
    RunRecord(run_id, uri, experiment, entry["config"], dict(entry["overrides"]), seed).save(run_dir)
    metrics = {k: float(v) for k, v in source.data.metrics.items()}
    rec = RunRecorder.attach(run_id, tracking_uri=uri, count_attempt=False)
    rec.log_params(dict(source.data.params))
    rec.log_metrics(metrics)
    rec.finish("FINISHED")
    _report_to_tune(metrics)
    return {"run_id": run_id, "reused_from": src_id, "metrics": metrics}


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
