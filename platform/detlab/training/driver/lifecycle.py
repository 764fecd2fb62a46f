"""One run's life, the same for every trainer: find its folder, create (or reuse) its MLflow run,
end it FINISHED, FAILED or KILLED from the driver.

`locate` turns a `FitRequest` into the run folder and what the run trains (a folder with a run
record is continued with the record's overrides and seed); `TrainingRun.open` creates the MLflow
run and writes the record, or takes the record's run; `TrainingRun.close` ends it after the
workers' sessions (a worker still exiting holds its journal for a moment), so a run is never
left RUNNING.
"""

from __future__ import annotations

import os.path as osp
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from detlab.errors import TransientError, UserError
from detlab.limits import SESSION_EXIT_S
from detlab.tracking import RunRecorder, print_hint_once, resolve_tracking_uri
from detlab.tracking.client import one_line
from detlab.tracking.context import run_context_tags
from detlab.training.contract import FitRequest
from detlab.training.driver.run_record import RunRecord, latest_run_dir


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


# Ray's errors for a process or node that died under a task (by class name: no ray import here).
DIED = frozenset(
    {
        "RayActorError",
        "ActorDiedError",
        "ActorUnavailableError",
        "NodeDiedError",
        "WorkerCrashedError",
        "LocalRayletDiedError",
        "ObjectLostError",
        "OwnerDiedError",
    }
)


def died_under(err: BaseException) -> bool:
    """True when ``err`` or a cause it wraps (worker failures, a controller failure, ``__cause__``)
    is Ray saying that an actor, worker or node died: the cluster's doing, not the input's."""
    seen: set[int] = set()
    stack: list[object] = [err]
    while stack:
        e = stack.pop()
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        if DIED & {c.__name__ for c in type(e).__mro__}:
            return True
        failures = getattr(e, "worker_failures", None) or {}
        stack += [*failures.values(), getattr(e, "controller_failure", None), getattr(e, "cause", None)]
        stack += [e.__cause__, e.__context__]
    return False


@dataclass
class RunPlace:
    """Where a run lives and what it trains (the record's overrides and seed when it is continued)."""

    storage: str
    run_dir: str
    name: str
    record: RunRecord | None
    overrides: dict[str, Any]
    seed: int


def locate(request: FitRequest, default_storage: str) -> RunPlace:
    """The run folder of ``request`` (see `FitRequest`); refuses a resume without a record, a new
    run over an existing folder, and a continued run asked for with other overrides."""
    storage_path = request.storage_path or default_storage
    if "://" in storage_path:
        raise UserError(
            f"storage {storage_path}: give a folder all nodes see (a shared file system); "
            f"URIs are not supported: the run record lives in the run folder"
        )
    storage = osp.abspath(storage_path)
    if request.name is None and request.resume:
        run_dir = latest_run_dir(storage, request.stem)
        if run_dir is None:
            raise UserError(f"nothing to resume: no run of {request.stem} under {storage} (give --name)")
        name = osp.basename(run_dir)
    else:
        name = request.name or f"{request.stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        run_dir = osp.join(storage, name)
    record = RunRecord.load(run_dir)
    if request.resume is True and record is None:
        raise UserError(f"nothing to resume: {run_dir} has no run record")
    if request.resume is False and osp.exists(run_dir):
        raise UserError(
            f"a run named {name!r} already exists in {storage}; pass --resume to continue it or choose another --name"
        )
    if record is None:
        return RunPlace(storage, run_dir, name, None, dict(request.overrides), request.seed)
    wanted = request.overrides
    if wanted and wanted != record.overrides:
        differ = sorted(k for k in {**wanted, **record.overrides} if wanted.get(k) != record.overrides.get(k))
        raise UserError(
            f"run {name!r} was started with other overrides (differing: {', '.join(differ)}); "
            f"resume it without --set, or start a new run"
        )
    return RunPlace(storage, run_dir, name, record, dict(record.overrides), record.seed)


@dataclass
class TrainingRun:
    """The MLflow run of one training, from its creation (or reuse) to its end."""

    run_id: str
    tracking_uri: str
    spool: str | None = None

    @classmethod
    def open(
        cls,
        place: RunPlace,
        request: FitRequest,
        *,
        tags: Mapping[str, Any] | None = None,
        spool: str | None = None,
        print_hint: bool = True,
    ) -> TrainingRun:
        """The record's run when the folder has one, else a new run (``request.experiment``, default
        the config's name; named ``request.run_name`` or the folder) with the context tags, the
        config, the folder and ``tags``, recorded in the folder before any worker starts."""
        record = place.record
        uri = resolve_tracking_uri(request.mlflow_uri or (record.tracking_uri if record else None))
        if record is not None:
            if print_hint:
                print_hint_once(uri)
            return cls(record.run_id, uri, spool)
        all_tags: dict[str, Any] = {
            **run_context_tags(osp.dirname(request.config)),
            "detlab.config": request.config,
            "detlab.ray.run_dir": place.run_dir,
            "detlab.workers": str(request.workers),
            **dict(tags or {}),
        }
        experiment = request.experiment or request.stem
        run_id = RunRecorder.create_run(
            experiment,
            request.run_name or place.name,
            parent_run_id=request.parent_run_id,
            tags=all_tags,
            tracking_uri=uri,
            print_hint=print_hint,
        )
        RunRecord(run_id, uri, experiment, request.config, place.overrides, place.seed).save(place.run_dir)
        return cls(run_id, uri, spool)

    def recorder(self) -> RunRecorder:
        """The driver's recorder, after the workers' sessions: its status is the run's last word."""
        return RunRecorder.attach(
            self.run_id,
            tracking_uri=self.tracking_uri,
            spool_dir=self.spool,
            count_attempt=False,
            await_sessions_s=SESSION_EXIT_S,
        )

    def close(self, status: str, error: str | None = None) -> None:
        self.recorder().finish(status, error=error)

    def fail(self, err: BaseException) -> UserError:
        """End the run FAILED with ``err``'s one-line reason; the error to raise: a ``TransientError``
        when a Ray actor, worker or node died under it (a retry of the same run may succeed)."""
        reason = failure_reason(err)
        self.close("FAILED", reason)
        return (TransientError if died_under(err) else UserError)(reason)
