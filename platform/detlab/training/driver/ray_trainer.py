"""Distributed training on Ray Train (V2) with every run recorded in MLflow: ``train()``.

The driver (this module) merges the config, creates the MLflow run up-front
(`lifecycle.py`), checks the config and data, and fits a ``TorchTrainer`` whose workers run
mmdet's ``train_detector`` (worker/loop.py). The MLflow run id travels to the workers
in ``train_loop_config`` and is kept in the run folder, so a restarted worker
group, a ``--resume`` and a retried Tune trial all record into the same run.
The driver ends the run: FINISHED with the best checkpoint attached, or FAILED
with a one-line reason (KILLED on Ctrl-C); it is never left RUNNING.

``train`` is a `Trainer` (contract.py); sweeps call it from a Tune function trainable:

    train(FitRequest(config, overrides, workers=2, cpus_per_worker=0.9, parent_run_id=study_run,
                     experiment=study, name=tune.get_context().get_trial_id(), storage_path=...,
                     callbacks=[ray.tune.integration.ray_train.TuneReportCallback()]))
"""

from __future__ import annotations

import os
import os.path as osp
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from detlab.config.protocol import protocol_tags
from detlab.errors import UserError
from detlab.tracking import workers_spool
from detlab.tracking.client import one_line
from detlab.tracking.context import dataset_fingerprint, run_params
from detlab.tracking.datasets import DatasetRef, log_datasets
from detlab.training.contract import FitOutcome, FitRequest
from detlab.training.driver.lifecycle import RunPlace, TrainingRun, failure_reason, locate
from detlab.training.driver.preflight import DataPaths, absolutize_data_paths, preflight
from detlab.training.driver.profile import enabled, profile_model
from detlab.training.driver.ray_runtime import ensure_ray
from detlab.training.driver.worker_group import fit_worker_group, workers_dir
from detlab.training.worker.loop import train_loop_per_worker

DEFAULT_STORAGE = osp.join("work_dirs", "ray_train")
SCORE = "val/mAP"
SYSTEM_METRICS_ENV = "DETLAB_SYSTEM_METRICS"  # checkpoints are ranked by it (val_eval.flat_metrics' headline)


@dataclass
class FitResult(FitOutcome):
    """The detector's outcome: the `FitOutcome` and its best checkpoint."""

    best_metrics: dict[str, Any] | None = None  # report of the best checkpoint by val/mAP
    best_checkpoint: str | None = None  # its checkpoint.pth (mmcv format)
    report_times_s: list[float] = field(default_factory=list)
    fit_time_s: float = 0.0


@dataclass
class DetectorOptions:
    """What only the detector trainer takes, beside the `FitRequest`.

    ``hooks``: extra mmcv hook configs for every worker. ``on_name`` is told the run's name as
    soon as it is known (the CLI prints it on Ctrl-C); ``on_run`` the MLflow run id and tracking
    URI once the run exists (the CLI prints the links to it). ``system_metrics``: MLflow system
    metrics of each node (default: on unless $DETLAB_SYSTEM_METRICS is 0). ``checks``: the
    preflight of config and data before any worker starts.
    """

    keep_checkpoints: int = 2
    hooks: Sequence[dict] = ()
    spool_dir: str | os.PathLike | None = None
    checks: bool = True
    system_metrics: bool | None = None
    on_name: Callable[[str], None] | None = None
    on_run: Callable[[str, str], None] | None = None


class TrainingFailed(UserError):
    """Training ran and failed for a reason the user must fix (e.g. the loss diverged)."""


def _params(overrides: dict[str, Any], cfg, workers: int, gpus: float, seed: int) -> dict[str, Any]:
    params = run_params(overrides, cfg)
    params.update(
        {
            "train.workers": workers,
            "train.gpus_per_worker": gpus,
            "train.seed": seed,
            "train.global_batch": workers * int(cfg.data.samples_per_gpu),
        }
    )
    return params


def _fail(run: TrainingRun, status: str, reason: str, params: Mapping[str, Any] | None = None, cfg=None) -> None:
    """End the run KILLED/FAILED from the driver; ``params``/``cfg``: training never started, record what was asked."""
    rec = run.recorder()
    if params is not None:
        rec.log_params(params)
        rec.log_config(cfg)
    rec.finish(status, error=reason)


