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


@pytest.fixture(scope="module")
def synth_hrsc(tmp_path_factory) -> str:
    """8 synthetic HRSC2016 images (6 trainval, 2 test) with a trailing-slash root, for the Ray Train and
    results tests (tests/sweep and tests/training define their own)."""
    from detlab.data.synth import synth_dataset
    root = tmp_path_factory.mktemp("synth") / "hrsc2016"
    synth_dataset("hrsc2016", root, 8, seed=3, progress=False)
    return str(root) + "/"
