"""A local `mlflow server` as a managed child process (tests, `detlab mlflow serve`).

Artifacts are *served* (`--serve-artifacts --artifacts-destination DIR`): new
experiments get `mlflow-artifacts:/` locations, so a client in any process or on
any node uploads artifacts over HTTP to this server, which writes them under DIR.
With `--default-artifact-root DIR` instead, the server only hands out the path
DIR and each client writes there itself: that works only where the client sees
the same file system, not from a Ray worker on another node.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO

from detlab.foreground import stop_process_group
from detlab.ports import free_port
from detlab.subpath import SubPath
from detlab.tracking.uri import sqlite_uri


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost' (reachable from this machine only)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def mlflow_executable() -> str:
    """The `mlflow` next to the running interpreter (the venv's), else on PATH."""
    here = Path(sys.executable).parent / "mlflow"
    return str(here) if here.exists() else "mlflow"


class ServerError(RuntimeError):
    """The server did not come up (the message ends with the tail of its log)."""


class MlflowServer:
    """`mlflow server` with a SQLite store and served artifacts under `root`.

    Use as a context manager, or call start()/stop(); restart() comes back on the
    same port and store, which is what an outage test needs.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        workers: int = 1,
        startup_timeout: float = 90.0,
        mlflow_bin: str | None = None,
        app_name: str | None = None,
        env: dict[str, str] | None = None,
        backend_store_uri: str | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self._store = backend_store_uri  # default: <root>/mlflow.db
        self.host = host
        self.port = port or free_port(host if host not in ("0.0.0.0", "::") else "127.0.0.1")
        self.workers = workers
        self.startup_timeout = startup_timeout
        self.mlflow_bin = mlflow_bin or mlflow_executable()
        self.app_name = app_name  # "basic-auth": MLflow's own authentication (its settings in `env`)
        self.env = dict(env or {})
        self.proc: subprocess.Popen | None = None
        self._log: BinaryIO | None = None

    # -- where things are ---------------------------------------------------
    @property
    def uri(self) -> str:
        """Tracking URI for clients (loopback when bound to all interfaces)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def backend_store_uri(self) -> str:
        return self._store or sqlite_uri(self.root / "mlflow.db")

    artifacts_dir = SubPath("root", "artifacts")
    log_path = SubPath("root", "server.log")

    def command(self) -> list[str]:
        return [
            self.mlflow_bin,
            "server",
            "--backend-store-uri",
            self.backend_store_uri,
            "--serve-artifacts",
            "--artifacts-destination",
            str(self.artifacts_dir),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ] + (["--app-name", self.app_name] if self.app_name else [])

    # -- life cycle ---------------------------------------------------------
    def start(self) -> MlflowServer:
        """Start and wait until /health answers; raise ServerError with the log tail if not."""
        if self.running:
            return self
        self.root.mkdir(parents=True, exist_ok=True)
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", PYTHONUNBUFFERED="1", **self.env)
        self._log = log = open(self.log_path, "ab")
        log.write(f"\n--- start {time.strftime('%Y-%m-%d %H:%M:%S')}: {' '.join(self.command())}\n".encode())
        log.flush()
        try:
            self.proc = subprocess.Popen(
                self.command(),
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.root,
                start_new_session=True,
            )  # own group: stop() ends its workers too
        except OSError as e:
            self._close_log()
            raise ServerError(f"cannot run {self.mlflow_bin}: {e}") from e
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._close_log()
                raise ServerError(f"mlflow server exited with code {self.proc.returncode}:\n{self.log_tail()}")
            if self.healthy():
                return self
            time.sleep(0.25)
        self.stop()
        raise ServerError(f"mlflow server not healthy after {self.startup_timeout:.0f} s:\n{self.log_tail()}")

    def healthy(self, timeout: float = 1.0) -> bool:
        try:
            with urllib.request.urlopen(self.uri + "/health", timeout=timeout) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the whole process group (server and its workers), SIGKILL after `timeout`."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None and not stop_process_group(proc, timeout):
            print(  # stuck in the kernel: say so, go on
                f"mlflow server pid {proc.pid} still alive {timeout:.0f} s after SIGKILL", file=sys.stderr
            )
        if proc is not None:
            self._reap_group(proc.pid)
        self._close_log()

    def restart(self) -> MlflowServer:
        """Stop, then start again on the same port with the same store."""
        self.stop()
        return self.start()

    def wait(self) -> int:
        """Block until the server exits (foreground `detlab mlflow serve`)."""
        assert self.proc is not None
        return self.proc.wait()

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> MlflowServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers ------------------------------------------------------------
    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    @staticmethod
    def _reap_group(pgid: int, timeout: float = 5.0) -> None:
        """Workers may outlive the leader briefly: make sure none keeps the port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.1)
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
