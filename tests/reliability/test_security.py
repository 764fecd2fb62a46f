"""Security of the cluster case (docs/reliability.md, "Security"): a real `mlflow server --app-name
basic-auth` refuses a training without credentials before it starts and records it with them; no
secret of the environment reaches a param, tag or artifact; `detlab mlflow sync` of a crafted journal
reads and writes nothing outside the spool."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlflow_testing import running_runs

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "experiments/configs/refined_det/refined_det_obb_r50_fpn_6x_hrsc_rr_le90_mini.py"

ADMIN, PASSWORD = "admin", "s3cret-admin-pass-0042"
SECRETS = {"MLFLOW_TRACKING_PASSWORD": PASSWORD, "AWS_SECRET_ACCESS_KEY": "aws/SECRET+key+0123456789",
           "RAY_AUTH_TOKEN": "ray-token-5f2c9d7e1a3b", "MY_API_TOKEN": "my-api-token-77e1c0ffee"}


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    """`mlflow server --app-name basic-auth` (SQLite stores, 127.0.0.1): MLflow's auth app needs its
    config (users store), the admin's credentials and a CSRF key."""
    pytest.importorskip("flask_wtf")
    from detlab.tracking.server import MlflowServer

    root = tmp_path_factory.mktemp("mlflow-auth")
    ini = root / "basic_auth.ini"
    ini.write_text("[mlflow]\ndefault_permission = NO_PERMISSIONS\n"
                   f"database_uri = sqlite:///{root / 'auth.db'}\nadmin_username = {ADMIN}\n"
                   "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n")
    env = {"MLFLOW_AUTH_CONFIG_PATH": str(ini), "MLFLOW_AUTH_ADMIN_USERNAME": ADMIN,
           "MLFLOW_AUTH_ADMIN_PASSWORD": PASSWORD, "MLFLOW_FLASK_SERVER_SECRET_KEY": "csrf-key-for-tests"}
    with MlflowServer(root / "server", app_name="basic-auth", env=env) as server:
        yield server
        os.environ.update(MLFLOW_TRACKING_USERNAME=ADMIN, MLFLOW_TRACKING_PASSWORD=PASSWORD)
        try:
            assert not running_runs(server.uri)
        finally:
            for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
                os.environ.pop(k, None)


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "RAY_ADDRESS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DETLAB_MLFLOW_SPOOL", str(tmp_path / "default-spool"))


def test_auth_server_refuses_a_training_without_credentials(auth_server, tmp_path, capsys, monkeypatch):
    """Without credentials: one line saying what to set, exit 2, before Ray or training (RAY_ADDRESS
    points nowhere: reaching it would be another message). A wrong password is named as such."""
    from detlab.cli import main

    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    argv = ["train", "--config", str(MINI), "--mlflow-uri", auth_server.uri, "--storage", str(tmp_path / "st"),
            "--experiment", "auth-test", "--set", "runner.max_epochs=1"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (f"detlab: error: MLflow at {auth_server.uri} needs a login (HTTP 401): set "
                       f"MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"), err
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "not-the-password")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"detlab: error: MLflow at {auth_server.uri} refused the credentials of user "
                              f"'admin' (HTTP 401)"), err
    assert not (tmp_path / "st").exists() or not list((tmp_path / "st").rglob("*.pth"))


@pytest.mark.slow
def test_training_with_credentials_is_recorded_and_leaks_no_secret(auth_server, tmp_path):
    """`detlab train` (mini config, 1 epoch, synthetic data) with the login and four secrets in its
    environment, one of them also put in the config by --set: the run is recorded FINISHED, and no
    param, tag or artifact holds any secret's value (the scan does read the artifacts: it finds the
    config's own text there)."""
    from mlflow.tracking import MlflowClient

    from detlab.data.synth import synth_dataset

    root = tmp_path / "hrsc"
    synth_dataset("hrsc2016", root, 4, seed=2, progress=False, workers=1)
    r = f"{root}/"
    sets = [f"data.{s}.{k}={r + sub}" for s in ("train", "val", "test")
            for k, sub in (("ann_subdir", "FullDataSet/Annotations/"), ("img_subdir", "FullDataSet/AllImages/"),
                           ("img_prefix", "FullDataSet/AllImages/"))]
    sets += [f"data.train.ann_file={r}ImageSets/trainval.txt", f"data.val.ann_file={r}ImageSets/test.txt",
             "data.samples_per_gpu=1", "data.workers_per_gpu=0", "runner.max_epochs=1", "evaluation.interval=1",
             "lr_config.warmup_iters=1", "lr_config.step=[100]", f"+detlab_note=key {SECRETS['MY_API_TOKEN']}"]
    env = dict(os.environ, MLFLOW_TRACKING_USERNAME=ADMIN, **SECRETS, DETLAB_MLFLOW_SPOOL=str(tmp_path / "spool"),
               RAY_TRAIN_HEALTH_CHECK_INTERVAL_S="0.5", RAY_ADDRESS="local")  # its own Ray, never one found here
    cmd = [str(Path(sys.executable).parent / "detlab"), "train", "--config", str(MINI), "--mlflow-uri",
           auth_server.uri, "--storage", str(tmp_path / "storage"), "--experiment", "auth-secrets",
           *[a for s in sets for a in ("--set", s)]]
    with open(tmp_path / "train.log", "w") as log:   # kept for a look when it fails
        proc = subprocess.run(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=log, text=True,
                              timeout=600)
    assert proc.returncode == 0, (tmp_path / "train.log").read_text()[-4000:]
    lines = proc.stdout.splitlines()
    summary = json.loads("\n".join(lines[lines.index("{"):]))   # the JSON summary ends the output

    os.environ.update(MLFLOW_TRACKING_USERNAME=ADMIN, MLFLOW_TRACKING_PASSWORD=PASSWORD)
    try:
        client = MlflowClient(tracking_uri=auth_server.uri)
        run = client.get_run(summary["run_id"])
        assert run.info.status == "FINISHED"
        assert run.data.metrics  # epochs were recorded
        texts = [f"{k}={v}" for k, v in {**run.data.params, **run.data.tags}.items()]
        local = Path(client.download_artifacts(run.info.run_id, "", str(tmp_path / "artifacts")))
        files = [p for p in local.rglob("*") if p.is_file()]
    finally:
        for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            os.environ.pop(k, None)
    blobs = [p.read_bytes() for p in files]
    assert any(b"runner" in b and b"max_epochs" in b for b in blobs), [p.name for p in files]
    note = [v for k, v in run.data.params.items() if k.endswith("detlab_note")]   # the --set +key
    assert note == ["key [redacted $MY_API_TOKEN]"], run.data.params
    for name, value in SECRETS.items():
        assert not [t for t in texts if value in t], f"{name} in a param or tag"
        assert not [p for p, b in zip(files, blobs) if value.encode() in b], f"{name} in an artifact"


