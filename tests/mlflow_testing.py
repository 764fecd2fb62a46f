"""The real `mlflow server` the tracking, training, sweep and report tests run against (imported
by name: tests/ has no packages; tests/conftest.py puts this folder on sys.path)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def running_runs(uri: str) -> list[str]:
    """Runs left RUNNING anywhere on the server, deleted ones included (none may be, after any test)."""
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    c = MlflowClient(tracking_uri=uri)
    exps = [e.experiment_id for e in c.search_experiments(view_type=ViewType.ALL)]
    if not exps:
        return []
    runs = c.search_runs(exps, filter_string="attributes.status = 'RUNNING'", run_view_type=ViewType.ALL)
    return [f"{r.info.run_name} ({r.info.run_id})" for r in runs]


def serve_mlflow(tmp_path_factory: Any) -> Iterator[Any]:
    """Body of an `mlflow_server` fixture: an `mlflow server` (SQLite store, served artifacts,
    127.0.0.1, free port) for the fixture's scope; at teardown, no run may be left RUNNING."""
    from detlab.tracking.server import MlflowServer

    with MlflowServer(tmp_path_factory.mktemp("mlflow-server")) as server:
        yield server
        if not server.running:  # a test stopped it and failed before restarting it
            server.start()
        left = running_runs(server.uri)
        assert not left, f"runs left RUNNING: {left}"
