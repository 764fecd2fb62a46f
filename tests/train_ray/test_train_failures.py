"""Training failing before any worker starts: a bad config value or a missing dataset path ends
with one line naming the cause (the CLI exits 2), and the MLflow run is FAILED with that reason,
holding the params and config that were asked for. No Ray is started for these."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from train_helpers import MINI, REPO, tiny_sets

CASES = [
    # (a value out of range, e.g. optimizer.lr=-1, is refused earlier, before any run exists:
    # tests/config/test_bad_set_cli.py; this one passes the range checks and fails in mmcv's builder)
    ("optimizer.type=NoSuchOptimizer", ("bad config: cannot build the optimizer (optimizer.*):",
                                        "NoSuchOptimizer")),
    ("data.train.ann_file=/nonexistent/ImageSets/trainval.txt",
     ("dataset path not found: data.train.ann_file = /nonexistent/ImageSets/trainval.txt",)),
    ("model.bbox_head.stacked_convs=oops", ("bad config: cannot build the model (model.*):",)),
    ("data.val.img_prefix=/nonexistent/images/", ("dataset path not found: data.val.img_prefix",)),
]


@pytest.fixture(autouse=True)
def no_ray(monkeypatch):
    """A preflight failure must neither start nor join a cluster: any Ray call would fail here."""
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")


def assert_failed_run(client, experiment: str, reason: str) -> None:
    exp = client.get_experiment_by_name(experiment)
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FAILED"
    assert run.data.tags["error"] == reason
    assert run.data.params["runner.max_epochs"] == "3"  # what was asked for is recorded
    assert "config/merged.py" in {a.path for a in client.list_artifacts(run.info.run_id, "config")}


@pytest.mark.parametrize("override, causes", CASES[:2])
def test_cli_bad_value_or_missing_path_one_line_exit_2(override, causes, synth_hrsc, mlflow_server, client,
                                                      tmp_path):
    experiment = f"cli-{override.split('=')[0]}"
    cmd = [sys.executable, "-m", "detlab.cli", "train", "--config", MINI, "--mlflow-uri", mlflow_server.uri,
           "--storage", str(tmp_path), "--experiment", experiment,
           *[arg for s in tiny_sets(synth_hrsc) + [override] for arg in ("--set", s)]]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("detlab: error: "), proc.stderr[-3000:]
    assert sum(line.startswith("detlab: error:") for line in lines) == 1
    assert all(cause in lines[-1] for cause in causes), lines[-1]
    assert_failed_run(client, experiment, lines[-1][len("detlab: error: "):])


@pytest.mark.parametrize("override, causes", CASES[2:])
def test_api_bad_value_or_missing_path_raises_one_line(override, causes, synth_hrsc, mlflow_server, client,
                                                       tmp_path):
    from detlab.errors import UserError
    from detlab.training.contract import FitRequest
    from detlab.training.driver.ray_trainer import train

    experiment = f"api-{override.split('=')[0]}"
    with pytest.raises(UserError) as info:
        train(FitRequest(MINI, tiny_sets(synth_hrsc) + [override], mlflow_uri=mlflow_server.uri, experiment=experiment,
            storage_path=tmp_path))
    reason = str(info.value)
    assert "\n" not in reason and all(cause in reason for cause in causes), reason
    assert_failed_run(client, experiment, reason)


def test_unknown_key_fails_before_any_run(mlflow_server, client, tmp_path):
    from detlab.errors import UserError
    from detlab.training.contract import FitRequest
    from detlab.training.driver.ray_trainer import train

    with pytest.raises(UserError, match=r"^--set model.bbox_head.no_such_key"):
        train(FitRequest(MINI, ["model.bbox_head.no_such_key=1"], mlflow_uri=mlflow_server.uri, experiment="unknown-key",
            storage_path=tmp_path))
    assert client.get_experiment_by_name("unknown-key") is None


def test_resume_needs_an_existing_run_and_a_new_run_a_new_name(synth_hrsc, mlflow_server, tmp_path):
    from detlab.errors import UserError
    from detlab.training.contract import FitRequest
    from detlab.training.driver.ray_trainer import train

    with pytest.raises(UserError, match="nothing to resume"):
        train(FitRequest(MINI, storage_path=tmp_path, name="never-ran", resume=True, mlflow_uri=mlflow_server.uri))
    with pytest.raises(UserError, match="nothing to resume: no run of"):
        train(FitRequest(MINI, storage_path=tmp_path, resume=True, mlflow_uri=mlflow_server.uri))
    with pytest.raises(UserError):  # fails in preflight, but leaves the run folder behind
        train(FitRequest(MINI, tiny_sets(synth_hrsc) + [CASES[3][0]], storage_path=tmp_path, name="taken",
            mlflow_uri=mlflow_server.uri, experiment="taken"))
    with pytest.raises(UserError, match="already exists"):
        train(FitRequest(MINI, storage_path=tmp_path, name="taken", resume=False, mlflow_uri=mlflow_server.uri))
    with pytest.raises(UserError, match="other overrides"):
        train(FitRequest(MINI, ["runner.max_epochs=5"], storage_path=tmp_path, name="taken", mlflow_uri=mlflow_server.uri))
