"""A local web server (MLflow, optuna-dashboard) kept in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from typing import Any

from detlab.errors import UserError


def stop_on_sigterm() -> None:
    """SIGTERM (e.g. from a supervisor) stops the command like Ctrl-C does."""
    signal.signal(signal.SIGTERM, _interrupt)


def serve_until_stopped(server: Any, announce: Callable[[], None], exited: str) -> int:
    """Print what ``announce`` prints, then wait for the started ``server`` (it has ``wait()`` and
    ``stop()``); 0 after Ctrl-C / SIGTERM, a one-line ``UserError`` (``exited`` and the exit code)
    if it ends on its own. The server is stopped in every case."""
    try:
        announce()
        code = server.wait()
        raise UserError(f"{exited} (exit code {code})")
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def stop_process_group(proc: subprocess.Popen, timeout: float) -> bool:
    """SIGTERM the process group of ``proc`` (a server started with ``start_new_session``), SIGKILL
    after ``timeout`` s; True when ``proc`` is gone, False when it outlived both (stuck in the kernel)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            continue
    return False
