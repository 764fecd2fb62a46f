"""`run_sweep`: a study spec in, a finished (or resumed) Ray Tune sweep recorded in MLflow out.

Order matters: everything that can be wrong with the spec, the data or the cluster
size is checked before the MLflow parent run is created and before any trial starts,
so a bad spec leaves nothing behind. Running the same command again after the driver
died continues the sweep (Tuner.restore) into the same parent run and Optuna study.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detlab.errors import UserError
from detlab.sweep.layout import StudyPaths, SweepState, default_storage, in_ray_job
from detlab.sweep.plots import curves_figure, optuna_figures
from detlab.sweep.trial import TrialJob

log = logging.getLogger("detlab.sweep")


@dataclass
class SweepOptions:
    study: str
    sets: list[str] = field(default_factory=list)
    storage: str | None = None  # default: layout.default_storage
    trainer: str = "mmdet"  # trainers.TRAINERS name or module:function
    address: str | None = None  # Ray address; default $RAY_ADDRESS, else an embedded Ray
    num_cpus: int | None = None  # embedded Ray only
    fresh: bool = False  # archive an earlier sweep of this study and start over
    synth_images: int = 0  # generate a synthetic dataset at dataset.root when missing
    max_failures: int = 3  # Ray Train worker-group restarts per trial
    trial_retries: int = 2  # Tune retries of a trial whose process died (lost node)
    progress_interval: float = 20.0
    verbose: bool = False


@dataclass
class SweepOutcome:
    name: str
    experiment_dir: Path
    parent_run_id: str
    tracking_uri: str
    rows: list[dict]
    best: dict | None
    resumed: bool
    complete: bool
    optuna_storage: str | None
    optuna_study: str | None
    leaderboard_csv: Path
    timings: dict[str, float] = field(default_factory=dict)
    confirmation: Any = None  # confirm.Confirmation, when the study has a confirm stage


def run_sweep(opts: SweepOptions, out: Any = None) -> SweepOutcome:
    """Run (or resume) the sweep of `opts.study`; prints progress and the leaderboard to `out`."""
    from detlab.specs import check_against_config, load_spec, num_trials
    from detlab.sweep.data import check_data_exists, dataset_overrides, dataset_root, ensure_synthetic
    from detlab.sweep.trainers import resolve_trainer

    out = out or sys.stdout
    t0 = time.monotonic()
    timings: dict[str, float] = {}

    # 1. the spec, the config and the data: no Ray, no MLflow yet
    spec = load_spec(opts.study, opts.sets)
    cfg = check_against_config(spec)
    data_overrides = dataset_overrides(spec, cfg)
    resolve_trainer(opts.trainer)
    storage = Path(opts.storage).expanduser().resolve() if opts.storage else default_storage(spec.root)
    paths = StudyPaths(storage, spec.name)
    if opts.fresh:
        moved = paths.archive()
        if moved:
            print(f"--fresh: the earlier sweep of {spec.name} is now {moved}", file=out)
    state = SweepState.load(paths)
    spec_data = spec.model_dump(mode="json")
    if state is not None:
        _check_same(state, spec_data, opts, paths)
    root = dataset_root(spec)
    synth = (spec.dataset.name, str(root), opts.synth_images) if opts.synth_images and root else None
    if synth:
        ensure_synthetic(*synth)
    else:
        check_data_exists(spec)
    timings["checks_s"] = time.monotonic() - t0

    # 2. Ray, and whether one trial fits on it
    from detlab.sweep.cluster import concurrency, connect, head_cpus

    where = connect(opts.address, num_cpus=opts.num_cpus, verbose=opts.verbose)
    import ray

    max_concurrent = concurrency(spec, ray.cluster_resources(), head_cpus())
    timings["ray_s"] = time.monotonic() - t0

    # 3. the parent run and the sweep state (from here on, the sweep exists)
    from ray import tune

    from detlab.sweep import optuna_store
    from detlab.tracking.uri import resolve_tracking_uri, sqlite_uri

    resumed = state is not None and tune.Tuner.can_restore(str(paths.experiment_dir))
    if state is None:
        uri = spec.mlflow.tracking_uri
        if uri is None and not os.environ.get("MLFLOW_TRACKING_URI") and in_ray_job():
            uri = sqlite_uri(storage / "mlflow.db")  # the job's working directory is temporary
        uri = resolve_tracking_uri(uri)
        optuna_url = optuna_store.storage_url(spec, paths.optuna_db) if spec.sampler.type != "grid" else None
        optuna_name = f"{spec.name}-{time.strftime('%Y%m%d-%H%M%S')}" if optuna_url else None
        from detlab.sweep.parent import create_parent

        parent = create_parent(
            spec,
            tracking_uri=uri,
            tags={
                "detlab.sweep.dir": str(paths.experiment_dir),
                "detlab.trainer": opts.trainer,
                "detlab.optuna.storage": optuna_url or "",
                "detlab.optuna.study": optuna_name or "",
            },
        )
        state = SweepState(
            spec=spec_data,
            parent_run_id=parent,
            tracking_uri=uri,
            optuna_storage=optuna_url,
            optuna_study=optuna_name,
            trainer=opts.trainer,
        )
        state.save(paths)
    from detlab.sweep.parent import log_study
    from detlab.tracking import RunRecorder

    rec = RunRecorder.attach(state.parent_run_id, tracking_uri=state.tracking_uri, spool_dir=None)
    log_study(rec, spec, _read_text(opts.study))
    print(
        f"{'resuming' if resumed else 'starting'} sweep {spec.name}: {num_trials(spec)} trials, "
        f"{max_concurrent} at a time, on {where}\n  study folder: {paths.experiment_dir}",
        file=out,
    )
    _print_links(spec, state, out)
    if state.optuna_storage:
        where = f" --storage {opts.storage}" if opts.storage else ""
        print(
            f"  Optuna study {state.optuna_study}: open its dashboard with: detlab sweep dashboard "
            f"--study {opts.study}{where}",
            file=out,
        )
    out.flush()

    # 4. the Tuner; Tune snapshots its state every second (default: every 10 s or more), so a
    # killed driver loses at most a second of trial outcomes
    os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "1")
    from detlab.sweep.tuner import build_tuner, restore_tuner

    job = TrialJob(
        spec=spec_data,
        config=str(spec.resolve(spec.base_config)),
        data_overrides=data_overrides,
        trainer=state.trainer,
        tracking_uri=state.tracking_uri,
        experiment=spec.experiment,
        parent_run_id=state.parent_run_id,
        train_storage=str(paths.train_storage),
        max_failures=opts.max_failures,
        synth=synth,
    )
    if resumed:
        tuner = restore_tuner(paths, spec, job)
    else:
        tuner = build_tuner(
            paths,
            spec,
            job,
            optuna_storage=state.optuna_storage,
            optuna_study=state.optuna_study,
            max_concurrent=max_concurrent,
            trial_retries=opts.trial_retries,
            progress_interval=opts.progress_interval,
        )
    timings["tuner_s"] = time.monotonic() - t0
    try:
        results = tuner.fit()
    except BaseException as err:
        rec.finish("KILLED" if isinstance(err, KeyboardInterrupt) else "FAILED", error=err)
        raise
    timings["fit_s"] = time.monotonic() - t0
    outcome = _finish(spec, paths, state, tuner, results, rec, resumed, out, timings)
    if spec.confirm is not None and outcome.complete:  # the search's top settings vs the baseline, over seeds
        from detlab.sweep.confirm import run_confirmation

        outcome.confirmation = run_confirmation(opts, spec, paths, state, outcome, out)
        outcome.complete = outcome.confirmation.complete
        timings["confirm_s"] = time.monotonic() - t0
    return outcome


def _finish(
    spec: Any,
    paths: Any,
    state: Any,
    tuner: Any,
    results: Any,
    rec: Any,
    resumed: bool,
    out: Any,
    timings: dict[str, float],
) -> SweepOutcome:
    """Settle every trial's child run, clean Optuna, write the leaderboard, close the parent run."""
    from detlab.specs import num_trials
    from detlab.sweep import leaderboard, optuna_store
    from detlab.sweep.parent import log_summary
    from detlab.sweep.progress import ENDED
    from detlab.sweep.runs import ChildRuns
    from detlab.sweep.tuner import tuner_parts
    from detlab.tracking.uri import ui_hint

    scheduler, _ = tuner_parts(tuner)
    runs = ChildRuns(str(paths.train_storage), state.tracking_uri, spec.experiment, state.parent_run_id)
    max_t = spec.scheduler.max_t if spec.scheduler.type == "asha" else None
    rows = leaderboard.build(spec, results, runs, scheduler, max_t)
    _settle_all(tuner, runs, rows)
    complete = len(rows) >= num_trials(spec) and all(r["status"] in ENDED for r in rows)
    zombies: list[int] = []
    if state.optuna_storage and complete:
        zombies = optuna_store.fail_running_trials(
            state.optuna_storage, state.optuna_study, "left RUNNING by a driver that was killed; the sweep was resumed"
        )
    csv_text = leaderboard.to_csv(rows, spec)
    paths.leaderboard.write_text(csv_text)
    log_summary(rec, spec, rows, csv_text, _figures(spec, state, results, rows))
    if zombies:
        rec.set_tags({"optuna.zombie_trials_failed": ",".join(map(str, zombies))})
    rec.finish(
        "FINISHED" if complete else "KILLED",
        error=None if complete else "sweep interrupted; run the same command again to resume it",
    )
    best = leaderboard.best_row(rows, spec.objective.metric)
    print(
        f"\nleaderboard of {spec.name} ({len(rows)} trials; {paths.leaderboard}):\n{leaderboard.to_text(rows, spec)}\n",
        file=out,
    )
    if best is not None:
        print(
            f"best: {best['trial']} {spec.objective.metric}={best[spec.objective.metric]:.4g} "
            f"(MLflow run {best['mlflow_run_id']})",
            file=out,
        )
    print(ui_hint(state.tracking_uri), file=out)
    _print_links(spec, state, out)
    if not complete:
        print("the sweep did not finish: run the same command again to resume it", file=out)
    out.flush()
    timings["total_s"] = timings.get("fit_s", 0.0)
    return SweepOutcome(
        name=spec.name,
        experiment_dir=paths.experiment_dir,
        parent_run_id=state.parent_run_id,
        tracking_uri=state.tracking_uri,
        rows=rows,
        best=best,
        resumed=resumed,
        complete=complete,
        optuna_storage=state.optuna_storage,
        optuna_study=state.optuna_study,
        leaderboard_csv=paths.leaderboard,
        timings=timings,
    )


