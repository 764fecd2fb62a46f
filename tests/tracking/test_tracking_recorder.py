"""RunRecorder against a real `mlflow server` over HTTP: what lands, across processes and restarts."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time

import pytest

from tracking_helpers import spool_files
from detlab.errors import UserError
from detlab.tracking import RunRecorder
from detlab.tracking.context import run_context_tags, run_params
from detlab.tracking.params import MAX_PARAM_VAL_LENGTH
from detlab.ports import free_port


def run_py(code: str, *args: str, cwd, timeout: float = 120) -> subprocess.CompletedProcess:
    """Another Python process (another 'node' as far as paths and globals go)."""
    cwd.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr
    return proc


def history(client, run_id, key):
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))


def test_params_metrics_artifacts_tags_land(mlflow_server, client, tmp_path):
    uri, spool = mlflow_server.uri, tmp_path / "spool"
    cfg = {"model": {"type": "RefinedRetinaNet", "train_cfg": {"assigner": {"radius": 0.6, "k": 9}}},
           "data": {"samples_per_gpu": 2, "workers_per_gpu": 1}}
    tags = {**run_context_tags(os.getcwd()), "dataset.fingerprint": "sha256:0123456789abcdef"}
    run_id = RunRecorder.create_run("basic", "trial-a", tracking_uri=uri, tags=tags)

    rec = RunRecorder.attach(run_id, tracking_uri=uri, spool_dir=spool)
    params = run_params({"model.train_cfg.assigner.radius": 0.7}, cfg)
    params.update({f"many.p{i:03d}": i for i in range(230)})          # > 2 batches of 100
    params["long"] = "v" * (MAX_PARAM_VAL_LENGTH + 10)
    rec.log_params(params)
    rec.log_params({"many.p000": 0})                                   # same value again: fine
    classes = ["plane", "ship", "small-vehicle"]
    for epoch in range(1, 4):
        rec.log_metrics({"train/loss_cls": 1.0 / epoch, "train/loss_bbox": 0.5 / epoch, "lr": 0.01,
                         "val/mAP_voc07": 0.1 * epoch, "val/mAP_voc12": 0.11 * epoch,
                         "train/time_per_iter": 0.2, "assigner/pos_per_gt": 3.5,
                         **{f"val/AP/{c}": 0.05 * epoch for c in classes}}, step=epoch)
    ckpt = tmp_path / "best.pth"
    ckpt.write_bytes(b"epoch 3")
    rec.log_artifact(ckpt, "checkpoints")
    ckpt.write_bytes(b"overwritten after logging")                     # the snapshot was sent
    plots = tmp_path / "pr_curves"
    plots.mkdir()
    (plots / "plane.csv").write_text("r,p\n0,1\n")
    rec.log_artifact(plots, "plots")
    rec.log_config(cfg)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    rec.log_figure(fig, "plots/pr_plane.png")
    rec.set_tags({"stage": "test"})
    assert rec.finish() is True

    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    p = run.data.params
    assert p["model.train_cfg.assigner.radius"] == "0.7" and p["model.train_cfg.assigner.k"] == "9"
    assert p["data.workers_per_gpu"] == "1" and p["many.p229"] == "229"
    assert len(p["long"]) == MAX_PARAM_VAL_LENGTH
    t = run.data.tags
    assert t["restarts"] == "0" and t["stage"] == "test" and t["dataset.fingerprint"].startswith("sha256:")
    assert "versions.mlflow" in t and "host" in t and ("git.commit" in t or "git" not in os.listdir("."))
    assert history(client, run_id, "val/mAP_voc07") == [(1, 0.1), (2, 0.2), (3, pytest.approx(0.3))]
    assert len(client.get_metric_history(run_id, "val/AP/small-vehicle")) == 3
    dl = tmp_path / "download"
    dl.mkdir()
    local = client.download_artifacts(run_id, "", str(dl))
    got = {os.path.relpath(os.path.join(r, f), local) for r, _, fs in os.walk(local) for f in fs}
    assert {"checkpoints/best.pth", "plots/pr_curves/plane.csv", "plots/pr_plane.png",
            "config/merged.json", "params/full_values.json"} <= got
    assert open(os.path.join(local, "checkpoints/best.pth"), "rb").read() == b"epoch 3"
    assert spool_files(spool) == []


def test_child_run_from_another_process(mlflow_server, client, tmp_path):
    """The sweep driver owns the parent; a trial process creates and fills the child."""
    parent = RunRecorder.create_run("sweep", "study", tracking_uri=mlflow_server.uri)
    proc = run_py("""
        import sys
        from detlab.tracking import RunRecorder
        parent, uri, spool = sys.argv[1:]
        rid = RunRecorder.create_run("sweep", "trial-0", parent_run_id=parent, tracking_uri=uri)
        rec = RunRecorder.attach(rid, tracking_uri=uri, spool_dir=spool)
        open("weights.pth", "wb").write(b"w" * 4096)
        rec.log_artifact("weights.pth", "checkpoints")
        rec.log_metrics({"val/mAP_voc07": 0.5}, step=1)
        print("CHILD", rid, rec.finish())
        """, parent, mlflow_server.uri, str(tmp_path / "spool"), cwd=tmp_path / "elsewhere")
    child_id, ok = proc.stdout.split("CHILD ")[1].split()
    assert ok == "True"
    child = client.get_run(child_id)
    assert child.data.tags["mlflow.parentRunId"] == parent
    assert child.data.metrics == {"val/mAP_voc07": 0.5}
    # artifacts travelled over HTTP into the server's store, not into the trial's directory
    stored = list(mlflow_server.artifacts_dir.rglob("weights.pth"))
    assert len(stored) == 1 and stored[0].stat().st_size == 4096
    RunRecorder.close_run(parent, "FINISHED", tracking_uri=mlflow_server.uri, spool_dir=tmp_path / "spool")
    assert client.get_run(parent).info.status == "FINISHED"


def test_attach_after_worker_restart_keeps_one_run(mlflow_server, client, tmp_path):
    """Attempt 1 dies (os._exit, no flush, like a SIGKILLed worker); attempt 2 attaches to the same run,
    delivers what attempt 1 left in the node's spool, and the run counts one restart."""
    uri, spool = mlflow_server.uri, tmp_path / "spool"
    run_id = RunRecorder.create_run("restarts", "trial-r", tracking_uri=uri)
    run_py("""
        import os, sys
        from detlab.tracking import RunRecorder
        rid, uri, spool = sys.argv[1:]
        rec = RunRecorder.attach(rid, tracking_uri=uri, spool_dir=spool)
        rec.log_params({"seed": 0})
        rec.log_metrics({"train/loss": 1.0}, step=0)
        os._exit(3)
        """, run_id, uri, str(spool), cwd=tmp_path / "w1")
    assert any(f.endswith(".jsonl") for f in spool_files(spool))     # attempt 1 left its journal

    rec = RunRecorder.attach(run_id, tracking_uri=uri, spool_dir=spool)
    rec.log_metrics({"train/loss": 0.5}, step=1)
    assert rec.finish() is True

    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.params == {"seed": "0"}
    assert run.data.tags["restarts"] == "1"
    assert sum(k.startswith("detlab.attempt.") for k in run.data.tags) == 2
    assert history(client, run_id, "train/loss") == [(0, 1.0), (1, 0.5)]
    exp = client.get_experiment_by_name("restarts").experiment_id
    assert len(client.search_runs([exp])) == 1
    assert spool_files(spool) == []

    again = RunRecorder.attach(run_id, tracking_uri=uri, spool_dir=spool)   # a third attempt
    assert again.finish() is True
    assert client.get_run(run_id).data.tags["restarts"] == "2"


