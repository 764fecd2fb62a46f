"""Distributed training on Ray Train (V2) with every run recorded in MLflow: ``fit()``.

The driver (this module) merges the config, creates the MLflow run up-front,
checks the config and data, and fits a ``TorchTrainer`` whose workers run
mmdet's ``train_detector`` (worker.py). The MLflow run id travels to the workers
in ``train_loop_config`` and is kept in the run folder, so a restarted worker
group, a ``--resume`` and a retried Tune trial all record into the same run.
The driver ends the run: FINISHED with the best checkpoint attached, or FAILED
with a one-line reason (KILLED on Ctrl-C); it is never left RUNNING.

Sweeps call ``fit`` from a Tune function trainable:

    fit(config, overrides, workers=2, cpus_per_worker=0.9, parent_run_id=study_run,
        experiment=study, name=tune.get_context().get_trial_id(), storage_path=...,
        callbacks=[ray.tune.integration.ray_train.TuneReportCallback()])
"""

from __future__ import annotations

import os
import os.path as osp
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from detlab.config import parse_override
from detlab.errors import UserError
from detlab.limits import PLACEMENT_TIMEOUT_S, SESSION_EXIT_S
from detlab.tracking import RunRecorder, print_hint_once, resolve_tracking_uri, workers_spool
from detlab.tracking.client import one_line
from detlab.training.placement import bounded_failure_config, fit_bounded
from detlab.training.run_record import RunRecord, latest_run_dir

DEFAULT_STORAGE = osp.join("work_dirs", "ray_train")
SCORE = "val/mAP"
SYSTEM_METRICS_ENV = "DETLAB_SYSTEM_METRICS"  # checkpoints are ranked by it (val_eval.flat_metrics' headline)


@dataclass
class FitResult:
    """What a finished training gives back (a failed one raises ``UserError`` instead)."""

    run_id: str
    name: str
    path: str  # the Ray Train run folder
    tracking_uri: str
    metrics: dict[str, Any]  # last report (the last evaluation)
    best_metrics: dict[str, Any] | None  # report of the best checkpoint by val/mAP
    best_checkpoint: str | None  # its checkpoint.pth (mmcv format)
    report_times_s: list[float] = field(default_factory=list)
    fit_time_s: float = 0.0


class TrainingFailed(UserError):
    """Training ran and failed for a reason the user must fix (e.g. the loss diverged)."""


def normalize_overrides(overrides: Mapping[str, Any] | Iterable[str] | None) -> dict[str, Any]:
    """``["a.b=1", ...]`` or ``{"a.b": 1}`` -> ``{"a.b": 1}`` (typed, order kept)."""
    if not overrides:
        return {}
    if isinstance(overrides, str):
        raise TypeError("overrides must be a mapping or a list of 'KEY=VALUE' strings, not one string")
    if isinstance(overrides, Mapping):
        return dict(overrides)
    return dict(parse_override(o) for o in overrides)


def failure_reason(err: BaseException) -> str:
    """One line (at most 300 characters, what the MLflow ``error`` tag keeps) naming the cause,
    through Ray's wrappers (worker group / task errors)."""
    if isinstance(err, UserError):
        return one_line(str(err))
    failures = getattr(err, "worker_failures", None)
    if failures:
        rank, exc = min(failures.items(), key=lambda kv: kv[0])
        cause = getattr(exc, "cause", None) or exc
        return one_line(f"worker {rank}: {one_line(cause)}")
    cause = getattr(err, "controller_failure", None) or getattr(err, "cause", None) or err
    return one_line(cause)


def _run_dir(storage: str, stem: str, name: str | None, resume: bool | None) -> tuple[str, str]:
    if name is None and resume:
        found = latest_run_dir(storage, stem)
        if found is None:
            raise UserError(f"nothing to resume: no run of {stem} under {storage} (give --name)")
        return found, osp.basename(found)
    name = name or f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    return osp.join(storage, name), name


