"""Fixtures of the sweep tests (the `mlflow_server` and `client` are tests/conftest.py's): one
synthetic HRSC2016 set per session, and an environment that never reaches a Ray or MLflow someone else runs on this machine."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def synth_hrsc(tmp_path_factory):
    """12 synthetic HRSC2016 images in the real layout (7 trainval, 5 test)."""
    from detlab.data.synth import synth_dataset

    root = tmp_path_factory.mktemp("synth") / "hrsc2016"
    synth_dataset("hrsc2016", root, 12, seed=3, progress=False)
    return root


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    for var in ("MLFLOW_TRACKING_URI", "RAY_ADDRESS", "DETLAB_SWEEP_STORAGE", "DETLAB_TOY_CRASH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DETLAB_MLFLOW_SPOOL", str(tmp_path / "default-spool"))
