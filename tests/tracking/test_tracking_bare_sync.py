"""Pending records are found without a path: a run whose server went away after its first
evaluation, and came back after the process gave up, is completed by a bare
`detlab mlflow sync` (a subprocess, as a user types it), with $DETLAB_MLFLOW_SPOOL set and
unset; `detlab mlflow status` lists it before and not after. Spools that older versions
kept in run folders under the default train storage are found too."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracking_helpers import spool_files
from detlab.tracking import RunRecorder

EVALS = 3


def _cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "detlab.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def _interrupted_run(server, spool_dir=None) -> str:
    """A run with one evaluation delivered and two (and its end) left in the spool by a server
    outage that outlasted the process's flush timeout."""
    run_id = RunRecorder.create_run("bare-sync", "interrupted", tracking_uri=server.uri, print_hint=False)
    rec = RunRecorder.attach(run_id, tracking_uri=server.uri, spool_dir=spool_dir, flush_timeout=2)
    rec.log_metrics({"val/mAP": 0.1}, step=1)
    assert rec.flush(30)
    server.stop()
    for epoch in range(2, EVALS + 1):
        rec.log_metrics({"val/mAP": epoch / 10}, step=epoch)
    assert rec.finish("FINISHED") is False   # gave up: the rest waits in the spool
    server.start()
    return run_id


@pytest.mark.parametrize("spool_env", ["set", "unset"])
def test_bare_sync_completes_the_run(spool_env, mlflow_server, client, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    if spool_env == "set":
        spool = tmp_path / "my-spool"
        monkeypatch.setenv("DETLAB_MLFLOW_SPOOL", str(spool))
    else:
        monkeypatch.delenv("DETLAB_MLFLOW_SPOOL", raising=False)
        spool = home / ".cache" / "detlab" / "mlflow-spool"
    run_id = _interrupted_run(mlflow_server)
    assert spool_files(spool), "the records should wait in the machine's spool"
    run = client.get_run(run_id)
    assert run.info.status == "RUNNING" and len(client.get_metric_history(run_id, "val/mAP")) == 1

    env = dict(os.environ)
    status = _cli(["mlflow", "status"], tmp_path, env)
    assert status.returncode == 0 and run_id in status.stdout and "detlab mlflow sync" in status.stdout

    sync = _cli(["mlflow", "sync"], tmp_path, env)
    assert sync.returncode == 0, sync.stdout + sync.stderr
    assert f"run {run_id}" in sync.stdout and "sent" in sync.stdout and str(spool) in sync.stdout
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(run_id, "val/mAP")] == list(range(1, EVALS + 1))
    assert spool_files(spool) == []

    assert "every record is delivered" in _cli(["mlflow", "status"], tmp_path, env).stdout
    assert "nothing to sync" in _cli(["mlflow", "sync"], tmp_path, env).stdout


def test_bare_sync_finds_run_folder_spools(mlflow_server, client, tmp_path, monkeypatch):
    """A spool an older `detlab train` kept in its run folder under the default train storage."""
    legacy = tmp_path / "work_dirs" / "ray_train" / "mini-20250101-000000" / "detlab" / "mlflow-spool"
    run_id = _interrupted_run(mlflow_server, spool_dir=legacy)
    sync = _cli(["mlflow", "sync"], tmp_path, dict(os.environ))
    assert sync.returncode == 0, sync.stdout + sync.stderr
    assert str(legacy) in sync.stdout
    assert client.get_run(run_id).info.status == "FINISHED"
    assert spool_files(legacy) == []