def _print_links(spec: Any, state: Any, out: Any) -> None:
    """The runs table (trials under the parent, objective and search params as columns, best
    first) and the parent run, on the tracking server or the local UI."""
    from detlab.tracking.links import HEADLINE_METRICS, print_run_links

    metric = spec.objective.metric
    print_run_links(
        state.tracking_uri,
        state.parent_run_id,
        file=out,
        what="parent run",
        metrics=[metric, *(m for m in HEADLINE_METRICS if m != metric)],
        params=list(spec.search_space),
        sort_metric=metric,
        ascending=spec.objective.mode == "min",
    )


def _settle_all(tuner: Any, runs: Any, rows: list[dict]) -> None:
    """Wait for the settling the callback started, then settle every ended trial again (idempotent:
    it fixes what a stopped trial's dying process wrote after the first pass). An interrupted
    trial stays RUNNING: a resumed sweep continues it."""
    from detlab.sweep.callbacks import SettleTrials
    from detlab.sweep.progress import ENDED
    from detlab.sweep.runs import Settler, TrialOutcome
    from detlab.sweep.tuner import tuner_parts

    for cb in tuner_parts(tuner)[1]:
        if isinstance(cb, SettleTrials):
            cb.join()
    settler = Settler(runs)
    for row in rows:
        if row["status"] in ENDED:
            settler.submit(
                TrialOutcome(row["trial_id"], row["trial"], row["status"], row["evaluations"], row["error"] or None)
            )
    settler.join()
    for row in rows:  # a run created just now by settling
        row["mlflow_run_id"] = row["mlflow_run_id"] or runs.run_id(row["trial_id"])