def _params(overrides: dict[str, Any], cfg, workers: int, gpus: float, seed: int) -> dict[str, Any]:
    from detlab.tracking.context import run_params

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


def _close(
    run_id: str,
    status: str,
    *,
    uri: str,
    spool: str | None,
    error: str | None = None,
    best_checkpoint: str | None = None,
    best_metrics: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    cfg=None,
    profile: Mapping[str, Any] | None = None,
) -> None:
    """End the run from the driver (a session newer than every worker's, so its status stands)."""
    # the workers' sessions first: a worker still exiting holds its journal for a moment
    rec = RunRecorder.attach(
        run_id, tracking_uri=uri, spool_dir=spool, count_attempt=False, await_sessions_s=SESSION_EXIT_S
    )
    if params is not None:  # training never started: record what was asked for
        rec.log_params(params)
        rec.log_config(cfg)
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
    if profile:
        rec.log_metrics(profile["metrics"])
        rec.set_tags(profile["tags"])
    rec.finish(status, error=error)


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


def fit(
    config: str | os.PathLike,
    overrides: Mapping[str, Any] | Sequence[str] = (),
    *,
    workers: int = 1,
    gpus_per_worker: float = 0.0,
    cpus_per_worker: float = 1.0,
    seed: int = 0,
    mlflow_uri: str | None = None,
    experiment: str | None = None,
    parent_run_id: str | None = None,
    run_name: str | None = None,
    storage_path: str | os.PathLike | None = None,
    name: str | None = None,
    resume: bool | None = None,
    max_failures: int = 3,
    placement_timeout_s: float = PLACEMENT_TIMEOUT_S,
    keep_checkpoints: int = 2,
    callbacks: Sequence[Any] = (),
    hooks: Sequence[dict] = (),
    spool_dir: str | os.PathLike | None = None,
    checks: bool = True,
    system_metrics: bool | None = None,
    on_name: Callable[[str], None] | None = None,
    on_run: Callable[[str, str], None] | None = None,
) -> FitResult:
    """Train ``config`` with ``overrides`` on ``workers`` Ray Train workers; see the module doc.

    ``resume``: True continues the run ``name`` (default: the latest of this config), False
    refuses an existing one, None (the default, for Tune retries) continues it if it exists.
    ``placement_timeout_s``: how long the workers may wait to be placed (all start tries together;
    placement.py); past it the run ends FAILED with what was waited for and what the cluster had.
    ``hooks``: extra mmcv hook configs for every worker. ``on_name`` is told the run's name as
    soon as it is known (the CLI prints it on Ctrl-C); ``on_run`` the MLflow run id and tracking
    URI once the run exists (the CLI prints the links to it). ``system_metrics``: MLflow system
    metrics of each node (default: on unless $DETLAB_SYSTEM_METRICS is 0). Raises ``UserError`` with a one-line
    reason on any failure, after marking the MLflow run FAILED.
    """
    from detlab.training.setup import prepare_config

    config = osp.abspath(os.fspath(config))
    if not osp.isfile(config):
        raise UserError(f"config not found: {config}")
    if workers < 1:
        raise UserError(f"--workers must be >= 1, got {workers}")
    stem = osp.splitext(osp.basename(config))[0]
    if "://" in os.fspath(storage_path or ""):
        raise UserError(
            f"storage {storage_path}: give a folder all nodes see (a shared file system); "
            f"URIs are not supported: the run record lives in the run folder"
        )
    storage = osp.abspath(os.fspath(storage_path or DEFAULT_STORAGE))
    run_dir, name = _run_dir(storage, stem, name, resume)
    if on_name is not None:
        on_name(name)
    record = RunRecord.load(run_dir)
    if resume is True and record is None:
        raise UserError(f"nothing to resume: {run_dir} has no run record")
    if resume is False and osp.exists(run_dir):
        raise UserError(
            f"a run named {name!r} already exists in {storage}; pass --resume to continue it or choose another --name"
        )
    wanted = normalize_overrides(overrides)
    if record is not None:
        if wanted and wanted != record.overrides:
            differ = sorted(k for k in {**wanted, **record.overrides} if wanted.get(k) != record.overrides.get(k))
            raise UserError(
                f"run {name!r} was started with other overrides (differing: {', '.join(differ)}); "
                f"resume it without --set, or start a new run"
            )
        wanted, seed = record.overrides, record.seed

    device = "cuda" if gpus_per_worker > 0 else "cpu"
    cfg = prepare_config(config, wanted, work_dir=osp.join(run_dir, "detlab", "work"), seed=seed, device=device)
    uri = resolve_tracking_uri(mlflow_uri or (record.tracking_uri if record else None))
    # None: the machine's spool (~/.cache/detlab/mlflow-spool) on the driver and on each worker's
    # node alike, where a bare `detlab mlflow sync` finds it; the driver's $DETLAB_MLFLOW_SPOOL too
    spool = workers_spool(spool_dir)
    params = _params(wanted, cfg, workers, gpus_per_worker, seed)
    if record is not None:
        run_id = record.run_id
        print_hint_once(uri)
    else:
        from detlab.config.protocol import protocol_tags
        from detlab.tracking.context import run_context_tags

        tags = run_context_tags(osp.dirname(config))
        tags.update({"detlab.config": config, "detlab.ray.run_dir": run_dir, "detlab.workers": str(workers)})
        tags.update(protocol_tags(cfg))
        run_id = RunRecorder.create_run(
            experiment or stem, run_name or name, parent_run_id=parent_run_id, tags=tags, tracking_uri=uri
        )
        RunRecord(run_id, uri, experiment or stem, config, wanted, seed).save(run_dir)
    if on_run is not None:
        on_run(run_id, uri)

    started = time.perf_counter()
    try:
        result, outcome = _train(
            cfg,
            run_id=run_id,
            uri=uri,
            spool=spool,
            params=params,
            name=name,
            storage=storage,
            workers=workers,
            gpus=gpus_per_worker,
            cpus=cpus_per_worker,
            seed=seed,
            max_failures=max_failures,
            placement_timeout_s=placement_timeout_s,
            keep=keep_checkpoints,
            callbacks=callbacks,
            hooks=hooks,
            checks=checks,
            system_metrics=system_metrics_interval(system_metrics),
        )
    except (KeyboardInterrupt, SystemExit) as err:  # Ray's SIGINT handler aborts, then sys.exit()s
        _close(run_id, "KILLED", uri=uri, spool=spool, error="interrupted (Ctrl-C)")
        raise KeyboardInterrupt() from err
    except _PreTraining as err:
        reason = failure_reason(err.__cause__ or err)
        _close(run_id, "FAILED", uri=uri, spool=spool, error=reason, params=params, cfg=cfg)
        raise UserError(reason) from err.__cause__
    except BaseException as err:
        reason = failure_reason(err)
        _close(run_id, "FAILED", uri=uri, spool=spool, error=reason)
        raise UserError(reason) from err
    if outcome.get("status") == "failed":
        reason = outcome.get("error") or "training failed"
        _close(run_id, "FAILED", uri=uri, spool=spool, error=reason)
        raise TrainingFailed(reason)

    best_ckpt, best_metrics = _best(result)
    _close(
        run_id,
        "FINISHED",
        uri=uri,
        spool=spool,
        best_checkpoint=best_ckpt,
        best_metrics=best_metrics,
        profile=_profile(cfg),
    )
    return FitResult(
        run_id=run_id,
        name=name,
        path=result.path,
        tracking_uri=uri,
        metrics=dict(result.metrics or {}),
        best_metrics=best_metrics,
        best_checkpoint=best_ckpt,
        report_times_s=list(outcome.get("report_times_s", [])),
        fit_time_s=time.perf_counter() - started,
    )


