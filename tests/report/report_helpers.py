"""Helpers of the report tests (imported by name: tests/ has no packages)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DETLAB = [sys.executable, "-m", "detlab.cli"]
ARTIFACTS = Path(os.environ.get("DETLAB_TEST_ARTIFACTS", REPO / "work_dirs" / "test-artifacts")) / "report"


def cell_runs(uri: str, experiment: str, ablation: str) -> list:
    """Every run tagged with the ablation (all statuses), straight from MLflow."""
    from mlflow.tracking import MlflowClient

    c = MlflowClient(tracking_uri=uri)
    exp = c.get_experiment_by_name(experiment)
    if exp is None:
        return []
    return list(c.search_runs([exp.experiment_id], filter_string=f"tags.`detlab.ablation` = '{ablation}'",
                              max_results=1000))


def _proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, session id), from /proc (psutil is not a dependency)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(entry.name)] = (int(fields[1]), int(fields[3]))
    return out


def kill_tree(proc: subprocess.Popen) -> list[int]:
    """SIGKILL a process we started (in its own session) and every process below it or in its
    session: the embedded Ray's processes included. Only ids we can trace to `proc` are touched."""
    table = _proc_table()
    family = {proc.pid} | {pid for pid, (_, sid) in table.items() if sid == proc.pid}
    grew = True
    while grew:
        below = {pid for pid, (ppid, _) in table.items() if ppid in family} - family
        grew = bool(below)
        family |= below
    for pid in sorted(family):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() and
                                              "Z" not in _state(pid) for pid in family):
        time.sleep(0.5)
    return sorted(family)


def _state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2:].split()[0]
    except OSError:
        return "X"


def wait_for(predicate, timeout: float, interval: float = 2.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
