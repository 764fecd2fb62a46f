"""Tracking-URI rules: flag > $MLFLOW_TRACKING_URI > ./mlflow.db, always absolute."""
from __future__ import annotations

from detlab.tracking import uri as U


def test_flag_beats_env_beats_default(tmp_path):
    env = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}
    assert U.resolve_tracking_uri("http://127.0.0.1:8", env=env, cwd=tmp_path) == "http://127.0.0.1:8"
    assert U.resolve_tracking_uri(None, env=env, cwd=tmp_path) == "http://127.0.0.1:9"
    assert U.resolve_tracking_uri(None, env={}, cwd=tmp_path) == f"sqlite:///{tmp_path.resolve()}/mlflow.db"


def test_local_stores_are_made_absolute(tmp_path):
    base = tmp_path.resolve()
    assert U.resolve_tracking_uri("sqlite:///runs/x.db", env={}, cwd=tmp_path) == f"sqlite:///{base}/runs/x.db"
    assert U.resolve_tracking_uri("sqlite:////abs/x.db", env={}, cwd=tmp_path) == "sqlite:////abs/x.db"
    assert U.resolve_tracking_uri(None, env={"MLFLOW_TRACKING_URI": "file:./mlruns"},
                                  cwd=tmp_path) == f"file://{base}/mlruns"
    assert U.resolve_tracking_uri("./mlruns", env={}, cwd=tmp_path) == f"file://{base}/mlruns"
    assert U.resolve_tracking_uri("postgresql://u@h/db", env={}) == "postgresql://u@h/db"


def test_default_follows_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert U.resolve_tracking_uri() == f"sqlite:///{tmp_path.resolve()}/mlflow.db"


def test_hint_names_the_ui_command_once(capsys):
    uri = "sqlite:////tmp/somewhere-unique/mlflow.db"
    assert U.print_hint_once(uri)
    assert not U.print_hint_once(uri)
    err = capsys.readouterr().err
    assert err.count("mlflow ui --backend-store-uri 'sqlite:////tmp/somewhere-unique/mlflow.db'") == 1
    assert "http://h:1" in U.ui_hint("http://h:1")