def _profile(cfg) -> dict[str, Any] | None:
    """Params, FLOPs and latency of the trained detector (``detlab.training.profile``); a failure
    is a warning, never a failed run ($DETLAB_PROFILE=0 skips it)."""
    from detlab.training.profile import enabled, profile_model

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
    *,
    run_id: str,
    uri: str,
    spool: str | None,
    params: dict,
    name: str,
    storage: str,
    workers: int,
    gpus: float,
    cpus: float,
    seed: int,
    max_failures: int,
    placement_timeout_s: float,
    keep: int,
    callbacks: Sequence[Any],
    hooks: Sequence[dict],
    checks: bool,
    system_metrics: float = 10.0,
) -> tuple[Any, dict]:
    """Preflight, then the TorchTrainer; returns Ray's result and rank 0's return value."""
    from detlab.training.preflight import DataPaths, absolutize_data_paths, preflight

    try:
        paths = preflight(cfg) if checks else DataPaths()
        if not checks:
            absolutize_data_paths(cfg)
        tags = {}
        if paths.annotations:
            from detlab.tracking.context import dataset_fingerprint

            tags["dataset.fingerprint"] = dataset_fingerprint(paths.annotations, paths.images)
        from detlab.tracking.datasets import DatasetRef

        datasets = [DatasetRef.of(split, name, anns, images) for split, (name, anns, images) in paths.splits.items()]
    except Exception as err:
        raise _PreTraining() from err
    _log_datasets(uri, run_id, datasets)

    from ray.train import CheckpointConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from detlab.training.ray_runtime import ensure_ray
    from detlab.training.worker import train_loop_per_worker

    run_dir = osp.join(storage, name)
    pid_dir = osp.join(run_dir, "detlab", "workers")
    spec = worker_spec(
        cfg,
        run_id=run_id,
        tracking_uri=uri,
        spool_dir=spool,
        params=params,
        tags=tags,
        seed=seed,
        threads=max(1, int(cpus)),
        device="cuda" if gpus > 0 else "cpu",
        work_dir=cfg.work_dir,
        pid_dir=pid_dir,
        hooks=list(hooks),
        name=name,
        system_metrics=system_metrics,
    )
    resources = {"CPU": cpus, **({"GPU": gpus} if gpus > 0 else {})}
    ensure_ray()
    trainer = TorchTrainer(
        train_loop_per_worker,  # type: ignore[arg-type]  # its return value serves the in-process path only
        train_loop_config=spec,
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=gpus > 0, resources_per_worker=resources),
        run_config=RunConfig(
            name=name,
            storage_path=storage,
            callbacks=list(callbacks),
            failure_config=bounded_failure_config(max_failures, placement_timeout_s),
            checkpoint_config=CheckpointConfig(
                num_to_keep=keep, checkpoint_score_attribute=SCORE, checkpoint_score_order="max"
            ),
        ),
    )
    result = fit_bounded(
        trainer, pid_dir, workers=workers, resources=resources, placement_timeout_s=placement_timeout_s
    )
    return result, dict(result.return_value or {})


def _log_datasets(uri: str, run_id: str, datasets: list) -> None:
    """The train/val datasets as the run's MLflow inputs; an unreachable server costs a warning only."""
    import logging

    from detlab.tracking.datasets import log_datasets

    try:
        log_datasets(uri, run_id, datasets)
    except Exception as err:  # noqa: BLE001 - the run goes on; the fingerprint tag still names the data
        logging.getLogger("detlab.training").warning("MLflow: dataset inputs not logged (%s)", one_line(err))


def _best(result) -> tuple[str | None, dict[str, Any] | None]:
    from detlab.training.ray_hooks import CHECKPOINT_FILE

    scored = [(ckpt, m) for ckpt, m in (result.best_checkpoints or []) if SCORE in m]
    if not scored:
        return None, None
    ckpt, metrics = max(scored, key=lambda cm: (cm[1][SCORE], cm[1].get("epoch", 0)))
    path = osp.join(ckpt.path, CHECKPOINT_FILE)
    return (path if osp.isfile(path) else None), dict(metrics)
