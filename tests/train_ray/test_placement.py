"""Bounded placement on a real local Ray (2 CPUs): a Train run whose worker cannot be placed
fails after its placement timeout with a reason naming what it waited for and what held the
CPUs; the platform removes a recorded placement group only once all its workers are dead."""
from __future__ import annotations

import time

import pytest

from detlab.errors import UserError
from detlab.training.driver.placement import (START_TIMEOUT_ENV, bounded_failure_config, fit_bounded, record_worker_group,
                                       recorded_groups, remove_dead_groups)

pytestmark = pytest.mark.slow


def _loop(config: dict) -> None:
    pass


def _reserved(pg_hex: str) -> str:
    from ray.util.placement_group import placement_group_table

    return placement_group_table().get(pg_hex, {}).get("state", "absent")


def _wait(pred, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"waited {timeout:g} s for {what}"
        time.sleep(0.5)


def test_unplaceable_workers_fail_with_the_reason(ray_local, tmp_path, monkeypatch) -> None:
    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer
    from ray.util.placement_group import placement_group, remove_placement_group

    monkeypatch.setenv(START_TIMEOUT_ENV, "60")   # restored after the test: bounded_failure_config sets it
    blocker = placement_group([{"CPU": 1.6}])     # holds the CPUs, no actor in it (a leaked group)
    ray.get(blocker.ready(), timeout=60)
    try:
        trainer = TorchTrainer(_loop, scaling_config=ScalingConfig(num_workers=1, resources_per_worker={"CPU": 0.6}),
                               run_config=RunConfig(name="unplaced", storage_path=str(tmp_path),
                                                    failure_config=bounded_failure_config(1, 6.0)))
        with pytest.raises(UserError) as err:
            fit_bounded(trainer, str(tmp_path / "workers"), workers=1, resources={"CPU": 0.6},
                        placement_timeout_s=6.0)
    finally:
        remove_placement_group(blocker)
    reason = str(err.value)
    assert reason.startswith("waited 6 s for 1 worker of {CPU: 0.6}; cluster free: {CPU: 0.4}"), reason
    assert "1 placement group with no live actor holds {CPU: 1.6}" in reason, reason
    assert "\n" not in reason


def test_a_recorded_group_is_removed_only_when_its_workers_are_dead(ray_local, tmp_path) -> None:
    import ray
    from ray.util.placement_group import placement_group
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy
    from ray.util.state import get_actor

    @ray.remote(num_cpus=0.1)
    class Worker:
        def record(self, pid_dir: str) -> str:
            record_worker_group(pid_dir)
            return ray.get_runtime_context().get_actor_id()

    pg = placement_group([{"CPU": 0.1}])
    ray.get(pg.ready(), timeout=60)
    pid_dir = str(tmp_path / "workers")
    worker = Worker.options(scheduling_strategy=PlacementGroupSchedulingStrategy(pg)).remote()
    actor_id = ray.get(worker.record.remote(pid_dir), timeout=120)
    assert recorded_groups(pid_dir) == {pg.id.hex(): [actor_id]}

    assert remove_dead_groups(pid_dir) == []              # its worker lives: never touched
    assert _reserved(pg.id.hex()) == "CREATED"
    ray.kill(worker)
    _wait(lambda: getattr(get_actor(actor_id, timeout=10), "state", None) == "DEAD", 60, "the worker to be dead")
    assert _reserved(pg.id.hex()) == "CREATED"            # Ray keeps the group: the leak
    assert remove_dead_groups(pid_dir) == [pg.id.hex()]
    assert _reserved(pg.id.hex()) == "REMOVED"
