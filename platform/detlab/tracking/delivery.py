"""Turn journal ops into MLflow calls, exactly once as far as the server is concerned.

Params, tags, status and artifacts are idempotent in MLflow (same value, same
path), but every `log_batch` of a metric adds a row, even an identical one. So a
group of ops that may already have landed ("in doubt": an earlier attempt failed
half-way, or a journal is replayed by another process) has its metrics checked
against the run's metric history first, by (key, step, timestamp, value).
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Iterable
from typing import Any

from detlab.tracking.client import error_code, is_transient, one_line
from detlab.tracking.journal import Op
from detlab.tracking.params import (
    MAX_ENTITIES_PER_BATCH,
    MAX_METRICS_PER_BATCH,
    MAX_PARAMS_TAGS_PER_BATCH,
    metric_identity,
)

ATTEMPT_TAG_PREFIX = "detlab.attempt."
BATCHABLE = ("params", "metrics", "tags")
Rejected = list[tuple[Op, str]]


def next_group(ops: list[Op]) -> list[Op]:
    """The longest prefix of `ops` that goes out as one request (one log_batch, or one other op)."""
    if not ops:
        return []
    if ops[0]["op"] not in BATCHABLE:
        return ops[:1]
    n_metrics = n_params = n_tags = 0
    params: dict[str, str] = {}
    group: list[Op] = []
    for op in ops:
        kind = op["op"]
        if kind not in BATCHABLE:
            break
        m = len(op.get("metrics", ()))
        p = len(op.get("params", {}))
        t = len(op.get("tags", {}))
        if group and (
            n_metrics + m > MAX_METRICS_PER_BATCH
            or n_params + p > MAX_PARAMS_TAGS_PER_BATCH
            or n_tags + t > MAX_PARAMS_TAGS_PER_BATCH
            or n_metrics + n_params + n_tags + m + p + t > MAX_ENTITIES_PER_BATCH
        ):
            break
        if kind == "params" and any(k in params and params[k] != v for k, v in op["params"].items()):
            break  # a conflicting value goes alone, so its refusal cannot take others with it
        if kind == "params":
            params.update(op["params"])
        n_metrics, n_params, n_tags = n_metrics + m, n_params + p, n_tags + t
        group.append(op)
    return group


class Delivery:
    """Sends ops of one run through one `MlflowClient`."""

    def __init__(self, client, run_id: str) -> None:
        self.client = client
        self.run_id = run_id
        self._known: dict[str, set] = {}  # metric key -> identities known to be stored

    # -- public -----------------------------------------------------------------
    def send(self, group: list[Op], *, in_doubt: bool = False) -> Rejected:
        """Deliver `group`. Raises on a transient failure (retry later, then in doubt);
        returns the ops (or single items) MLflow refused for good, with the reason."""
        try:
            self._send(group, in_doubt)
            return []
        except Exception as e:
            if is_transient(e):
                raise
            if len(group) > 1:  # find the culprit; the others go through
                rejected: Rejected = []
                for op in group:
                    rejected += self.send([op], in_doubt=True)
                return rejected
            return self._send_items(group[0], e)

    # -- one request --------------------------------------------------------------
    def _send(self, group: list[Op], in_doubt: bool) -> None:
        kind = group[0]["op"]
        if kind in BATCHABLE:
            self._log_batch(group, in_doubt)
        elif kind == "artifact":
            self._artifact(group[0])
        elif kind == "delete_tag":
            self._delete_tag(group[0]["key"])
        elif kind == "attempt":
            self._attempt(group[0])
        elif kind == "terminate":
            self._terminate(group[0])
        else:
            raise ValueError(f"unknown journal op {kind!r}")

    def _log_batch(self, group: Iterable[Op], in_doubt: bool) -> None:
        from mlflow.entities import Metric, Param, RunTag

        metrics: list[tuple[str, float, int, int]] = []
        params: dict[str, str] = {}
        tags: dict[str, str] = {}
        for op in group:
            metrics += [tuple(m) for m in op.get("metrics", ())]
            params.update(op.get("params", {}))
            tags.update(op.get("tags", {}))
        if in_doubt and metrics:
            metrics = self._not_yet_stored(metrics)
        if not (metrics or params or tags):
            return
        try:
            self.client.log_batch(
                self.run_id,
                metrics=[Metric(key=k, value=v, timestamp=ts, step=s) for k, v, s, ts in metrics],
                params=[Param(k, v) for k, v in params.items()],
                tags=[RunTag(k, v) for k, v in tags.items()],
                synchronous=True,
            )
        except Exception:
            for k, *_ in metrics:  # the request may have landed: what we knew of these keys is stale
                self._known.pop(k, None)
            raise
        for k, v, s, ts in metrics:
            if k in self._known:
                self._known[k].add(metric_identity(s, ts, v))

    def _not_yet_stored(self, metrics: list[tuple]) -> list[tuple]:
        for key in {m[0] for m in metrics} - self._known.keys():
            history = self.client.get_metric_history(self.run_id, key)
            self._known[key] = {metric_identity(m.step, m.timestamp, m.value) for m in history}
        return [m for m in metrics if metric_identity(m[2], m[3], m[1]) not in self._known[m[0]]]

    def _artifact(self, op: Op) -> None:
        local = op["local"]
        if not os.path.exists(local):
            raise _Refused(f"artifact file vanished before it was sent: {local}")
        if os.path.isdir(local):
            dest = posixpath.join(op.get("artifact_path") or "", os.path.basename(local.rstrip("/")))
            self.client.log_artifacts(self.run_id, local, dest)
        else:
            self.client.log_artifact(self.run_id, local, op.get("artifact_path"))

    def _delete_tag(self, key: str) -> None:
        try:
            self.client.delete_tag(self.run_id, key)
        except Exception as e:
            if error_code(e) != "RESOURCE_DOES_NOT_EXIST" and "No tag with name" not in str(e):
                raise

    def _attempt(self, op: Op) -> None:
        """A (re)started training process took the run: mark it, RUNNING again, recount restarts.

        The count is derived from the set of attempt tags (one unique key per attach), not
        read-modify-written, so a replayed or retried attempt op never counts twice."""
        self.client.set_tag(self.run_id, ATTEMPT_TAG_PREFIX + op["attempt_id"], json.dumps(op["info"]))
        self._delete_tag("error")  # a failure of an earlier attempt no longer describes the run
        run = self.client.get_run(self.run_id)
        if run.info.status != "RUNNING":
            self.client.update_run(self.run_id, status="RUNNING")
        n = sum(1 for k in run.data.tags if k.startswith(ATTEMPT_TAG_PREFIX))
        self.client.set_tag(self.run_id, "restarts", str(max(n - 1, 0)))

    def _terminate(self, op: Op) -> None:
        """End the run, unless a newer attempt took it over (a late replay of an old session
        must not mark a resumed run FAILED)."""
        own = op.get("attempt_id")
        if own:
            self.client.set_tag(self.run_id, ATTEMPT_TAG_PREFIX + own, json.dumps(op["attempt_info"]))
        tags = self.client.get_run(self.run_id).data.tags
        if _newer_attempt(tags, own, op.get("session_started", 0.0)):
            return
        if op.get("error"):
            self.client.set_tag(self.run_id, "error", op["error"])
        self.client.set_terminated(self.run_id, status=op["status"], end_time=op.get("end_time"))

    # -- isolating refusals ---------------------------------------------------------
    def _send_items(self, op: Op, err: BaseException) -> Rejected:
        """A refused batch op: send its items one by one, keep the good ones."""
        kind = op["op"]
        if kind not in BATCHABLE or _n_items(op) <= 1:
            return [(op, one_line(err))]
        rejected: Rejected = []
        items: list[Op] = (
            [{"op": kind, "metrics": [m]} for m in op["metrics"]]
            if kind == "metrics"
            else [{"op": kind, kind: {k: v}} for k, v in op[kind].items()]
        )
        for item in items:
            try:
                self._send([item], in_doubt=True)
            except Exception as e:
                if is_transient(e):
                    raise
                rejected.append((item, one_line(e)))
        return rejected


class _Refused(Exception):
    """Not sendable at all (permanent)."""


def _n_items(op: Op) -> int:
    return len(op.get("metrics", ())) + len(op.get("params", {})) + len(op.get("tags", {}))


def _newer_attempt(tags: dict[str, str], own: str | None, started: float) -> bool:
    for k, v in tags.items():
        if not k.startswith(ATTEMPT_TAG_PREFIX) or k == ATTEMPT_TAG_PREFIX + (own or ""):
            continue
        try:
            info: dict[str, Any] = json.loads(v)
        except ValueError:
            continue
        if float(info.get("started", 0)) > started:
            return True
    return False