def test_failure_marks_run_failed_with_reason(mlflow_server, client, tmp_path):
    uri, spool = mlflow_server.uri, tmp_path / "spool"
    run_id = RunRecorder.create_run("failures", "trial-f", tracking_uri=uri)
    with pytest.raises(FloatingPointError):
        with RunRecorder.attach(run_id, tracking_uri=uri, spool_dir=spool) as rec:
            rec.log_metrics({"train/loss": 1.0}, step=0)
            raise FloatingPointError("loss is nan at iter 12\nTraceback (most recent call last): ...")
    run = client.get_run(run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags["error"] == "FloatingPointError: loss is nan at iter 12"

    # Ray restarts the worker: the run is RUNNING again, the stale error goes, the end is FINISHED
    rec = RunRecorder.attach(run_id, tracking_uri=uri, spool_dir=spool)
    assert rec.flush(30)
    run = client.get_run(run_id)
    assert run.info.status == "RUNNING" and "error" not in run.data.tags
    rec.finish()
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.tags["restarts"] == "1"

    killed = RunRecorder.create_run("failures", "trial-k", tracking_uri=uri)
    with pytest.raises(KeyboardInterrupt):
        with RunRecorder.attach(killed, tracking_uri=uri, spool_dir=spool):
            raise KeyboardInterrupt
    assert client.get_run(killed).info.status == "KILLED"


def test_driver_closes_a_run_its_workers_never_finished(mlflow_server, client, tmp_path):
    run_id = RunRecorder.create_run("failures", "trial-d", tracking_uri=mlflow_server.uri)
    assert RunRecorder.close_run(run_id, "FAILED", error=RuntimeError("worker group failed 3 times"),
                                 tracking_uri=mlflow_server.uri, spool_dir=tmp_path / "spool")
    run = client.get_run(run_id)
    assert run.info.status == "FAILED" and run.data.tags["error"] == "RuntimeError: worker group failed 3 times"
    assert run.data.tags["restarts"] == "0"


def test_driver_waits_for_a_worker_session_still_held(mlflow_server, client, tmp_path):
    """A worker that could not deliver leaves its session locked until its forked children (data
    loaders) exit too; the driver ending the run waits for the lock, then sends what it holds."""
    from detlab.tracking.journal import Journal

    uri, spool = mlflow_server.uri, tmp_path / "spool"
    run_id = RunRecorder.create_run("held", "trial-h", tracking_uri=uri)
    worker = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import os, sys, time
        from detlab.tracking import RunRecorder
        rid, dead, spool, gone = sys.argv[1:]
        rec = RunRecorder.attach(rid, tracking_uri=dead, spool_dir=spool)
        for epoch in (1, 2, 3):
            rec.log_metrics({"train/loss": 1.0 / epoch}, step=epoch)
        if os.fork() == 0:      # a data loader: holds the session's lock as long as it lives
            time.sleep(8)
            open(gone, "w").close()
            os._exit(0)
        rec.finish(timeout=0)   # MLflow unreachable: everything stays in the spool
        print("left", flush=True)
        os.wait()
        """), run_id, f"http://127.0.0.1:{free_port()}", str(spool), str(tmp_path / "gone")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline().strip() == "left"
        (held,) = Journal.sessions(spool, run_id)
        assert not held.claim(), "the worker's session should still be locked"   # the fault is real
        driver = RunRecorder.attach(run_id, tracking_uri=uri, spool_dir=spool, count_attempt=False,
                                    await_sessions_s=60)
        assert driver.finish("FINISHED") is True
        assert (tmp_path / "gone").exists()  # it was sent after its last holder let go
    finally:
        worker.kill()
        worker.wait(30)
    assert history(client, run_id, "train/loss") == [(1, 1.0), (2, 0.5), (3, 1.0 / 3)]
    assert client.get_run(run_id).info.status == "FINISHED" and spool_files(spool) == []


def test_bad_input_never_raises(mlflow_server, client, tmp_path, caplog):
    run_id = RunRecorder.create_run("robust", "trial-x", tracking_uri=mlflow_server.uri)
    rec = RunRecorder.attach(run_id, tracking_uri=mlflow_server.uri, spool_dir=tmp_path / "spool")
    with caplog.at_level(logging.WARNING, logger="detlab.tracking"):
        rec.log_metrics({"ok": 1.0, "text": "n/a"}, step=0)
        rec.log_metrics({"text": "n/a"}, step=1)
        rec.log_artifact(tmp_path / "missing.pth")
        rec.log_params({"p": 1})
        rec.log_params({"p": 2})                  # MLflow refuses changing a param: reported, not raised
        rec.log_metrics({"ok": 2.0}, step=1)      # and what follows still lands
        assert rec.finish() is True
        rec.log_metrics({"late": 1.0})            # after finish: ignored
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.params == {"p": "1"}
    assert history(client, run_id, "ok") == [(0, 1.0), (1, 2.0)]
    text = caplog.text
    assert text.count("'text' is not a number") == 1 and "missing.pth does not exist" in text
    assert "refused" in text and "after finish" in text


def test_create_run_fails_fast_and_clearly_when_unreachable():
    t0 = time.monotonic()
    with pytest.raises(UserError, match="unreachable"):
        RunRecorder.create_run("x", tracking_uri=f"http://127.0.0.1:{free_port()}", timeout=2)
    assert time.monotonic() - t0 < 10


def test_local_sqlite_store_by_default(tmp_path, monkeypatch, capsys):
    """No flag, no env: ./mlflow.db, absolute, so a worker in another directory finds the same store."""
    monkeypatch.chdir(tmp_path)
    run_id = RunRecorder.create_run("local", "trial-l")
    err = capsys.readouterr().err
    uri = f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert f"mlflow ui --backend-store-uri '{uri}'" in err
    worker_dir = tmp_path / "ray-worker-cwd"
    worker_dir.mkdir()
    monkeypatch.chdir(worker_dir)
    rec = RunRecorder.attach(run_id, tracking_uri=uri, spool_dir=tmp_path / "spool")
    rec.log_metrics({"m": 1.0}, step=0)
    assert rec.finish() is True
    from mlflow.tracking import MlflowClient
    run = MlflowClient(uri).get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.metrics == {"m": 1.0}
    assert not (worker_dir / "mlflow.db").exists()


def test_lost_response_is_not_sent_twice(mlflow_server, client, tmp_path):
    """A log_batch that landed but whose answer was lost (timeout) is retried 'in doubt':
    the retry checks the metric history and sends nothing twice. (MLflow 3.17's SQL store
    happens to drop exact duplicate points itself; its file store does not, so the recorder
    does not rely on it: the test counts what is *sent*.)"""
    from mlflow.exceptions import MlflowException

    from detlab.tracking.delivery import Delivery

    class LostResponse:
        def __init__(self, real):
            self.real, self.lose, self.sent = real, 0, []

        def __getattr__(self, name):
            return getattr(self.real, name)

        def log_batch(self, *args, **kwargs):
            self.sent += [(m.step, m.value) for m in kwargs.get("metrics", ())]
            self.real.log_batch(*args, **kwargs)
            if self.lose:
                self.lose -= 1
                raise MlflowException("API request failed with timeout exception")  # 500: transient

    run_id = RunRecorder.create_run("delivery", "lost-response", tracking_uri=mlflow_server.uri)
    flaky = LostResponse(client)
    d = Delivery(flaky, run_id)
    d.send([{"seq": 1, "op": "metrics", "metrics": [["m", 1.0, 0, 1000]]}], in_doubt=True)
    flaky.lose = 1
    group = [{"seq": 2, "op": "metrics", "metrics": [["m", 2.0, 1, 2000]]}]
    with pytest.raises(MlflowException):
        d.send(group)
    d.send(group, in_doubt=True)
    d.send(group, in_doubt=True)
    assert flaky.sent == [(0, 1.0), (1, 2.0)]
    assert history(client, run_id, "m") == [(0, 1.0), (1, 2.0)]
    RunRecorder.close_run(run_id, "FINISHED", tracking_uri=mlflow_server.uri, spool_dir=tmp_path / "spool")


def test_workers_are_told_the_drivers_spool(tmp_path, monkeypatch):
    """Ray workers inherit the raylet's environment, not the driver's: the spool is passed on."""
    from detlab.tracking import workers_spool

    monkeypatch.delenv("DETLAB_MLFLOW_SPOOL", raising=False)
    assert workers_spool() is None  # each node's default
    monkeypatch.setenv("DETLAB_MLFLOW_SPOOL", str(tmp_path / "mine"))
    assert workers_spool() == str(tmp_path / "mine")
    assert workers_spool(tmp_path / "given") == str(tmp_path / "given")
