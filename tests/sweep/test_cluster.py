"""A sweep on a two-node `ray.cluster_utils.Cluster` (both nodes on 127.0.0.1): the trials' Ray
Train workers run on both nodes; and when the worker node is removed while a trial trains on it,
that trial restarts from its checkpoint (or ends FAILED with a reason), the sweep still completes
in bounded time with every trial accounted for in MLflow, and no placement group is left reserved.
One sweep checks both (a second full sweep only for the first point cost ~8 minutes of suite).

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

    from detlab.ports import free_port
    from detlab.sweep.cluster import LOOPBACK_ENV, loopback_only

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


def start_sweep(c, mlflow_uri: str, data: Path, tmp: Path, experiment: str,
                *more_sets: str) -> tuple[subprocess.Popen, Path]:
    """The smoke sweep on the cluster, in its own MLflow experiment (the server is shared by the module)."""
    env = child_env(tmp, MLFLOW_TRACKING_URI=mlflow_uri, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    sets = quick_sets(data, SAMPLES, epochs=2) + ["resources.cpus_per_worker=0.6", f"mlflow.experiment={experiment}",
                                                  *more_sets]
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


def worker_trials(tmp: Path) -> dict[str, str]:
    """{Train worker actor id: trial id}, from what each worker recorded in its trial's run folder."""
    from detlab.training.driver.placement import recorded_groups

    found = {}
    for workers in (tmp / "sweeps" / "cla_hrsc_smoke" / "train").glob("*/detlab/workers"):
        for actors in recorded_groups(str(workers)).values():
            found.update({a: workers.parents[1].name for a in actors})
    return found


def trial_on(api: str, node_id: str, tmp: Path) -> tuple[str, str] | None:
    """(actor id, trial id) of a live Train worker of a trial on `node_id`, if there is one now."""
    owners = worker_trials(tmp)
    for a in train_workers(api):
        if a.node_id == node_id and a.state == "ALIVE" and a.actor_id in owners:
            return a.actor_id, owners[a.actor_id]
    return None


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_sweep_survives_losing_a_node(cluster, mlflow_server, client, synth_hrsc, tmp_path: Path) -> None:
    """The node goes while a trial trains on it: that trial restarts from its checkpoint (or ends
    FAILED with a reason), every trial is accounted for, and the sweep ends in bounded time."""
    c, worker, api = cluster
    started = time.monotonic()
    proc, log = start_sweep(c, mlflow_server.uri, synth_hrsc, tmp_path, "cluster-node-lost",
                            "resources.placement_timeout_s=240")
    try:
        hit = None
        while time.monotonic() - started < 600 and proc.poll() is None and hit is None:
            hit = trial_on(api, worker.node_id, tmp_path)   # right before the removal
            time.sleep(2)
        assert hit is not None, "no trial's Train worker ran on the worker node: the fault would not hit\n" + \
            log.read_text()[-3000:]
        c.remove_node(worker)
        actor, trial_id = hit
        assert proc.wait(timeout=max(30.0, 850 - (time.monotonic() - started))) == 0, log.read_text()[-4000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert_accounted(client, log, "cluster-node-lost")
    assert "leaderboard of cla_hrsc_smoke (4 trials" in log.read_text()
    [hit_run] = [r for r in study_runs(client, "cluster-node-lost")[1] if r.info.run_name.endswith(trial_id)]
    tags = hit_run.data.tags
    # restarted: its new rank 0 attached again (`restarts`; not when the lost worker died before its
    # first attach, during the imports), or a new worker group of the trial recorded itself
    later_workers = [a for a, trial in worker_trials(tmp_path).items() if trial == trial_id and a != actor]
    restarted = int(tags.get("restarts", "0")) >= 1 or bool(later_workers)
    failed = hit_run.info.status == "FAILED" and bool(tags.get("error"))
    assert restarted or failed, (f"trial {trial_id} lost worker {actor} with the node but neither restarted "
                                 f"nor failed: {hit_run.info.status} {tags}")
    assert leaked_groups(api) == []
    nodes = {a.node_id for a in train_workers(api)}   # dead actors are listed too
    assert nodes == {c.head_node.node_id, worker.node_id}, nodes   # concurrent trials used both nodes


def leaked_groups(api: str, within_s: float = 60.0) -> list[str]:
    """Placement groups still reserved on the cluster once the sweep has ended (Ray releases a
    finished job's groups asynchronously: given `within_s` to do so)."""
    from ray.util.state import list_placement_groups

    deadline = time.monotonic() + within_s
    while True:
        left = [f"{g.placement_group_id} {g.state}" for g in list_placement_groups(address=api, limit=1000)
                if g.state != "REMOVED"]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(2)
