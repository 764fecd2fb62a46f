"""`detlab mlflow serve|sync` as a user runs them."""
from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from detlab.cli import main as detlab
from tracking_helpers import listening_addresses


def test_serve_foreground_until_sigterm(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "detlab.cli", "mlflow", "serve", "--port", "0",
                             "--dir", str(tmp_path / "srv")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        line = ""
        while time.monotonic() < deadline and "MLflow server at" not in line:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, proc.stderr.read()
        uri = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert uri, line
        port = int(uri.group(1))
        with urllib.request.urlopen(uri.group(0) + "/health", timeout=5) as r:
            assert r.status == 200
        assert set(listening_addresses(port)) == {"127.0.0.1"}
        assert (tmp_path / "srv" / "mlflow.db").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    assert not listening_addresses(port)          # the server's own process group went too


def test_serve_warns_off_loopback_and_reports_busy_ports(capsys):
    assert detlab(["mlflow", "serve", "--host", "192.0.2.1", "--port", "5999"]) == 2   # TEST-NET: not ours
    err = capsys.readouterr().err
    assert "warning: binding to 192.0.2.1" in err and "cannot listen on 192.0.2.1:5999" in err
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert detlab(["mlflow", "serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert "warning" not in err and err.count("\n") == 1 and f"127.0.0.1:{port}" in err


def test_sync_spool_errors_are_one_line(tmp_path, capsys):
    assert detlab(["mlflow", "sync", "--spool", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("detlab: error: --spool") and err.count("\n") == 1
    (tmp_path / "empty").mkdir()
    assert detlab(["mlflow", "sync", "--spool", str(tmp_path / "empty")]) == 0
    assert "nothing to sync" in capsys.readouterr().out


def test_ui_serves_a_local_store_and_prints_the_runs_link(tmp_path):
    """`detlab mlflow ui` over a SQLite store: 127.0.0.1 only, the link to the latest run's table
    (a shared view of the model-training experiment), stopped by SIGTERM with its process group."""
    from mlflow.tracking import MlflowClient

    from detlab.tracking import RunRecorder
    from detlab.tracking.links import KIND_TAG, TRAINING_KIND, VIEW_TAG_PREFIX

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_id = RunRecorder.create_run("ui-cli", "latest", tracking_uri=store, print_hint=False)
    RunRecorder.close_run(run_id, "FINISHED", tracking_uri=store, spool_dir=tmp_path / "spool")
    proc = subprocess.Popen([sys.executable, "-m", "detlab.cli", "mlflow", "ui", "--store", store, "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, out = time.monotonic() + 120, ""
        while time.monotonic() < deadline and "runs table:" not in out:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, proc.stderr.read()
            out += line
        table = re.search(r"runs table: (http://127\.0\.0\.1:(\d+)/#/experiments/(\d+)/runs\?workflowType=machine_learning&viewStateShareKey=(\S+))",
                          out)
        assert table, out
        port, exp_id, key = int(table.group(2)), table.group(3), table.group(4)
        assert set(listening_addresses(port)) == {"127.0.0.1"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            assert r.status == 200
        tags = MlflowClient(tracking_uri=store).get_experiment(exp_id).tags
        assert tags[KIND_TAG] == TRAINING_KIND and VIEW_TAG_PREFIX + key in tags
        assert key == f"detlab-{run_id}"  # the view made for the latest run
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    assert not listening_addresses(port)