# -- detlab mlflow sync of a crafted journal -------------------------------------------------------------
def test_sync_of_a_crafted_journal_stays_in_the_spool(mlflow_server, client, tmp_path, capsys):
    """Artifact entries naming a file outside the spool (absolute, `../`, or a link in a blob folder), or a
    destination outside the run's artifact root, are refused with one line and exit 2; the good entries
    of the same journal are delivered; no file outside the spool or the run's artifact folder changes."""
    from detlab.cli import main

    exp = client.create_experiment("crafted-journal")
    run_id = client.create_run(exp).info.run_id
    spool = tmp_path / "spool"
    run_dir = spool / run_id
    blobs = run_dir / "blobs" / "s1"
    (blobs / "a").mkdir(parents=True)
    (blobs / "a" / "good.txt").write_text("inside\n")
    (blobs / "b").mkdir()
    (blobs / "b" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (tmp_path / "secret.txt").write_text("private\n")
    ops = [{"op": "params", "params": {"lr": "0.01"}},
           {"op": "artifact", "local": str(tmp_path / "secret.txt"), "artifact_path": None},
           {"op": "artifact", "local": str(run_dir / ".." / ".." / "secret.txt"), "artifact_path": None},
           {"op": "artifact", "local": str(blobs / "b" / "leak.txt"), "artifact_path": None},
           {"op": "artifact", "local": str(blobs / "b"), "artifact_path": None},
           {"op": "artifact", "local": str(blobs / "a" / "good.txt"), "artifact_path": "../../../escaped"},
           {"op": "artifact", "local": str(blobs / "a" / "good.txt"), "artifact_path": "/tmp"},
           {"op": "artifact", "local": str(blobs / "a" / "good.txt"), "artifact_path": "notes"},
           {"op": "terminate", "status": "FINISHED", "end_time": None}]
    header = {"seq": 0, "op": "open", "run_id": run_id, "session": "s1", "tracking_uri": mlflow_server.uri}
    (run_dir / "s1.jsonl").write_text("".join(json.dumps(x) + "\n" for x in
                                              [header] + [{"seq": i, **op} for i, op in enumerate(ops, 1)]))
    server_root = mlflow_server.artifacts_dir
    outside = {p: p.stat().st_mtime_ns for p in [*tmp_path.iterdir(), *server_root.rglob("*")] if p != spool}

    assert main(["mlflow", "sync", "--spool", str(spool)]) == 2
    err = [line for line in capsys.readouterr().err.strip().splitlines() if "error:" in line]
    assert len(err) == 1 and err[0].startswith(f"detlab: error: {spool}/{run_id}/s1.jsonl: seq 2: artifact "
                                               f"file '{tmp_path / 'secret.txt'}' is outside the spool"), err
    assert "6 unsafe entries refused" in err[0], err
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.params == {"lr": "0.01"}
    assert [a.path for a in client.list_artifacts(run_id)] == ["notes"]
    assert [a.path for a in client.list_artifacts(run_id, "notes")] == ["notes/good.txt"]
    assert not list(server_root.rglob("secret.txt")) and not list(server_root.rglob("leak.txt"))
    assert not list(server_root.rglob("escaped")) and not (tmp_path / "escaped").exists()
    after = {p: p.stat().st_mtime_ns for p in [*tmp_path.iterdir(), *server_root.rglob("*")] if p != spool}
    new = set(after) - set(outside)
    run_folder = server_root / exp / run_id   # the only place anything may have been written
    assert all(p in (server_root / exp, run_folder) or run_folder in p.parents for p in new), new
    assert {p: after[p] for p in outside if p.is_file()} == {p: t for p, t in outside.items() if p.is_file()}
    rejected = (run_dir / "s1.rejected.jsonl").read_text().splitlines()
    assert len(rejected) == 6 and all("not read" in r or "not written" in r for r in rejected)
