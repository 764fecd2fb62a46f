"""Sweeps on a two-node `ray.cluster_utils.Cluster` (both nodes on 127.0.0.1): the trials' Ray
Train workers run on both nodes; and when a node is removed mid-sweep the sweep still completes,
with every trial accounted for in MLflow.

Each node has 1 CPU and a trial takes 0.1 (its own process) + 0.6 (one Train worker), so one
node holds one trial's workers at a time and two concurrent trials must use both nodes.
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from sweep_helpers import REPO, SMOKE, TRAINER, child_env, duplicated, quick_sets, study_runs, sweep_cmd

SAMPLES = 4


@pytest.fixture
def cluster(monkeypatch):
    from ray.cluster_utils import Cluster

    from detlab.sweep.cluster import LOOPBACK_ENV, free_port, loopback_only

    loopback_only()
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    monkeypatch.setenv(LOOPBACK_ENV, "0")
    monkeypatch.setenv("RAY_API_SERVER_ADDRESS", api)  # inherited by the nodes: Train's cleaner finds its cluster
    c = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "include_dashboard": True, "dashboard_host": "127.0.0.1", "dashboard_port": port})
    worker = c.add_node(num_cpus=1)
    c.wait_for_nodes()
    try:
        yield c, worker, api
    finally:
        c.shutdown()


def start_sweep(c, mlflow_uri: str, data: Path, tmp: Path, experiment: str) -> tuple[subprocess.Popen, Path]:
    """The smoke sweep on the cluster, in its own MLflow experiment (the server is shared by the module)."""
    env = child_env(tmp, MLFLOW_TRACKING_URI=mlflow_uri, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    sets = quick_sets(data, SAMPLES, epochs=3) + ["resources.cpus_per_worker=0.6", f"mlflow.experiment={experiment}"]
    args = ["--study", str(SMOKE), "--storage", str(tmp / "sweeps"), "--trainer", TRAINER,
            "--address", c.address, "--progress-interval", "10", *[a for s in sets for a in ("--set", s)]]
    log = tmp / "sweep.log"
    proc = subprocess.Popen(sweep_cmd(*args), cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    return proc, log


def train_workers(api: str) -> list:
    from ray.util.state import list_actors

    return list_actors(address=api, filters=[("class_name", "=", "RayTrainWorker")], limit=1000, detail=True)


def assert_accounted(client, log: Path, experiment: str) -> None:
    parents, children = study_runs(client, experiment)
    assert len(parents) == 1 and parents[0].info.status == "FINISHED", log.read_text()[-3000:]
    assert len(children) == SAMPLES and not duplicated([c.info.run_name for c in children])
    assert all(c.info.status in ("FINISHED", "FAILED") for c in children), [
        (c.info.run_name, c.info.status) for c in children]
    assert sum(c.info.status == "FINISHED" for c in children) >= 1


@pytest.mark.slow
@pytest.mark.timeout(2700)
def test_trials_use_both_nodes(cluster, mlflow_server, client, synth_hrsc, tmp_path: Path) -> None:
    c, worker, api = cluster
    proc, log = start_sweep(c, mlflow_server.uri, synth_hrsc, tmp_path, "cluster-both-nodes")
    assert proc.wait(timeout=1800) == 0, log.read_text()[-4000:]
    assert_accounted(client, log, "cluster-both-nodes")
    nodes = {a.node_id for a in train_workers(api)}
    assert nodes == {c.head_node.node_id, worker.node_id}, nodes


@pytest.mark.slow
@pytest.mark.timeout(2700)
def test_sweep_survives_losing_a_node(cluster, mlflow_server, client, synth_hrsc, tmp_path: Path) -> None:
    c, worker, api = cluster
    proc, log = start_sweep(c, mlflow_server.uri, synth_hrsc, tmp_path, "cluster-node-lost")
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and proc.poll() is None:   # a trial is training on the worker node
        if any(a.node_id == worker.node_id and a.state == "ALIVE" for a in train_workers(api)):
            break
        time.sleep(2)
    assert proc.poll() is None, log.read_text()[-4000:]
    time.sleep(5)
    c.remove_node(worker)
    assert proc.wait(timeout=2400) == 0, log.read_text()[-4000:]
    assert_accounted(client, log, "cluster-node-lost")
    assert "leaderboard of cla_hrsc_smoke (4 trials" in log.read_text()
