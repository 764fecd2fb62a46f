"""`RunRecorder`: what rank 0 uses to record one training run in MLflow, without ever
blocking or failing training because of tracking.

Every call is first appended to a local journal (fsync'ed JSONL, see journal.py)
and returns; a background thread (sender.py) sends the journal to MLflow in order, retrying
with backoff while the server is unreachable. The user is warned once when the
server goes away and once when it is back. `finish()` waits a bounded time for
the journal to drain; what is left is sent by `detlab mlflow sync` later.

Life of a run across processes:
    driver:   run_id = RunRecorder.create_run(experiment, name, parent_run_id=..., tags=...)
    rank 0:   rec = RunRecorder.attach(run_id)   # again after each worker restart
              rec.log_params(...); rec.log_metrics(..., step=epoch); rec.log_artifact(...)
              rec.finish("FINISHED" | "FAILED" | "KILLED", error=...)
Each attach records a uniquely named attempt tag; `restarts` = attempts - 1.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import os
import shutil
import socket
import tempfile
import time
import uuid
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypedDict, TypeVar, Unpack

from detlab.limits import MLFLOW_CREATE_RUN_S, MLFLOW_FLUSH_S, SESSION_EXIT_S
from detlab.tracking import client as mlclient
from detlab.tracking.client import one_line
from detlab.tracking.context import to_plain
from detlab.tracking.journal import Journal, Op
from detlab.tracking.params import (
    MAX_METRICS_PER_BATCH,
    MAX_PARAMS_TAGS_PER_BATCH,
    clean_key,
    clean_metrics,
    clean_params,
    clean_tags,
    redact,
)
from detlab.tracking.sender import Sender
from detlab.tracking.uri import print_hint_once, resolve_tracking_uri

log = logging.getLogger("detlab.tracking")

STATUSES = ("FINISHED", "FAILED", "KILLED")
SPOOL_ENV = "DETLAB_MLFLOW_SPOOL"
F = TypeVar("F", bound=Callable[..., Any])


def default_spool_dir() -> Path:
    """$DETLAB_MLFLOW_SPOOL, else ~/.cache/detlab/mlflow-spool (node-local, survives the job)."""
    env = os.environ.get(SPOOL_ENV)
    return Path(env).expanduser().resolve() if env else Path.home() / ".cache" / "detlab" / "mlflow-spool"


def workers_spool(given: str | os.PathLike | None = None) -> str | None:
    """The spool a run's training processes are told to use: `given`, else the driver's
    $DETLAB_MLFLOW_SPOOL, else None (each node's default). Ray workers inherit the environment of
    the node's raylet, not the driver's: without this, a driver with its own spool could not find
    (and deliver) what a worker on its node left behind when the run ends."""
    if given:
        return os.fspath(given)
    return os.environ.get(SPOOL_ENV) or None


def _never_raise(method: F) -> F:
    """Tracking must not break training: log the first error of each method, swallow all."""

    @functools.wraps(method)
    def wrapper(self: RunRecorder, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as e:
            self._warn_once(
                f"error:{method.__name__}",
                "MLflow recording: %s failed and was skipped (%s); training goes on",
                method.__name__,
                one_line(e),
            )
            return None

    return wrapper  # type: ignore[return-value]


class RecorderOptions(TypedDict, total=False):
    """`RunRecorder`'s keyword arguments, for the constructors that pass them on."""

    tracking_uri: str | None
    spool_dir: str | os.PathLike | None
    flush_timeout: float
    count_attempt: bool
    max_backoff: float
    durable: bool
    await_sessions_s: float


class RunRecorder:
    """Records one MLflow run from one process (rank 0). Thread-safe; calls return at once."""

    # -- driver side ----------------------------------------------------------------
    @staticmethod
    def create_run(
        experiment: str,
        run_name: str | None = None,
        *,
        parent_run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        tracking_uri: str | None = None,
        timeout: float = MLFLOW_CREATE_RUN_S,
        print_hint: bool = True,
    ) -> str:
        """Create the run up-front (before workers start) and return its id.

        Needs the server now (there is no id without it): retries for `timeout` s, then
        raises `UserError`. Prints where the run is recorded and how to open the UI once.
        """
        uri = resolve_tracking_uri(tracking_uri)
        if print_hint:
            print_hint_once(uri)
        return mlclient.create_run(uri, experiment, run_name, parent_run_id=parent_run_id, tags=tags, timeout=timeout)

    @classmethod
    def attach(cls, run_id: str, **options: Unpack[RecorderOptions]) -> RunRecorder:
        """Resume `run_id` in this process (never contacts MLflow synchronously).

        `count_attempt=True` (a training process) records an attempt: the run is set
        RUNNING again and `restarts` recounted. A driver that only closes the run passes False,
        and `await_sessions_s` > 0 when the run's training processes have ended: sessions of
        theirs on this node that are still locked (a process on its way out) are waited for up to
        that long, then delivered before this session's own operations.
        """
        return cls(run_id, **options)

    @classmethod
    def close_run(
        cls,
        run_id: str,
        status: str = "FAILED",
        error: BaseException | str | None = None,
        **attach_kwargs: Unpack[RecorderOptions],
    ) -> bool:
        """Driver side: end a run whose training process could not (crash, all retries spent)."""
        attach_kwargs.setdefault("await_sessions_s", SESSION_EXIT_S)
        attach_kwargs["count_attempt"] = False
        return cls.attach(run_id, **attach_kwargs).finish(status, error=error)

    @classmethod
    def for_rank(cls, rank: int, run_id: str, **attach_kwargs: Unpack[RecorderOptions]) -> RunRecorder | NullRecorder:
        """A recorder on rank 0, a do-nothing stand-in elsewhere: other ranks never touch MLflow."""
        return cls.attach(run_id, **attach_kwargs) if rank == 0 else NullRecorder(run_id)

    # -- construction -----------------------------------------------------------------
    def __init__(
        self,
        run_id: str,
        *,
        tracking_uri: str | None = None,
        spool_dir: str | os.PathLike | None = None,
        flush_timeout: float = MLFLOW_FLUSH_S,
        count_attempt: bool = True,
        max_backoff: float = 5.0,
        durable: bool = True,
        await_sessions_s: float = 0.0,
    ) -> None:
        self.run_id = run_id
        self.tracking_uri = resolve_tracking_uri(tracking_uri)
        self.spool_dir = Path(spool_dir).resolve() if spool_dir else default_spool_dir()
        self.flush_timeout = flush_timeout
        self.started = time.time()
        header = {"tracking_uri": self.tracking_uri, "started": self.started}
        try:
            self.journal = Journal.create(self.spool_dir, run_id, header, durable=durable)
        except OSError as e:  # unwritable spool: a temporary one still keeps the run going
            fallback = Path(tempfile.gettempdir()) / "detlab-mlflow-spool"
            log.warning(
                "MLflow recording: cannot use the spool %s (%s); using %s", self.spool_dir, one_line(e), fallback
            )
            self.spool_dir = fallback
            self.journal = Journal.create(self.spool_dir, run_id, header, durable=durable)
        self._finished = False
        self._delivered = False
        self._warned: set[str] = set()
        self._logged_params: dict[str, str] = {}
        self._full_params: dict[str, str] = {}
        self.sender = Sender(
            self.journal,
            run_id,
            self.tracking_uri,
            self.spool_dir,
            max_backoff=max_backoff,
            await_sessions_s=await_sessions_s,
            warn_once=self._warn_once,
        )
        self.attempt_id: str | None = None
        self._attempt_info: dict[str, Any] = {}
        if count_attempt:
            self.attempt_id = uuid.uuid4().hex[:12]
            self._attempt_info = {
                "session": self.journal.session,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "started": self.started,
            }
            self._append({"op": "attempt", "attempt_id": self.attempt_id, "info": self._attempt_info})
        self.sender.start()
        atexit.register(_flush_at_exit, weakref.ref(self))

    # -- what training calls --------------------------------------------------------------
    @_never_raise
    def log_params(self, params: Mapping[str, Any]) -> None:
        """Params as dotted keys -> strings (shortened to MLflow's limit; full values go to
        the artifact params/full_values.json). A key already logged with the same value is skipped."""
        clean, full = clean_params(params)
        new = {k: v for k, v in clean.items() if self._logged_params.get(k) != v}
        self._logged_params.update(new)
        items = list(new.items())
        for i in range(0, len(items), MAX_PARAMS_TAGS_PER_BATCH):
            self._append({"op": "params", "params": dict(items[i : i + MAX_PARAMS_TAGS_PER_BATCH])})
        if full:
            self._full_params.update(full)
            self.log_dict(self._full_params, "params/full_values.json")

    @_never_raise
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None, timestamp_ms: int | None = None) -> None:
        """Numbers (floats, ints, numpy/torch scalars) at `step` (epoch or iteration; default 0)."""
        values, skipped = clean_metrics(metrics)
        for key in skipped:
            self._warn_once(f"nonnumeric:{key}", "MLflow recording: metric %r is not a number; skipped", key)
        ts = int(timestamp_ms if timestamp_ms is not None else time.time() * 1000)
        points = [[k, v, int(step or 0), ts] for k, v in values.items()]
        for i in range(0, len(points), MAX_METRICS_PER_BATCH):
            self._append({"op": "metrics", "metrics": points[i : i + MAX_METRICS_PER_BATCH]})

    def log_metric(self, key: str, value: Any, step: int | None = None) -> None:
        self.log_metrics({key: value}, step=step)

    @_never_raise
    def set_tags(self, tags: Mapping[str, Any]) -> None:
        items = list(clean_tags(tags).items())
        for i in range(0, len(items), MAX_PARAMS_TAGS_PER_BATCH):
            self._append({"op": "tags", "tags": dict(items[i : i + MAX_PARAMS_TAGS_PER_BATCH])})

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    @_never_raise
    def log_artifact(self, path: str | os.PathLike, artifact_path: str | None = None, *, copy: bool = True) -> None:
        """A file or directory, under `artifact_path` in the run.

        `copy=True` snapshots it into the spool now (the caller may overwrite or delete it,
        e.g. a rotating `best.pth`); `copy=False` hard-links it into the spool (no copy of a
        big checkpoint; a replay by another process reads only files inside the spool, see
        detlab.tracking.confine). Where neither works, only this process can send it.
        """
        src = Path(path).resolve()
        if not src.exists():
            self._warn_once(f"missing:{src}", "MLflow recording: artifact %s does not exist; skipped", src)
            return
        local = src
        try:
            local = self.journal.new_blob_path(src.name)
            put = shutil.copy2 if copy else os.link
            if src.is_dir():
                shutil.copytree(src, local, copy_function=put)
            else:
                put(src, local)
        except OSError as e:
            if copy:
                self._warn_once(
                    "blobcopy",
                    "MLflow recording: cannot snapshot %s into the spool (%s); it will be sent from where it is",
                    src,
                    one_line(e),
                )
            local = src
        self._append({"op": "artifact", "local": str(local), "artifact_path": _artifact_dir(artifact_path)})

    @_never_raise
    def log_text(self, text: str, artifact_file: str) -> None:
        """`text` as the artifact `artifact_file` (e.g. "config/merged.py")."""
        blob = self.journal.new_blob_path(Path(artifact_file).name)
        blob.write_text(redact(text), encoding="utf-8")  # a config may quote a secret of the environment
        self._append(
            {"op": "artifact", "local": str(blob), "artifact_path": _artifact_dir(os.path.dirname(artifact_file))}
        )

    @_never_raise
    def log_dict(self, obj: Any, artifact_file: str) -> None:
        """A dict (or mmcv Config) as JSON or YAML, chosen by the file's extension."""

        plain = to_plain(obj)
        if artifact_file.endswith((".yaml", ".yml")):
            import yaml

            text = yaml.safe_dump(json.loads(json.dumps(plain, default=str)), sort_keys=False)
        else:
            text = json.dumps(plain, indent=2, default=str)
        self.log_text(text, artifact_file)

    @_never_raise
    def log_config(self, cfg: Any, artifact_dir: str = "config") -> None:
        """The full merged config: `merged.py` (mmcv's own text, loadable by mmcv) when it is an
        mmcv Config, and `merged.json` always."""
        pretty = None
        try:
            pretty = getattr(cfg, "pretty_text", None)
        except Exception:  # mmcv formats with yapf; a formatter failure must not lose the config
            pretty = None
        if isinstance(pretty, str):
            self.log_text(pretty, f"{artifact_dir}/merged.py")
        self.log_dict(cfg, f"{artifact_dir}/merged.json")

    @_never_raise
    def log_figure(self, figure: Any, artifact_file: str, dpi: int = 120) -> None:
        """A matplotlib figure (e.g. a PR curve) saved in the format of `artifact_file`'s extension."""
        blob = self.journal.new_blob_path(Path(artifact_file).name)
        figure.savefig(blob, dpi=dpi, bbox_inches="tight")
        self._append(
            {"op": "artifact", "local": str(blob), "artifact_path": _artifact_dir(os.path.dirname(artifact_file))}
        )

    # -- ending -------------------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Wait up to `timeout` s (default: flush_timeout) until everything queued is sent."""
        return self.sender.flush(self.flush_timeout if timeout is None else timeout)

    def finish(
        self, status: str = "FINISHED", error: BaseException | str | None = None, timeout: float | None = None
    ) -> bool:
        """End the run: FINISHED, FAILED (tag `error` = one-line reason) or KILLED.

        Waits up to `timeout` s (default flush_timeout) for delivery; True when everything
        reached MLflow, False when the rest was left in the spool for `detlab mlflow sync`.
        Calling it again does nothing. Never raises.
        """
        if self._finished:
            return self._delivered
        self._finished = True
        try:
            status = str(status).upper()
            if status not in STATUSES:
                error = error or f"unknown status {status!r} given to finish()"
                status = "FAILED"
            reason = redact(one_line(error)) if error is not None else None
            if status == "FAILED" and not reason:
                reason = "failed (no reason given)"
            info = dict(self._attempt_info, ended=time.time(), status=status)
            if reason:
                info["error"] = reason
            self._append(
                {
                    "op": "terminate",
                    "status": status,
                    "error": reason,
                    "end_time": int(time.time() * 1000),
                    "attempt_id": self.attempt_id,
                    "attempt_info": info,
                    "session_started": self.started,
                }
            )
            self._delivered = self._stop(timeout)
        except Exception as e:  # pragma: no cover - last line of defence
            self._warn_once("finish", "MLflow recording: finish failed (%s)", one_line(e))
        return self._delivered

    def close(self, timeout: float | None = None) -> bool:
        """Stop this session without ending the run (a process that only adds metrics, e.g. the
        system metrics of another node); what is not delivered stays in the spool. Idempotent."""
        if not self._finished:
            self._finished = True
            self._delivered = self._stop(timeout)
        return self._delivered

    def __enter__(self) -> RunRecorder:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None:
            self.finish("FINISHED")
        elif isinstance(exc, KeyboardInterrupt):
            self.finish("KILLED", error=exc)
        else:
            self.finish("FAILED", error=exc)

    @property
    def pending_count(self) -> int:
        return len(self.sender.pending)

    @property
    def rejected(self) -> int:
        """Items MLflow refused for good (listed in the run's *.rejected.jsonl)."""
        return self.sender.rejected

    @property
    def journal_path(self) -> Path:
        return self.journal.path

    # -- internals ----------------------------------------------------------------------------
    def _append(self, op: Op) -> None:
        if self._finished and op["op"] != "terminate":
            self._warn_once("after-finish", "MLflow recording: %s called after finish(); ignored", op["op"])
            return
        try:
            seq = self.journal.append(op)
        except OSError as e:  # disk full, spool gone: keep it in memory at least
            self._warn_once(
                "journal",
                "MLflow recording: cannot write the journal %s (%s); recording goes on in memory only",
                self.journal.path,
                one_line(e),
            )
            seq = -1
        self.sender.push({"seq": seq, **op})

    def _stop(self, timeout: float | None) -> bool:
        delivered, stopped = self.sender.stop(self.flush_timeout if timeout is None else timeout)
        if delivered and stopped:
            self.journal.remove()
        else:
            pending = len(self.sender.pending)
            where = "" if self.spool_dir == default_spool_dir() else f" --spool {self.spool_dir}"
            log.warning(
                "MLflow at %s: %d operation(s) of run %s not delivered; kept in %s. "
                "Send them with: detlab mlflow sync%s",
                self.tracking_uri,
                pending,
                self.run_id,
                self.journal.path,
                where,
            )
            if stopped:
                self.journal.unlock()
        if self.rejected:
            log.warning(
                "MLflow refused %d item(s) of run %s for good; they are listed in %s/*.rejected.jsonl",
                self.rejected,
                self.run_id,
                self.journal.run_dir,
            )
        return delivered

    def _warn_once(self, key: str, msg: str, *args: Any) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(msg, *args)


class NullRecorder:
    """Stands in for `RunRecorder` on ranks other than 0: every call does nothing."""

    def __init__(self, run_id: str | None = None) -> None:
        self.run_id = run_id

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *a, **k: None

    def finish(self, *a: Any, **k: Any) -> bool:
        return True

    def __enter__(self) -> NullRecorder:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


def _artifact_dir(path: str | None) -> str | None:
    """'' and '.' mean the run's artifact root; keys are cleaned like metric names."""
    if not path or path in (".", "/"):
        return None
    return "/".join(clean_key(p) for p in str(path).strip("/").split("/") if p)


def _flush_at_exit(ref: weakref.ref[RunRecorder]) -> None:
    """At interpreter exit without finish(): a short last flush; the rest stays in the spool."""
    rec = ref()
    if rec is not None and not rec._finished:
        rec.flush(min(rec.flush_timeout, 10.0))
