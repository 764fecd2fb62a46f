"""`detlab train` failing before any worker starts: a bad config value or a missing dataset path
ends with one line naming the cause (exit 2), and the MLflow run is FAILED with that reason,
with the params and config that were asked for. No Ray is started for these."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from train_helpers import MINI, REPO, tiny_sets


def train_cli(args, uri, tmp_path):
    cmd = [sys.executable, "-m", "detlab.cli", "train", "--config", MINI, "--mlflow-uri", uri,
           "--storage", str(tmp_path / "ray"), *args]
    # no Ray may be reached: a preflight failure must not start or join a cluster
    env = dict(os.environ, RAY_ADDRESS="127.0.0.1:1")
    return subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)


def sets_args(sets):
    return [arg for s in sets for arg in ("--set", s)]


@pytest.mark.parametrize("override, causes", [
    ("optimizer.lr=-1.0", ("bad config: cannot build the optimizer (optimizer.*): ValueError:",
                           "Invalid learning rate: -1.0")),
    ("model.bbox_head.stacked_convs=oops", ("bad config: cannot build the model (model.*):",)),
    ("data.train.ann_file=/nonexistent/ImageSets/trainval.txt",
     ("dataset path not found: data.train.ann_file = /nonexistent/ImageSets/trainval.txt",)),
    ("data.val.img_prefix=/nonexistent/images/", ("dataset path not found: data.val.img_prefix",)),
])
def test_bad_value_or_missing_path_fails_in_one_line_and_marks_the_run(
        override, causes, synth_hrsc, mlflow_server, client, tmp_path):
    experiment = f"fail-{abs(hash(override)) % 10**8}"
    proc = train_cli(["--experiment", experiment, "--name", "bad", *sets_args(tiny_sets(synth_hrsc) + [override])],
                     mlflow_server.uri, tmp_path)
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("detlab: error: "), proc.stderr[-3000:]
    assert all(cause in lines[-1] for cause in causes), lines[-1]
    assert sum(line.startswith("detlab: error:") for line in lines) == 1

    exp = client.get_experiment_by_name(experiment)
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FAILED"
    assert run.data.tags["error"] == lines[-1][len("detlab: error: "):]
    assert run.data.params["runner.max_epochs"] == "3"  # what was asked for is recorded
    assert "config/merged.py" in {a.path for a in client.list_artifacts(run.info.run_id, "config")}


def test_unknown_key_fails_before_any_run(mlflow_server, client, tmp_path):
    proc = train_cli(["--experiment", "unknown-key", "--set", "model.bbox_head.no_such_key=1"],
                     mlflow_server.uri, tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("detlab: error: --set model.bbox_head.no_such_key")
    assert client.get_experiment_by_name("unknown-key") is None


def test_resume_needs_an_existing_run(mlflow_server, tmp_path):
    proc = train_cli(["--resume", "--name", "never-ran"], mlflow_server.uri, tmp_path)
    assert proc.returncode == 2
    assert "nothing to resume" in proc.stderr.strip().splitlines()[-1]
