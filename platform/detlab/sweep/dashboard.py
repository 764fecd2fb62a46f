"""`detlab sweep dashboard --study ...`: Optuna's own dashboard (history, parallel coordinates,
parameter importances) over the study's RDB storage, on 127.0.0.1, with the link printed.

The storage and the Optuna study name come from the sweep state the sweep wrote
(``<storage>/<study>/detlab/sweep.json``), so the command takes the same --study,
--set and --storage as the sweep itself.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detlab.errors import UserError
from detlab.foreground import serve_until_stopped, stop_on_sigterm, stop_process_group
from detlab.ports import free_port
from detlab.sweep.layout import StudyPaths, SweepState, default_storage

DEFAULT_PORT = 8080
STARTUP_TIMEOUT_S = 60.0


@dataclass
class DashboardTarget:
    storage_url: str
    study_name: str
    study_id: int


def find_target(study: str, sets: list[str], storage: str | None) -> DashboardTarget:
    """The Optuna storage and study of the sweep of ``study`` (UserError when there is none)."""
    from detlab.specs import load_spec
    from detlab.sweep.optuna_store import make_storage

    spec = load_spec(study, sets)
    root = Path(storage).expanduser().resolve() if storage else default_storage(spec.root)
    paths = StudyPaths(root, spec.name)
    state = SweepState.load(paths)
    if state is None:
        raise UserError(
            f"{study}: no sweep of {spec.name} in {root} (run `detlab sweep --study {study}` first, "
            f"or give its --storage)"
        )
    if not state.optuna_storage or not state.optuna_study:
        raise UserError(
            f"{study}: the sweep of {spec.name} has no Optuna study (sampler {spec.sampler.type}); "
            f"compare its trials in MLflow instead"
        )
    try:
        study_id = make_storage(state.optuna_storage).get_study_id_from_name(state.optuna_study)
    except KeyError:
        raise UserError(
            f"{state.optuna_storage}: no Optuna study {state.optuna_study!r} yet (the sweep has not started a trial)"
        ) from None
    return DashboardTarget(state.optuna_storage, state.optuna_study, study_id)


def dashboard_executable() -> str:
    """`optuna-dashboard` next to the running interpreter (the venv's), else on PATH."""
    here = Path(sys.executable).parent / "optuna-dashboard"
    return str(here) if here.exists() else "optuna-dashboard"


class OptunaDashboard:
    """`optuna-dashboard STORAGE --host H --port P` as a child process in its own group."""

    def __init__(
        self, storage_url: str, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT, log_path: Path | None = None
    ) -> None:
        self.storage_url, self.host = storage_url, host
        self.port = port or free_port(host)
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def study_url(self, study_id: int) -> str:
        return f"{self.url}/dashboard/studies/{study_id}"

    def start(self, timeout: float = STARTUP_TIMEOUT_S) -> OptunaDashboard:
        cmd = [dashboard_executable(), self.storage_url, "--host", self.host, "--port", str(self.port)]
        log: Any = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        except OSError as err:
            raise UserError(f"cannot run {cmd[0]}: {err} (install the stack: scripts/install_stack.sh)") from None
        finally:
            if log is not subprocess.DEVNULL:
                log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise UserError(
                    f"optuna-dashboard exited with code {self.proc.returncode}"
                    + (f"; see {self.log_path}" if self.log_path else "")
                )
            if self._answers():
                return self
            time.sleep(0.25)
        self.stop()
        raise UserError(f"optuna-dashboard did not answer at {self.url} within {timeout:.0f} s")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/api/studies", timeout=1.0) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def wait(self) -> int:
        assert self.proc is not None
        return self.proc.wait()

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        stop_process_group(proc, timeout)


def serve(study: str, sets: list[str], storage: str | None, *, host: str, port: int, out=None) -> int:
    """Start the dashboard, print the study's link, keep it up until Ctrl-C (or SIGTERM)."""
    from detlab.tracking.server import is_loopback

    out = out or sys.stdout
    target = find_target(study, sets, storage)
    if not is_loopback(host):
        print(f"warning: binding to {host}: optuna-dashboard has no authentication", file=sys.stderr)
    dash = OptunaDashboard(target.storage_url, host=host, port=port)
    stop_on_sigterm()
    dash.start()

    def announce() -> None:
        print(
            f"Optuna dashboard of {target.study_name}: {dash.study_url(target.study_id)}\n"
            f"  (history, parallel coordinates, parameter importances; storage {target.storage_url}; "
            f"Ctrl-C stops it)",
            file=out,
            flush=True,
        )

    return serve_until_stopped(dash, announce, "optuna-dashboard exited")
