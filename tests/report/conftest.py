"""Fixtures of the report tests: a real `mlflow server` for the session, and one ablation run
(components_smoke.yaml, toy trainer) that is killed part-way, resumed, and has one failing cell.

The run is shared by the table checks and the browser test (both slow); the unit tests
(specs, stats, renderers, diagnostics) need neither.
"""
from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mlflow_testing import serve_mlflow
from report_helpers import DETLAB, REPO, cell_runs, kill_tree, wait_for

ABLATION = "experiments/ablations/components_smoke.yaml"
EXPERIMENT = "test-ablation-components"
CRASH_LR = 0.0049       # only the `cla` cell gets this learning rate, and the toy trainer crashes on it


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("DETLAB_MLFLOW_SPOOL", str(tmp_path / "default-spool"))


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    yield from serve_mlflow(tmp_path_factory)


@dataclass
class AblationRun:
    uri: str
    sets: list[str]
    report_dir: Path
    killed_pids: list[int]
    finished_before_kill: int
    first_log: str
    second_log: str
    report: subprocess.CompletedProcess
    parent_run_id: str
    env: dict
    command: list[str]
    experiment: str = EXPERIMENT
    name: str = "components_smoke"
    extra: dict = field(default_factory=dict)

    def report_args(self) -> list[str]:
        return ["report", ABLATION, "--trainer", "toy", *sum((["--set", s] for s in self.sets), [])]


@pytest.fixture(scope="session")
def ablation_run(mlflow_server, tmp_path_factory) -> AblationRun:
    """`detlab ablate run` killed after a few trials, run again to the end, then `detlab report`."""
    tmp = tmp_path_factory.mktemp("ablation")
    sets = [f"dataset.root={tmp / 'synth_hrsc2016'}", f"mlflow.experiment={EXPERIMENT}",
            f"cells.1.overrides.optimizer.lr={CRASH_LR}"]
    env = dict(os.environ, MLFLOW_TRACKING_URI=mlflow_server.uri, DETLAB_TOY_EVAL_S="0.5", DETLAB_TOY_INLINE="1",
               DETLAB_TOY_CRASH=f"optimizer.lr={CRASH_LR}", RAY_TRAIN_HEALTH_CHECK_INTERVAL_S="0.5",
               DETLAB_MLFLOW_SPOOL=str(tmp / "spool"), PYTHONUNBUFFERED="1")
    cmd = [*DETLAB, "ablate", "run", ABLATION, "--trainer", "toy", "--storage", str(tmp / "sweeps"),
           "--num-cpus", "2", "--synth-images", "20", "--progress-interval", "5",
           "--report-dir", str(tmp / "report-run"), *sum((["--set", s] for s in sets), [])]
    first_log = tmp / "first.log"
    with open(first_log, "w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            finished = wait_for(lambda: _finished(mlflow_server.uri) >= 4 or proc.poll() is not None,
                                timeout=600, interval=1.0, what="4 finished trials")
            assert proc.poll() is None, f"the first run ended before it could be killed:\n{first_log.read_text()[-3000:]}"
            finished = _finished(mlflow_server.uri)
            killed = kill_tree(proc)
        finally:
            if proc.poll() is None:
                kill_tree(proc)
    time.sleep(2)
    second = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=780)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
    report = subprocess.run([*DETLAB, "report", ABLATION, "--trainer", "toy", "--format", "csv",
                             "--out", str(tmp / "report"), *sum((["--set", s] for s in sets), [])],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stdout[-3000:] + report.stderr[-3000:]
    parents = {r.data.tags.get("mlflow.parentRunId") for r in cell_runs(mlflow_server.uri, EXPERIMENT,
                                                                          "components_smoke")}
    assert len(parents) == 1, parents
    return AblationRun(mlflow_server.uri, sets, tmp / "report", killed, finished, first_log.read_text(),
                       second.stdout + second.stderr, report, parents.pop(), env, cmd)


def _finished(uri: str) -> int:
    return sum(r.info.status == "FINISHED" for r in cell_runs(uri, EXPERIMENT, "components_smoke"))
