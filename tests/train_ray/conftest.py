"""Fixtures for the Ray Train tests (the `mlflow_server` is tests/conftest.py's): one synthetic HRSC2016 set and one
local Ray instance per module; helpers to build a tiny, deterministic mini-config run."""
from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="module")
def ray_local():
    """A fresh local Ray (never a cluster someone else runs on this machine); the Train
    controller polls workers every 0.5 s (default 2 s) so reports and restarts are quicker."""
    ray = pytest.importorskip("ray")
    saved = os.environ.get("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S")
    os.environ["RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"] = "0.5"
    # with its dashboard: Train V2's placement-group cleaner needs this cluster's state API
    ray.init(address="local", num_cpus=2)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        if saved is None:
            os.environ.pop("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", None)
        else:
            os.environ["RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"] = saved


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("DETLAB_MLFLOW_SPOOL", str(tmp_path / "default-spool"))