def _finish(run: TrainingRun, best_checkpoint: str | None, best_metrics: Mapping[str, Any] | None, cfg) -> None:
    """End the run FINISHED from the driver (a session newer than every worker's, so its status stands)."""
    rec = run.recorder()
    if best_checkpoint:
        rec.log_artifact(best_checkpoint, "checkpoints/best", copy=False)
    if best_metrics:
        epoch = int(best_metrics.get("epoch", 0))
        rec.log_metrics(
            {
                f"best/{k}": v
                for k, v in best_metrics.items()
                if isinstance(v, (int, float)) and k not in ("epoch", "iter")
            },
            step=epoch,
        )
        rec.set_tags({"best.epoch": epoch})
    profile = _profile(cfg)
    if profile:
        rec.log_metrics(profile["metrics"])
        rec.set_tags(profile["tags"])
    rec.finish("FINISHED")


def system_metrics_interval(flag: bool | None = None) -> float:
    """Seconds between system metrics samples, 0 for none: off when ``flag`` is False or
    $DETLAB_SYSTEM_METRICS is 0 (``--no-system-metrics`` sets it), else
    $DETLAB_SYSTEM_METRICS_INTERVAL (default 10)."""
    on = (
        flag
        if flag is not None
        else os.environ.get(SYSTEM_METRICS_ENV, "1").strip().lower() not in ("0", "false", "no", "off")
    )
    if not on:
        return 0.0
    try:
        return max(0.1, float(os.environ.get(SYSTEM_METRICS_ENV + "_INTERVAL", "10")))
    except ValueError:
        raise UserError(
            f"{SYSTEM_METRICS_ENV}_INTERVAL={os.environ[SYSTEM_METRICS_ENV + '_INTERVAL']}: give seconds, e.g. 10"
        ) from None


def worker_spec(cfg, **fields: Any) -> dict[str, Any]:
    """The ``train_loop_config`` of every worker: plain, picklable values only."""
    return dict(cfg=cfg._cfg_dict.to_dict(), **fields)


def train(request: FitRequest, options: DetectorOptions | None = None) -> FitResult:
    """Train ``request.config`` on ``request.workers`` Ray Train workers; see the module doc.

    Past ``request.placement_timeout_s`` without the workers placed, the run ends FAILED with what
    was waited for and what the cluster had (placement.py). Raises ``UserError`` with a one-line
    reason on any failure, after marking the MLflow run FAILED.
    """
    from detlab.training.driver.setup import prepare_config

    opts = options or DetectorOptions()
    if not osp.isfile(request.config):
        raise UserError(f"config not found: {request.config}")
    if request.workers < 1:
        raise UserError(f"--workers must be >= 1, got {request.workers}")
    place = locate(request, DEFAULT_STORAGE)
    if opts.on_name is not None:
        opts.on_name(place.name)
    gpus = request.gpus_per_worker
    cfg = prepare_config(
        request.config,
        place.overrides,
        work_dir=osp.join(place.run_dir, "detlab", "work"),
        seed=place.seed,
        device="cuda" if gpus > 0 else "cpu",
    )
    # None: the machine's spool (~/.cache/detlab/mlflow-spool) on the driver and on each worker's
    # node alike, where a bare `detlab mlflow sync` finds it; the driver's $DETLAB_MLFLOW_SPOOL too
    spool = workers_spool(opts.spool_dir)
    params = _params(place.overrides, cfg, request.workers, gpus, place.seed)
    run = TrainingRun.open(place, request, tags=protocol_tags(cfg), spool=spool)
    if opts.on_run is not None:
        opts.on_run(run.run_id, run.tracking_uri)

    started = time.perf_counter()
    try:
        result, outcome = _train(cfg, run, params, request, place, opts)
    except (KeyboardInterrupt, SystemExit) as err:  # Ray's SIGINT handler aborts, then sys.exit()s
        _fail(run, "KILLED", "interrupted (Ctrl-C)")
        raise KeyboardInterrupt() from err
    except _PreTraining as err:
        reason = failure_reason(err.__cause__ or err)
        _fail(run, "FAILED", reason, params, cfg)
        raise UserError(reason) from err.__cause__
    except BaseException as err:
        raise run.fail(err) from err
    if outcome.get("status") == "failed":
        reason = outcome.get("error") or "training failed"
        _fail(run, "FAILED", reason)
        raise TrainingFailed(reason)

    best_ckpt, best_metrics = _best(result)
    _finish(run, best_ckpt, best_metrics, cfg)
    return FitResult(
        run_id=run.run_id,
        name=place.name,
        path=result.path,
        tracking_uri=run.tracking_uri,
        metrics=dict(result.metrics or {}),
        best_metrics=best_metrics,
        best_checkpoint=best_ckpt,
        report_times_s=list(outcome.get("report_times_s", [])),
        fit_time_s=time.perf_counter() - started,
    )


