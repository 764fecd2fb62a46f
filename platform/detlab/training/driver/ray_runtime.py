"""Getting a Ray to run on: the one this process already has, a running cluster, or a new local one."""

from __future__ import annotations

import logging
import os

from detlab.errors import UserError
from detlab.ports import answers

log = logging.getLogger("detlab.training")


def _started_cluster() -> str | None:
    """The address `ray start` recorded on this machine (what a plain ``ray.init()`` joins)."""
    try:
        from ray._private.utils import read_ray_address

        return read_ray_address() or None
    except Exception:  # private helper; without it we just start a local Ray
        return None


def _answers(address: str, timeout: float = 3.0) -> bool:
    """Whether something listens at ``host:port`` (Ray's client would retry a dead one forever)."""
    if "://" in address:  # ray://, http://: leave it to Ray
        return True
    host, _, port = address.rpartition(":")
    return port.isdigit() and answers(host.strip("[]"), int(port), timeout)


NICENESS_ENV = "RAY_worker_niceness"


def workers_at_full_priority() -> None:
    """Start the Ray this process creates with its workers at nice 0, unless the user chose.

    Ray starts every worker at nice 15 by default. On a machine where anything else is busy,
    a nice-15 trial gets a few percent of a core against a nice-0 process (measured here: two
    busy loops beside a toy ablation left each trial process 4 % of a CPU, a 2-minute run took
    over 10), while the driver, at nice 0, keeps waiting on it. The trials are the job, so the
    platform's local Ray runs them at normal priority; `RAY_worker_niceness=15` restores Ray's
    default. Clusters started with `ray start` read the variable from their own environment."""
    os.environ.setdefault(NICENESS_ENV, "0")


def ensure_ray(num_cpus: int | None = None) -> bool:
    """Join ``$RAY_ADDRESS``, else a cluster started on this machine with ``ray start``, else
    start a local Ray. True when this call started or joined Ray.

    Clusters other processes started with ``ray.init()`` are not joined (which one would be a
    guess), and a recorded address that no longer answers is skipped with a warning: Ray's own
    client retries a dead GCS without end (seen here: 15 minutes, then killed).
    Ray's servers listen on all interfaces (Ray has no loopback-only mode; 127.0.0.1 given as
    the node address is replaced by the host's address) and rely on Ray's token
    authentication, on by default; the dashboard listens on 127.0.0.1 only.
    """
    import ray

    if ray.is_initialized():
        return False
    env = os.environ.get("RAY_ADDRESS")
    if env:
        if env not in ("auto", "local") and not _answers(env):
            raise UserError(f"RAY_ADDRESS={env}: no Ray cluster answers there (unset it to start a local Ray)")
        ray.init(address=env)
        return True
    started = _started_cluster()
    if started and _answers(started):
        ray.init(address=started)
        return True
    if started:
        log.warning("the Ray cluster recorded at %s (by `ray start`) does not answer; starting a local Ray", started)
    # Keep the dashboard (it binds 127.0.0.1): Ray Train V2's placement-group cleaner asks the
    # state API whether the controller lives; without this cluster's dashboard it may ask another
    # cluster's on 127.0.0.1:8265, get "not found", and remove the running group (seen here).
    workers_at_full_priority()
    ray.init(address="local", num_cpus=num_cpus)
    return True
