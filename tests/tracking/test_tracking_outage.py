"""The MLflow server goes away mid-run: training calls stay fast, nothing is lost, one warning.

This module owns its server (it stops and restarts it). The outage lasts
$DETLAB_TEST_OUTAGE_S seconds (default 30, the issue's acceptance figure).
"""
from __future__ import annotations

import logging
import os
import shutil
import time

from tracking_helpers import spool_files
from detlab.cli import main as detlab
from detlab.tracking import RunRecorder

OUTAGE_S = float(os.environ.get("DETLAB_TEST_OUTAGE_S", "30"))
KEYS = ["train/loss_cls", "train/loss_bbox", "lr", "val/mAP_voc07", "val/AP/plane"]


def epoch_metrics(epoch: int) -> dict[str, float]:
    return {k: epoch + i / 10 for i, k in enumerate(KEYS)}


def points(client, run_id, key):
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))


def test_outage_mid_run_loses_nothing(mlflow_server, client, tmp_path, caplog):
    uri, spool = mlflow_server.uri, tmp_path / "spool"
    run_id = RunRecorder.create_run("outage", "trial-o", tracking_uri=uri)
    rec = RunRecorder.attach(run_id, tracking_uri=uri, spool_dir=spool, flush_timeout=120)
    rec.log_params({"model.train_cfg.assigner.radius": 0.6})
    rec.log_metrics(epoch_metrics(0), step=0)
    assert rec.flush(30)

    caplog.set_level(logging.WARNING, logger="detlab.tracking")
    mlflow_server.stop()
    down_at = time.monotonic()
    call_s: list[float] = []
    epoch = 0
    while time.monotonic() - down_at < OUTAGE_S:
        epoch += 1
        t = time.perf_counter()
        rec.log_metrics(epoch_metrics(epoch), step=epoch)
        call_s.append(time.perf_counter() - t)
        if epoch == 3:
            ckpt = tmp_path / "best.pth"
            ckpt.write_bytes(b"x" * 100_000)
            t = time.perf_counter()
            rec.log_artifact(ckpt, "checkpoints")
            call_s.append(time.perf_counter() - t)
        time.sleep(0.5)
    mlflow_server.start()
    up_at = time.monotonic()
    while rec.pending_count and time.monotonic() - up_at < 30:   # sent on its own, no finish() needed
        time.sleep(0.05)
    drained_s = time.monotonic() - up_at
    delivered = rec.finish()
    print(f"\noutage {up_at - down_at:.1f} s, {epoch} epochs logged while down; log call max "
          f"{max(call_s) * 1000:.1f} ms, median {sorted(call_s)[len(call_s) // 2] * 1000:.2f} ms; "
          f"backlog sent {drained_s:.1f} s after the server was healthy again")
    assert drained_s < 30

    assert delivered
    assert max(call_s) < 1.0
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    for i, key in enumerate(KEYS):   # every epoch exactly once
        assert points(client, run_id, key) == [(e, e + i / 10) for e in range(epoch + 1)]
    assert [a.path for a in client.list_artifacts(run_id, "checkpoints")] == ["checkpoints/best.pth"]
    warnings = [r.getMessage() for r in caplog.records if r.name == "detlab.tracking"]
    assert sum("unreachable" in w for w in warnings) == 1, warnings
    assert sum("reachable again" in w for w in warnings) == 1, warnings
    assert spool_files(spool) == []


def test_spool_and_sync_after_finish_gave_up(mlflow_server, client, tmp_path, capsys):
    uri, spool = mlflow_server.uri, tmp_path / "spool"
    run_id = RunRecorder.create_run("outage", "trial-s", tracking_uri=uri)
    rec = RunRecorder.attach(run_id, tracking_uri=uri, spool_dir=spool, flush_timeout=2)
    rec.log_metrics(epoch_metrics(0), step=0)
    assert rec.flush(30)

    mlflow_server.stop()
    for epoch in range(1, 6):
        rec.log_metrics(epoch_metrics(epoch), step=epoch)
    (tmp_path / "pr.csv").write_text("r,p\n")
    rec.log_artifact(tmp_path / "pr.csv", "plots")
    t = time.monotonic()
    assert rec.finish("FINISHED") is False            # gave up after its flush timeout
    assert time.monotonic() - t < 2 + 5
    left = spool_files(spool)
    assert any(f.endswith(".jsonl") for f in left)
    backup = tmp_path / "spool-copy"
    shutil.copytree(spool, backup)

    capsys.readouterr()
    assert detlab(["mlflow", "sync", "--spool", str(spool)]) == 2   # still down: one line, nothing lost
    err = capsys.readouterr().err
    assert "unreachable" in err and len(err.strip().splitlines()) == 1
    assert spool_files(spool) == left

    mlflow_server.start()
    assert client.get_run(run_id).info.status == "RUNNING"          # until the spool is sent
    assert detlab(["mlflow", "sync", "--spool", str(spool)]) == 0
    assert "sent" in capsys.readouterr().out
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    expected = {k: points(client, run_id, k) for k in KEYS}
    assert all(len(v) == 6 for v in expected.values())
    assert [a.path for a in client.list_artifacts(run_id, "plots")] == ["plots/pr.csv"]
    assert spool_files(spool) == []

    assert detlab(["mlflow", "sync", "--spool", str(spool)]) == 0    # second sync: nothing to do
    assert "nothing to sync" in capsys.readouterr().out

    # a crash between sending and recording the acknowledgement: the same journal replayed again
    shutil.rmtree(spool)
    shutil.copytree(backup, spool)
    assert detlab(["mlflow", "sync", "--spool", str(spool)]) == 0
    assert {k: points(client, run_id, k) for k in KEYS} == expected  # no duplicated points
    assert client.get_run(run_id).info.status == "FINISHED"
