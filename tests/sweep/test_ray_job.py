"""`ray start --head` on 127.0.0.1, the smoke sweep submitted with `ray job submit`, recorded in a
real `mlflow server`; token authentication stays on, nothing of the cluster listens beyond
127.0.0.1; the cluster is stopped at the end (by the pid of the `ray start --block` we started:
`ray stop` would stop every Ray of this user on the machine)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from sweep_helpers import REPO, TRAINER, child_env, quick_sets, study_runs

EXPERIMENT = "refined-det/cla-hrsc-smoke"
SAMPLES = 2
LOOPBACK = ("127.0.0.1:", "[::ffff:127.0.0.1]:", "[::1]:")


def free_port() -> int:
    from detlab.ports import free_port as free
    return free()


def listening(tag: str) -> list[tuple[str, str]]:
    """(local address, process) of every listening TCP socket of the processes whose command line has `tag`."""
    pids = set(subprocess.run(["pgrep", "-f", tag], capture_output=True, text=True).stdout.split())
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        for pid in pids:
            if f"pid={pid}," in line:
                found.append((line.split()[3], line.split()[-1]))
    return found


@pytest.fixture
def head(tmp_path: Path):
    """A head node from `ray start --head --block`, loopback only, token authentication on."""
    temp = Path(tempfile.mkdtemp(prefix="rj", dir="/tmp"))  # short: Ray's socket paths have a length limit
    gcs, dash = free_port(), free_port()
    venv_bin = str(Path(sys.executable).parent)
    env = child_env(tmp_path, PATH=f"{venv_bin}:{os.environ['PATH']}", RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",
                    RAY_API_SERVER_ADDRESS=f"http://127.0.0.1:{dash}")
    env.pop("RAY_AUTH_MODE", None)
    proc = subprocess.Popen([f"{venv_bin}/ray", "start", "--head", "--block", f"--port={gcs}",
                             "--dashboard-host=127.0.0.1", f"--dashboard-port={dash}", "--num-cpus=2",
                             f"--temp-dir={temp}"], env=env, stdout=(tmp_path / "head.log").open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    address = f"http://127.0.0.1:{dash}"
    token_env = dict(env, RAY_AUTH_MODE="token")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if subprocess.run([f"{venv_bin}/ray", "job", "list", "--address", address], env=token_env,
                          capture_output=True, text=True).returncode == 0:
            break
        assert proc.poll() is None, (tmp_path / "head.log").read_text()[-3000:]
        time.sleep(3)
    else:
        pytest.fail("the head node did not come up: " + (tmp_path / "head.log").read_text()[-3000:])
    try:
        yield {"address": address, "env": env, "token_env": token_env, "temp": str(temp), "bin": venv_bin}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)      # `ray start --block` stops what it started
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while subprocess.run(["pgrep", "-f", str(temp)], capture_output=True).returncode == 0:
            if time.monotonic() > deadline:
                for pid in subprocess.run(["pgrep", "-f", str(temp)], capture_output=True, text=True).stdout.split():
                    os.kill(int(pid), signal.SIGKILL)
                break
            time.sleep(2)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_smoke_sweep_through_ray_job_submit(head, mlflow_server, client, synth_hrsc, tmp_path: Path) -> None:
    address, ray_bin = head["address"], f"{head['bin']}/ray"

    # token authentication is on: without RAY_AUTH_MODE=token the CLI is refused
    refused = subprocess.run([ray_bin, "job", "list", "--address", address], env=head["env"],
                             capture_output=True, text=True)
    assert refused.returncode != 0

    # nothing of the cluster listens beyond the loopback interface
    sockets = listening(head["temp"])
    assert sockets and all(addr.startswith(LOOPBACK) for addr, _ in sockets), sockets

    runtime_env = {"env_vars": {"MLFLOW_TRACKING_URI": mlflow_server.uri,
                                "DETLAB_SWEEP_STORAGE": str(tmp_path / "sweeps"),
                                "DETLAB_MLFLOW_SPOOL": str(tmp_path / "spool"),
                                "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.5"}}
    sets = quick_sets(synth_hrsc, SAMPLES, epochs=2)
    cmd = [ray_bin, "job", "submit", "--address", address, "--working-dir", ".",
           "--runtime-env-json", json.dumps(runtime_env), "--",
           "python", "experiments/sweep.py", "--study", "experiments/studies/cla_hrsc_smoke.yaml",
           "--trainer", TRAINER, "--progress-interval", "10", *[a for s in sets for a in ("--set", s)]]
    job = subprocess.run(cmd, cwd=REPO, env=head["token_env"], capture_output=True, text=True, timeout=780)
    logs = job.stdout + job.stderr
    assert job.returncode == 0, logs[-5000:]
    assert "succeeded" in logs and "leaderboard of cla_hrsc_smoke (2 trials" in logs, logs[-5000:]

    parents, children = study_runs(client, EXPERIMENT)
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert len(children) == SAMPLES
    for child in children:
        assert child.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
        assert "model.train_cfg.assigner.radius" in child.data.params
        assert "val/mAP_voc07" in child.data.metrics, child.data.metrics
    assert (tmp_path / "sweeps" / "cla_hrsc_smoke" / "detlab" / "leaderboard.csv").is_file()
