"""Fixtures of the tracking tests (the `mlflow_server` and `client` fixtures are tests/conftest.py's)."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """Nothing from the user's environment or home leaks in; the default spool is per test."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("DETLAB_MLFLOW_SPOOL", str(tmp_path / "default-spool"))
