"""Where test results go in MLflow: the training run they belong to, or a new run that names
its source (a checkpoint file or a registered model). Synchronous: the command waits for
the server (each request fails fast, see tracking.client) and says so in one line if it is down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from detlab.errors import UserError
from detlab.tracking.client import create_run, make_client, one_line

TEST_EXPERIMENT = "detlab-test"


class TestRecord:
    """Metrics, tags and artifacts for one ``detlab test``; ``close`` ends a run it created."""

    def __init__(
        self,
        tracking_uri: str,
        run_id: str | None,
        *,
        source_tags: Mapping[str, str],
        run_name: str,
        experiment: str = TEST_EXPERIMENT,
    ):
        self.uri = tracking_uri
        self.client = make_client(tracking_uri)
        self.owned = run_id is None
        self.run_id: str = (
            create_run(tracking_uri, experiment, run_name, tags=dict(source_tags)) if run_id is None else run_id
        )

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as err:
            raise UserError(f"MLflow at {self.uri}: cannot {what} of run {self.run_id}: {one_line(err)}") from err

    def log(self, metrics: Mapping[str, float], tags: Mapping[str, Any]) -> None:
        import time

        from mlflow.entities import Metric, RunTag

        now = int(time.time() * 1000)
        rows = [Metric(k, float(v), now, 0) for k, v in metrics.items()]
        tag_rows = [RunTag(k, str(v)[:5000]) for k, v in tags.items()]
        for i in range(0, max(len(rows), 1), 500):
            self._call(
                "log the metrics",
                self.client.log_batch,
                self.run_id,
                metrics=rows[i : i + 500],
                tags=tag_rows if i == 0 else [],
            )

    def log_dir(self, local: str | os.PathLike, artifact_path: str) -> None:
        self._call("log the artifacts", self.client.log_artifacts, self.run_id, os.fspath(local), artifact_path)

    def close(self, ok: bool, error: str | None = None) -> None:
        """End a run this record created (FINISHED, or FAILED with the reason); a training run is left as it was."""
        if not self.owned:
            return
        if error:
            try:
                self.client.set_tag(self.run_id, "error", one_line(error))
            except Exception:
                pass
        self.client.set_terminated(self.run_id, "FINISHED" if ok else "FAILED")
