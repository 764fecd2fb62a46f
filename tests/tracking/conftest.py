"""A real `mlflow server` per test module (SQLite store, served artifacts, 127.0.0.1, free port).

At teardown the fixture checks that no test left a run RUNNING."""
from __future__ import annotations

import pytest

from detlab.tracking.server import MlflowServer
from tracking_helpers import running_runs


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    with MlflowServer(tmp_path_factory.mktemp("mlflow-server")) as server:
        yield server
        if not server.running:  # a test stopped it and failed before restarting it
            server.start()
        left = running_runs(server.uri)
        assert not left, f"runs left RUNNING: {left}"


@pytest.fixture
def client(mlflow_server):
    from mlflow.tracking import MlflowClient
    return MlflowClient(tracking_uri=mlflow_server.uri)


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """Nothing from the user's environment or home leaks in; the default spool is per test."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("DETLAB_MLFLOW_SPOOL", str(tmp_path / "default-spool"))
