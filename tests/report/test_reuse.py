"""Cells already in MLflow are not rerun: `--fresh` starts a new sweep (a new parent run) whose
finished (cell, seed) pairs are copied from the runs that exist, not trained; the table is unchanged."""
from __future__ import annotations

import csv
import io
import subprocess

import pytest

from mlflow_testing import running_runs
from report_helpers import DETLAB, REPO, cell_runs

pytestmark = pytest.mark.slow


def test_fresh_run_reuses_finished_cells(ablation_run):
    before = {r["cell"]: r for r in csv.DictReader(io.StringIO(ablation_run.report.stdout))}
    done = subprocess.run([*ablation_run.command, "--fresh", "--no-report"], cwd=REPO, env=ablation_run.env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    runs = cell_runs(ablation_run.uri, ablation_run.experiment, ablation_run.name)
    new = [r for r in runs if r.data.tags.get("mlflow.parentRunId") not in (None, ablation_run.parent_run_id)]
    assert len({r.data.tags["mlflow.parentRunId"] for r in new}) == 1 and len(new) == 12
    reused = [r for r in new if "detlab.ablate.reused_from" in r.data.tags]
    # the 9 finished (cell, seed) pairs are copies; the failing cell is tried again (and fails again)
    assert sorted((r.data.tags["detlab.ablate.cell"], r.data.tags["detlab.ablate.seed"]) for r in reused) == sorted(
        (c, str(s)) for c in ("baseline", "frhead", "both") for s in (0, 1, 2))
    sources = {r.info.run_id: r for r in runs}
    for r in reused:
        src = sources[r.data.tags["detlab.ablate.reused_from"]]
        assert src.data.tags["mlflow.parentRunId"] == ablation_run.parent_run_id
        assert r.data.metrics["val/mAP"] == src.data.metrics["val/mAP"]
        assert "train/loss" in r.data.metrics
    failed = [r for r in new if r.data.tags["detlab.ablate.cell"] == "cla"]
    assert len(failed) == 3 and all(r.info.status == "FAILED" for r in failed)
    report = subprocess.run([*DETLAB, *ablation_run.report_args(), "--format", "csv", "--no-diagnostics"],
                            cwd=REPO, env=ablation_run.env, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr[-3000:]
    after = {r["cell"]: r for r in csv.DictReader(io.StringIO(report.stdout))}
    for cell in ("baseline", "frhead", "both"):
        assert after[cell]["mean"] == before[cell]["mean"] and after[cell]["std"] == before[cell]["std"]
        assert after[cell]["n_finished"] == "3"
    assert not running_runs(ablation_run.uri)
