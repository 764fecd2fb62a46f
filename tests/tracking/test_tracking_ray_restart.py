"""Inside Ray Train: rank 0 of a restarted worker group logs to the SAME run, `restarts` = 1.

The driver creates the run; the first worker group dies hard (os._exit, like SIGKILL)
after its second epoch; Ray restarts the group from the checkpoint; the new rank 0
attaches again, delivers what the dead one left in the node's spool, and finishes.

The worker dies once per marker file it writes just before `os._exit`, and only if none is
there yet. (It used to die whenever it started from epoch 0: under load, Ray had not yet
collected the report of epoch 0 when the process died, so the restarted group got no
checkpoint, started from 0 and died again: two real deaths, `restarts` = 2, counted right.)
The test asserts `restarts` equals the deaths it caused and counted.
"""
from __future__ import annotations

import os
import tempfile

import pytest

from detlab.tracking import RunRecorder

pytestmark = pytest.mark.slow


def train_loop(config: dict) -> None:
    import ray.train

    from detlab.tracking import RunRecorder

    ctx = ray.train.get_context()
    rec = RunRecorder.for_rank(ctx.get_world_rank(), config["run_id"], tracking_uri=config["uri"],
                               spool_dir=config["spool"])
    ckpt = ray.train.get_checkpoint()
    start = 0
    if ckpt:
        with ckpt.as_directory() as d:
            start = int(open(os.path.join(d, "epoch")).read()) + 1
    with rec:
        for epoch in range(start, 3):
            rec.log_metrics({"train/loss": 1.0 / (epoch + 1)}, step=epoch)
            with tempfile.TemporaryDirectory() as d:
                open(os.path.join(d, "epoch"), "w").write(str(epoch))
                ray.train.report({"epoch": epoch}, checkpoint=ray.train.Checkpoint.from_directory(d))
            if epoch == 1 and not os.listdir(config["deaths"]):
                open(os.path.join(config["deaths"], f"death-{os.getpid()}"), "w").close()
                os._exit(1)   # the worker dies without finish(), flush or cleanup


def test_ray_train_worker_restart_logs_to_the_same_run(mlflow_server, client, tmp_path):
    ray = pytest.importorskip("ray")
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    import sys

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    run_id = RunRecorder.create_run("ray-restart", "trial-ray", tracking_uri=mlflow_server.uri)
    deaths = tmp_path / "deaths"
    deaths.mkdir()
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
    try:
        trainer = TorchTrainer(
            train_loop,
            train_loop_config={"run_id": run_id, "uri": mlflow_server.uri, "spool": str(tmp_path / "spool"),
                               "deaths": str(deaths)},
            scaling_config=ScalingConfig(num_workers=1, use_gpu=False),
            run_config=RunConfig(storage_path=str(tmp_path / "ray"), name="restart",
                                 failure_config=FailureConfig(max_failures=2),
                                 checkpoint_config=CheckpointConfig(num_to_keep=1)))
        trainer.fit()
    finally:
        ray.shutdown()

    caused = len(list(deaths.iterdir()))
    assert caused == 1, "the worker did not die (the fault never hit)"
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED", run.data.tags
    assert run.data.tags["restarts"] == str(caused), run.data.tags
    steps = sorted(m.step for m in client.get_metric_history(run_id, "train/loss"))
    # every epoch is there; epochs whose checkpoint Ray had not registered before the crash
    # were trained (and logged) again by the new group: both points are real measurements
    assert set(steps) == {0, 1, 2}, steps
    exp = client.get_experiment_by_name("ray-restart").experiment_id
    assert len(client.search_runs([exp])) == 1
