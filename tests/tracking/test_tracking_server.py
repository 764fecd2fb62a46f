"""MlflowServer: healthy, loopback only, restartable on the same port and store."""
from __future__ import annotations

from detlab.tracking.server import MlflowServer, is_loopback
from tracking_helpers import listening_addresses


def test_binds_loopback_only(mlflow_server):
    assert mlflow_server.healthy()
    assert mlflow_server.uri == f"http://127.0.0.1:{mlflow_server.port}"
    addrs = listening_addresses(mlflow_server.port)
    assert addrs and set(addrs) == {"127.0.0.1"}, addrs


def test_restart_same_port_same_store(mlflow_server, client):
    exp = client.create_experiment("survives-restart")
    port = mlflow_server.port
    mlflow_server.stop()
    assert not mlflow_server.healthy() and not listening_addresses(port)
    mlflow_server.start()
    assert mlflow_server.port == port and mlflow_server.healthy()
    assert client.get_experiment_by_name("survives-restart").experiment_id == exp


def test_artifacts_are_served(mlflow_server, client):
    exp = client.get_experiment(client.create_experiment("served-artifacts"))
    assert exp.artifact_location.startswith("mlflow-artifacts:")


def test_is_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1") and not is_loopback("example.org")


def test_bad_store_reports_the_log(tmp_path):
    import pytest
    from detlab.tracking.server import ServerError
    server = MlflowServer(tmp_path, startup_timeout=60)
    server.mlflow_bin = str(tmp_path / "no-such-mlflow")
    with pytest.raises(ServerError, match="cannot run"):
        server.start()
