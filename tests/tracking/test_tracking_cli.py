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