def _profile(cfg) -> dict[str, Any] | None:
    """Params, FLOPs and latency of the trained detector (``detlab.training.driver.profile``); a failure
    is a warning, never a failed run ($DETLAB_PROFILE=0 skips it)."""

    if not enabled():
        return None
    try:
        return profile_model(cfg)
    except Exception as err:  # noqa: BLE001 - the training itself succeeded
        import logging

        logging.getLogger("detlab.training").warning("model profile skipped: %s", one_line(err))
        return None


class _PreTraining(Exception):
    """Wraps a failure before any worker started (the driver records params and config then)."""


def _train(
    cfg,
    run: TrainingRun,
    params: dict,
    request: FitRequest,
    place: RunPlace,
    opts: DetectorOptions,
) -> tuple[Any, dict]:
    """Preflight, then the TorchTrainer; returns Ray's result and rank 0's return value."""

    try:
        paths = preflight(cfg) if opts.checks else DataPaths()
        if not opts.checks:
            absolutize_data_paths(cfg)
        tags = {}
        if paths.annotations:
            tags["dataset.fingerprint"] = dataset_fingerprint(paths.annotations, paths.images)

        datasets = [DatasetRef.of(split, name, anns, images) for split, (name, anns, images) in paths.splits.items()]
    except Exception as err:
        raise _PreTraining() from err
    _log_datasets(run.tracking_uri, run.run_id, datasets)

    from ray.train import CheckpointConfig

    gpus, cpus = request.gpus_per_worker, request.cpus_per_worker
    spec = worker_spec(
        cfg,
        run_id=run.run_id,
        tracking_uri=run.tracking_uri,
        spool_dir=run.spool,
        params=params,
        tags=tags,
        seed=place.seed,
        threads=max(1, int(cpus)),
        device="cuda" if gpus > 0 else "cpu",
        work_dir=cfg.work_dir,
        pid_dir=workers_dir(place),
        hooks=list(opts.hooks),
        name=place.name,
        system_metrics=system_metrics_interval(opts.system_metrics),
    )
    ensure_ray()
    result = fit_worker_group(
        train_loop_per_worker,
        spec,
        request,
        place,
        checkpoint_config=CheckpointConfig(
            num_to_keep=opts.keep_checkpoints, checkpoint_score_attribute=SCORE, checkpoint_score_order="max"
        ),
    )
    return result, dict(result.return_value or {})


def _log_datasets(uri: str, run_id: str, datasets: list) -> None:
    """The train/val datasets as the run's MLflow inputs; an unreachable server costs a warning only."""
    import logging

    try:
        log_datasets(uri, run_id, datasets)
    except Exception as err:  # noqa: BLE001 - the run goes on; the fingerprint tag still names the data
        logging.getLogger("detlab.training").warning("MLflow: dataset inputs not logged (%s)", one_line(err))


def _best(result) -> tuple[str | None, dict[str, Any] | None]:
    from detlab.training.hooks.ray_report import CHECKPOINT_FILE

    scored = [(ckpt, m) for ckpt, m in (result.best_checkpoints or []) if SCORE in m]
    if not scored:
        return None, None
    ckpt, metrics = max(scored, key=lambda cm: (cm[1][SCORE], cm[1].get("epoch", 0)))
    path = osp.join(ckpt.path, CHECKPOINT_FILE)
    return (path if osp.isfile(path) else None), dict(metrics)
