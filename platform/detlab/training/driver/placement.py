"""Bounded placement of a Ray Train worker group, and the placement groups Ray leaves behind.

Ray Train V2 waits for a worker group's placement group `RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S`
(60 s by default), then retries the start as a "controller failure", without limit unless
`FailureConfig.controller_failure_limit` is set: a trial whose workers never fit waits for ever
(seen: 27 minutes at 0 evaluations, ~25 removed groups). `bounded_failure_config` uses those two
knobs of Ray's so that a fit waits at most `placement_timeout_s` in all for its workers, and
`placement_reason` turns Ray's `WorkerGroupStartupTimeoutError` into a one-line reason naming what
was waited for and what the cluster had.

Ray removes a worker group's placement group when the group shuts down, but after a node loss a
group whose workers all died can stay reserved (rescheduled onto a surviving node, nobody
owning it). Each worker records its group in the run folder (`record_worker_group`);
`PlacementSweeper` (during a fit) and `remove_groups_of_run` (when a trial has ended) remove
recorded groups whose workers are all dead, never a group with a live worker.
"""

from __future__ import annotations

import json
import logging
import os
import os.path as osp
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from detlab.atomic import atomic_write_text
from detlab.errors import UserError

log = logging.getLogger("detlab.training")

START_TRIES = 2  # worker-group start tries sharing that wait (a failed start is retried once)
START_TIMEOUT_ENV = "RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S"  # read by Train's controller (propagated)
GROUPS_DIR = "placement-groups"  # under the run's detlab/workers folder: one <pg id>.json per worker
STATE_API_TIMEOUT_S = 10
LIVE_STATES = ("PENDING", "PREPARED", "CREATED", "RESCHEDULING")


def bounded_failure_config(max_failures: int, placement_timeout_s: float) -> Any:
    """Train's FailureConfig with every restart budget bounded, and the start wait set in the env.

    Worker deaths: `max_failures` restarts (preemptions too: Ray's default there is unbounded).
    Placement: START_TRIES tries of placement_timeout_s / START_TRIES each.
    """
    from ray.train import FailureConfig

    if placement_timeout_s <= 0:
        raise UserError(f"placement timeout must be > 0 s, got {placement_timeout_s:g}")
    os.environ[START_TIMEOUT_ENV] = f"{placement_timeout_s / START_TRIES:g}"
    return FailureConfig(  # type: ignore[call-arg]  # Train V2's FailureConfig at run time; the stubs are V1's
        max_failures=max_failures, controller_failure_limit=START_TRIES - 1, max_preemption_failures=max_failures
    )


def _short(resources: Mapping[str, float]) -> str:
    shown = {
        k: round(float(v), 3)
        for k, v in resources.items()
        if not k.startswith("node:") and not k.endswith("memory") and "_group_" not in k and v
    }
    return "{" + ", ".join(f"{k}: {v:g}" for k, v in sorted(shown.items())) + "}"


def _add(into: dict[str, float], resources: Mapping[str, float]) -> None:
    for k, v in resources.items():
        into[k] = into.get(k, 0.0) + float(v)


def is_placement_timeout(err: BaseException | None) -> bool:
    """Whether Ray gave up placing a worker group (through its ControllerError / Tune wrappers)."""
    seen = 0
    while err is not None and seen < 10:
        if type(err).__name__ == "WorkerGroupStartupTimeoutError":
            return True
        err = getattr(err, "controller_failure", None) or err.__cause__
        seen += 1
    return False


def placement_reason(workers: int, resources: Mapping[str, float], waited_s: float) -> str:
    """`waited 600 s for 1 worker of {CPU: 0.6}; cluster free: {CPU: 0.2}; 1 placement group with
    no live actor holds {CPU: 0.6}` (the last part only when there is such a group)."""
    import ray

    what = f"waited {waited_s:g} s for {workers} worker{'s' if workers != 1 else ''} of {_short(resources)}"
    try:
        free = _short(ray.available_resources())
    except Exception as err:  # noqa: BLE001 - the reason must still come out
        free = f"unknown ({type(err).__name__})"
    reason = f"{what}; cluster free: {free}"
    idle = idle_groups()
    if idle:
        held: dict[str, float] = {}
        for bundles in idle.values():
            for b in bundles:
                _add(held, b)
        n = len(idle)
        reason += (
            f"; {n} placement group{'s' if n != 1 else ''} with no live actor hold{'s' if n == 1 else ''} "
            f"{_short(held)}"
        )
    return reason


def idle_groups() -> dict[str, list[dict[str, float]]]:
    """Reserved placement groups with no live actor in them: {pg id: bundles}; {} when unknown."""
    from ray.util.placement_group import placement_group_table
    from ray.util.state import list_actors

    alive = None
    for _ in range(2):  # the state API can time out on a loaded machine: once more, then give up
        try:
            table = placement_group_table()
            alive = list_actors(
                filters=[("state", "=", "ALIVE")],
                detail=True,
                limit=10000,
                timeout=3 * STATE_API_TIMEOUT_S,
                raise_on_missing_output=False,
            )
            break
        except Exception as err:  # noqa: BLE001 - no state API (no dashboard): say nothing rather than guess
            log.warning("placement: could not list the cluster's actors (state API): %s", err)
            continue
    if alive is None:
        return {}
    used = {getattr(a, "placement_group_id", None) for a in alive}
    return {
        pg: list(info.get("bundles", {}).values())
        for pg, info in table.items()
        if info.get("state") == "CREATED" and pg not in used
    }