def _figures(spec: Any, state: Any, results: Any, rows: list[dict]) -> dict[str, Any]:
    from detlab.sweep import optuna_store

    figures: dict[str, Any] = {}
    if state.optuna_storage:
        study = optuna_store.load_study(state.optuna_storage, state.optuna_study)
        if study is not None:
            figures.update(optuna_figures(study))
    curves = curves_figure(results, spec.objective.metric, {r["trial_id"]: r["trial"] for r in rows})
    if curves is not None:
        figures["plots/learning_curves.png"] = curves
    return figures


def _check_same(state: Any, spec_data: dict, opts: SweepOptions, paths: Any) -> None:
    """A resumed sweep must be the sweep that was started: same spec (after --set), same trainer."""
    if state.spec != spec_data:
        changed = sorted(k for k in set(state.spec) | set(spec_data) if state.spec.get(k) != spec_data.get(k))
        raise UserError(
            f"{opts.study}: {paths.experiment_dir} holds a sweep of this study started with a "
            f"different spec (fields {', '.join(changed)}); rerun with the same --study and --set "
            f"to resume it, or pass --fresh to start over"
        )
    if state.trainer != opts.trainer:
        raise UserError(
            f"{opts.study}: {paths.experiment_dir} was started with --trainer {state.trainer}; "
            f"resume it with the same trainer, or pass --fresh"
        )


def _read_text(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None
