"""Fixtures shared by every test folder: a real `mlflow server` per module (tests/report
overrides it with one per session, for its shared ablation run)."""
from __future__ import annotations

import os

import pytest

# Every Ray the tests start (in process, `ray start`, `Cluster`) runs its workers at nice 0, as the
# platform's own local Ray does (detlab.training.driver.ray_runtime.workers_at_full_priority): at Ray's
# default nice 15, other load on the machine starves the trials while the tests' clocks run.
os.environ.setdefault("RAY_worker_niceness", "0")

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
