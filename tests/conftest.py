"""Fixtures shared by every test folder: a real `mlflow server` per module (tests/report
overrides it with one per session, for its shared ablation run)."""
from __future__ import annotations

import pytest

from mlflow_testing import serve_mlflow


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    yield from serve_mlflow(tmp_path_factory)


@pytest.fixture
def client(mlflow_server):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=mlflow_server.uri)