def record_worker_group(pid_dir: str | None) -> None:
    """In a Train worker: note its placement group and actor in the run folder (see module doc)."""
    import ray
    from ray.util import get_current_placement_group

    pg = get_current_placement_group()
    if not pid_dir or pg is None:
        return
    actor = ray.get_runtime_context().get_actor_id()
    atomic_write_text(
        osp.join(pid_dir, GROUPS_DIR, f"{pg.id.hex()}.{actor}.json"),
        json.dumps({"placement_group": pg.id.hex(), "actor": actor}),
    )


def recorded_groups(pid_dir: str) -> dict[str, list[str]]:
    """{placement group id: [actor ids of its workers]} recorded under a run's workers folder."""
    folder = osp.join(pid_dir, GROUPS_DIR)
    groups: dict[str, list[str]] = {}
    if not osp.isdir(folder):
        return groups
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json"):
            continue
        try:
            with open(osp.join(folder, name)) as f:
                entry = json.load(f)
        except (OSError, ValueError):
            continue
        groups.setdefault(str(entry["placement_group"]), []).append(str(entry["actor"]))
    return groups


def _actor_dead(actor_id: str) -> bool | None:
    """True/False from the state API; None when it cannot tell (then nothing is removed)."""
    from ray.util.state import get_actor

    try:
        state = get_actor(actor_id, timeout=STATE_API_TIMEOUT_S)
    except Exception:  # noqa: BLE001
        return None
    return state is None or state.state == "DEAD"


def remove_dead_groups(pid_dir: str, *, all_ended: bool = False) -> list[str]:
    """Remove the recorded placement groups still reserved whose workers are all dead.

    `all_ended`: the run has ended (its trial is over), so every recorded group still reserved
    goes. Returns the ids removed.
    """
    import ray
    from ray.util.placement_group import PlacementGroup, placement_group_table, remove_placement_group

    groups = recorded_groups(pid_dir)
    if not groups:
        return []
    try:
        table = placement_group_table()
    except Exception:  # noqa: BLE001 - Ray gone: nothing to remove
        return []
    removed = []
    for pg, actors in groups.items():
        if table.get(pg, {}).get("state") not in LIVE_STATES:
            continue
        if not all_ended and not all(_actor_dead(a) is True for a in actors):
            continue
        try:
            remove_placement_group(PlacementGroup(ray.PlacementGroupID(bytes.fromhex(pg))))
        except Exception as err:  # noqa: BLE001 - already gone
            log.debug("placement group %s: %s", pg, err)
            continue
        removed.append(pg)
        log.warning(
            "removed placement group %s of %s: %s and Ray had not released it yet",
            pg,
            osp.dirname(osp.dirname(pid_dir.rstrip("/"))),
            "the run has ended" if all_ended else "all its workers are dead",
        )
    return removed


def remove_groups_of_run(pid_dirs: Iterable[str]) -> list[str]:
    """Remove what ended runs still reserve (the sweep calls this when a trial ends)."""
    removed: list[str] = []
    for d in pid_dirs:
        removed += remove_dead_groups(d, all_ended=True)
    return removed


def fit_bounded(
    trainer: Any, pid_dir: str, *, workers: int, resources: Mapping[str, float], placement_timeout_s: float
) -> Any:
    """`trainer.fit()` with this run's dead groups swept meanwhile and removed after; Ray's result,
    or the error it ended with (a placement timeout as a one-line UserError, see placement_reason)."""

    error: BaseException | None = None
    with PlacementSweeper(pid_dir):
        try:
            result = trainer.fit()
            error = result.error
        except Exception as err:  # noqa: BLE001 - re-raised below, after the cleanup
            error = err
    if error is not None and is_placement_timeout(error):
        reason = placement_reason(workers, resources, placement_timeout_s)
        remove_dead_groups(pid_dir, all_ended=True)
        raise UserError(reason) from error
    remove_dead_groups(pid_dir, all_ended=True)
    if error is not None:
        raise error
    return result


class PlacementSweeper:
    """Background thread of a fit: every `interval_s`, remove this run's dead, still reserved groups,
    so that Train's restart of the worker group can be placed."""

    def __init__(self, pid_dir: str, interval_s: float = 10.0) -> None:
        self.pid_dir, self.interval_s = pid_dir, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="detlab-placement-sweeper", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                remove_dead_groups(self.pid_dir)
            except Exception as err:  # noqa: BLE001 - a sweeper must never end the fit
                log.debug("placement sweeper: %s", err)

    def __enter__(self) -> PlacementSweeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=STATE_API_TIMEOUT_S * 2)
