"""Issue 5 acceptance on real processes: 2-worker Ray Train runs of the mini Refined-Det on
synthetic HRSC2016, recorded on a real `mlflow server`.

* the uninterrupted run holds params, per-epoch metrics, per-class AP, the merged config,
  the best checkpoint, the tags, and ends FINISHED;
* a worker SIGKILLed mid-run: the group restarts from the last checkpoint by itself, the same
  MLflow run counts restarts=1, and the final metrics and weights equal the uninterrupted run's;
* the MLflow server stopped for 30 s mid-run: training finishes, every epoch is recorded;
* a diverging loss through the CLI: one-line error, run FAILED with that reason.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from train_helpers import MINI, REPO, tiny_sets

pytestmark = pytest.mark.slow

EPOCHS = 3
OUTAGE_S = float(os.environ.get("DETLAB_TEST_OUTAGE_S", "30"))


def run_in_thread(**kwargs):
    """train() in a thread (the test watches the run from outside); returns (thread, box)."""
    from detlab.training.contract import FitRequest
    from detlab.training.driver.ray_trainer import train

    box: dict = {}

    def target():
        try:
            box["result"] = train(FitRequest(MINI, **kwargs))
        except BaseException as err:  # noqa: BLE001 - handed to the test
            box["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


def wait_for(predicate, timeout: float, what: str, thread=None, box=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if thread is not None and not thread.is_alive():
            pytest.fail(f"training ended before {what}: {box}")
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def registered_checkpoints(run_dir: Path) -> list[dict]:
    """Checkpoints Ray Train has registered (its snapshot), i.e. those a restart resumes from."""
    try:
        return json.loads((run_dir / "checkpoint_manager_snapshot.json").read_text())["checkpoint_results"]
    except (FileNotFoundError, ValueError, KeyError):
        return []


def history(client, run_id: str, key: str) -> dict[int, float]:
    return {m.step: m.value for m in client.get_metric_history(run_id, key)}


def runs_of(client, experiment: str):
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id]) if exp else []


def state_dict(path: str):
    import torch
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


@pytest.fixture(scope="module")
def baseline(synth_hrsc, mlflow_server, ray_local, tmp_path_factory):
    """The uninterrupted 2-worker run: the acceptance run, and the reference for the fault test."""
    from detlab.training.contract import FitRequest
    from detlab.training.driver.ray_trainer import train

    return train(FitRequest(MINI, tiny_sets(synth_hrsc, EPOCHS), workers=2, seed=0, mlflow_uri=mlflow_server.uri,
               experiment="acceptance", storage_path=tmp_path_factory.mktemp("ray"), name="baseline",
               max_failures=1))


def test_two_worker_run_is_recorded_in_mlflow(baseline, client):
    run = client.get_run(baseline.run_id)
    assert run.info.status == "FINISHED", run.data.tags
    assert len(runs_of(client, "acceptance")) == 1

    params = run.data.params
    assert params["model.type"] == "RefinedDet"
    assert params["model.train_cfg.assigner.type"] == "CrossGridAssigner"
    for key in ("radius", "num_neighbors", "pos_iou_thr", "neg_iou_thr"):
        assert f"model.train_cfg.assigner.{key}" in params
    assert params["model.bbox_head.with_attention"] == "True"
    assert params["runner.max_epochs"] == str(EPOCHS)  # an override
    assert params["lr_config.step"] == "[100]" and params["data.samples_per_gpu"] == "1"
    assert params["train.workers"] == "2" and params["train.global_batch"] == "2"

    epochs = set(range(1, EPOCHS + 1))
    for key in ("train/loss", "train/base.loss_cls", "train/refine.loss_bbox", "train/lr",
                "train/time_per_iter_s", "train/imgs_per_s", "assigner/pos_per_gt/cla", "val/mAP_voc07", "val/mAP_voc12",
                "val/AP/ship", "val/mAP"):
        assert set(history(client, baseline.run_id, key)) == epochs, key

    tags = run.data.tags
    assert tags["restarts"] == "0" and "error" not in tags
    assert len(tags["git.commit"]) == 40
    assert tags["versions.torch"] and tags["versions.mmcv"] == "1.7.2" and tags["versions.ray"]
    assert tags["dataset.fingerprint"].startswith("sha256:")

    artifacts = {a.path for d in ("config", "checkpoints/best", f"plots/epoch_{EPOCHS:03d}")
                 for a in client.list_artifacts(baseline.run_id, d)}
    assert {"config/merged.py", "config/merged.json", "checkpoints/best/checkpoint.pth",
            f"plots/epoch_{EPOCHS:03d}/pr_ship.png"} <= artifacts

    assert baseline.best_checkpoint and os.path.isfile(baseline.best_checkpoint)
    assert baseline.metrics["epoch"] == EPOCHS and "val/mAP_voc07" in baseline.metrics


def test_killed_worker_resumes_from_its_checkpoint_into_the_same_run(
        baseline, synth_hrsc, mlflow_server, client, tmp_path):
    storage, name = tmp_path / "ray", "killed"
    run_dir = storage / name
    thread, box = run_in_thread(overrides=tiny_sets(synth_hrsc, EPOCHS), workers=2, seed=0,
                                mlflow_uri=mlflow_server.uri, experiment="killed", storage_path=storage,
                                name=name, max_failures=2)
    wait_for(lambda: registered_checkpoints(run_dir), 300, "a registered checkpoint", thread, box)
    pid = int((run_dir / "detlab" / "workers" / "rank1.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    thread.join(timeout=600)
    assert "error" not in box, box.get("error")
    result = box["result"]

    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED", run.data.tags
    assert run.data.tags["restarts"] == "1"
    assert int(run.data.tags["resumed_from_epoch"]) >= 1  # not from scratch
    assert len(runs_of(client, "killed")) == 1
    assert set(history(client, result.run_id, "train/loss")) == set(range(1, EPOCHS + 1))

    same = {k: v for k, v in baseline.metrics.items() if k not in ("train/time_per_iter_s", "train/imgs_per_s")}
    assert {k: result.metrics[k] for k in same} == same
    ours, ref = state_dict(result.best_checkpoint), state_dict(baseline.best_checkpoint)
    assert ours.keys() == ref.keys()
    assert all(ours[k].equal(ref[k]) for k in ref), "final weights differ from the uninterrupted run"


def test_mlflow_outage_mid_run_loses_no_epoch(synth_hrsc, mlflow_server, client, ray_local, tmp_path):
    """The server goes down after epoch 1 for OUTAGE_S: the worker buffers in the spool the driver
    uses too (its $DETLAB_MLFLOW_SPOOL, not the Ray node's default), and what the worker could not
    send by the time it exits, the driver sends when it ends the run."""
    from detlab.tracking import default_spool_dir
    from detlab.tracking.journal import Journal
    from detlab.training.driver.run_record import RunRecord

    epochs, storage, name = 8, tmp_path / "ray", "outage"
    thread, box = run_in_thread(overrides=tiny_sets(synth_hrsc, epochs, interval=2), workers=1, seed=0,
                                mlflow_uri=mlflow_server.uri, experiment="outage", storage_path=storage,
                                name=name)
    record = wait_for(lambda: RunRecord.load(str(storage / name)), 120, "the run record", thread, box)
    wait_for(lambda: history(client, record.run_id, "train/loss"), 300, "epoch 1 in MLflow", thread, box)
    mlflow_server.stop()
    stopped = time.monotonic()
    try:
        time.sleep(OUTAGE_S)
        assert thread.is_alive(), "training should still run during the outage"
        buffered = [op for j in Journal.sessions(default_spool_dir(), record.run_id) for op in j.pending()[1]]
        assert any(op["op"] == "metrics" for op in buffered), "the outage should have been buffered in the spool"
    finally:
        mlflow_server.start()
    thread.join(timeout=600)
    assert "error" not in box, box.get("error")
    assert box["result"].fit_time_s > time.monotonic() - stopped - 5  # the fit spanned the outage

    run = client.get_run(record.run_id)
    assert run.info.status == "FINISHED"
    every = set(range(1, epochs + 1))
    assert set(history(client, record.run_id, "train/loss")) == every
    assert set(history(client, record.run_id, "train/lr")) == every
    assert set(history(client, record.run_id, "val/mAP_voc07")) == set(range(2, epochs + 1, 2))


def test_diverging_loss_through_the_cli_fails_with_one_line(synth_hrsc, mlflow_server, client, ray_local,
                                                            tmp_path):
    sets = tiny_sets(synth_hrsc, 2) + ["optimizer.lr=1e6", "lr_config.warmup=None"]
    cmd = [sys.executable, "-m", "detlab.cli", "train", "--config", MINI, "--workers", "2",
           "--mlflow-uri", mlflow_server.uri, "--experiment", "nan", "--storage", str(tmp_path),
           "--name", "nan", *[arg for s in sets for arg in ("--set", s)]]
    proc = subprocess.run(cmd, env=dict(os.environ, RAY_ADDRESS=ray_local), cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("detlab: error:")]
    assert len(errors) == 1, proc.stderr[-3000:]
    assert "loss is nan" in errors[0] and "diverged" in errors[0]

    (run,) = runs_of(client, "nan")
    assert run.info.status == "FAILED"
    assert run.data.tags["error"] in errors[0]
    assert run.data.tags["restarts"] == "0"  # a diverged loss is not retried


def test_ctrl_c_then_resume_continues_the_same_run(baseline, synth_hrsc, mlflow_server, client, ray_local,
                                                   tmp_path):
    from detlab.training.driver.run_record import RunRecord

    storage, name = tmp_path / "ray", "stopped"
    run_dir = storage / name
    base = [sys.executable, "-m", "detlab.cli", "train", "--config", MINI, "--workers", "2",
            "--storage", str(storage), "--name", name]
    env = dict(os.environ, RAY_ADDRESS=ray_local)
    log = open(tmp_path / "first.log", "w")
    first = subprocess.Popen(base + ["--mlflow-uri", mlflow_server.uri, "--experiment", "stopped",
                                     *[a for s in tiny_sets(synth_hrsc, EPOCHS) for a in ("--set", s)]],
                             env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: registered_checkpoints(run_dir) or first.poll() is not None, 300, "a checkpoint")
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=120) == 130, (tmp_path / "first.log").read_text()[-3000:]
    finally:
        if first.poll() is None:
            first.kill()
        log.close()
    hints = [line for line in (tmp_path / "first.log").read_text().splitlines()
             if line.startswith("detlab: interrupted")]
    assert len(hints) == 1 and f"--name {name} --resume" in hints[0]
    record = RunRecord.load(str(run_dir))
    assert client.get_run(record.run_id).info.status == "KILLED"

    # no --set, no --mlflow-uri: both come from the run folder
    resumed = subprocess.run(base + ["--resume"], env=env, cwd=REPO, capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    run = client.get_run(record.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["restarts"] == "1"
    assert int(run.data.tags["resumed_from_epoch"]) >= 1
    assert len(runs_of(client, "stopped")) == 1
    for key, value in baseline.metrics.items():
        if key.startswith("val/") or key.startswith("train/loss"):
            assert history(client, record.run_id, key)[EPOCHS] == value, key
