"""Which Ray a sweep runs on, and how many trials fit on it at once.

No address and no $RAY_ADDRESS: an embedded local Ray bound to 127.0.0.1, with its
dashboard on a free port named in $RAY_API_SERVER_ADDRESS (Ray Train's placement-group
cleaner uses the state API: without it, the workers of a trial ASHA stopped keep their
CPUs, and later trials wait for ever).
`ray job submit` sets $RAY_ADDRESS, so the same command joins the cluster.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from detlab.errors import UserError
from detlab.ports import free_port
from detlab.specs import StudySpec, check_resources, trial_resources
from detlab.sweep.trial import HEAD, TRIAL_CPU
from detlab.training.driver.ray_runtime import workers_at_full_priority


def connect(address: str | None = None, *, num_cpus: int | None = None, verbose: bool = False) -> str:
    """Connect or start Ray; returns a short description of where the sweep runs."""
    import logging

    import ray

    address = address or os.environ.get("RAY_ADDRESS") or None
    common: dict[str, Any] = dict(log_to_driver=verbose, logging_level=logging.INFO if verbose else logging.WARNING)
    if ray.is_initialized():
        return "the Ray this process is connected to"
    if address:
        ray.init(address=address, **common)
        return f"the Ray cluster at {address}"
    loopback_only()
    workers_at_full_priority()
    port = free_port()
    # Train's cleaner finds the state API through this variable; without it, it guesses, and fails
    # ("multiple active Ray instances") when another Ray runs on the machine.
    os.environ["RAY_API_SERVER_ADDRESS"] = f"http://127.0.0.1:{port}"
    ray.init(
        address="local",
        num_cpus=num_cpus,
        include_dashboard=True,
        dashboard_host="127.0.0.1",
        dashboard_port=port,
        _node_ip_address="127.0.0.1",
        **common,
    )
    return f"an embedded local Ray ({int(ray.cluster_resources().get('CPU', 0))} CPUs, 127.0.0.1)"


LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def loopback_only() -> None:
    """Make a Ray started from this process bind 127.0.0.1 only.

    Ray 2.60 turns a node IP of 127.0.0.1 into the machine's public address and then
    listens on every interface (GCS, raylet, workers); only with multi-node support off
    (`RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`, read when Ray is imported, hence the attribute
    too) does it keep the loopback address, and bind to it. Measured with `ss -ltnp`.
    """
    from ray._private import ray_constants

    os.environ[LOOPBACK_ENV] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False


def head_cpus() -> float:
    """CPUs of the head node, where the trials' own processes run (see trial.TRIAL_RESOURCES)."""
    import ray

    return max(
        (
            float(n["Resources"].get("CPU", 0.0))
            for n in ray.nodes()
            if n.get("Alive") and HEAD in n.get("Resources", {})
        ),
        default=0.0,
    )


def concurrency(spec: StudySpec, available: Mapping[str, float], head_cpu: float | None = None) -> int:
    """Trials to run at once: the spec's max_concurrent, capped by what fits on the cluster.

    Inside Tune a trial reserves only its own process (TRIAL_CPU, on the head); its Train workers
    reserve theirs when the trial starts them. More concurrent trials than fit would wait
    inside Ray Train (retrying for ever) instead of in Tune's queue, so they are capped here.
    The trials' own processes run on the head node (`head_cpu` CPUs, when given), 0.1 CPU each.
    Raises UserError when not even one trial fits (`check_resources`).
    """
    check_resources(spec, available)
    need = trial_resources(spec)
    have = float(available.get("CPU", 0.0))
    if need["CPU"] + TRIAL_CPU > have + 1e-9:
        raise UserError(
            f"{spec.source}: resources.cpus_per_worker: a trial takes {need['CPU']:g} CPU for its "
            f"workers plus {TRIAL_CPU:g} for its own process, but the cluster has {have:g}"
        )
    fits = math.floor((float(available.get("CPU", 0.0)) + 1e-9) / (need["CPU"] + TRIAL_CPU))
    if head_cpu is not None:
        if head_cpu + 1e-9 < TRIAL_CPU:
            raise UserError(
                f"{spec.source}: the head node has {head_cpu:g} CPU; the trials' own processes need "
                f"{TRIAL_CPU:g} CPU each there (start the head with --num-cpus >= 1)"
            )
        fits = min(fits, math.floor((head_cpu + 1e-9) / TRIAL_CPU))
    if need["GPU"] > 0:
        fits = min(fits, math.floor((float(available.get("GPU", 0.0)) + 1e-9) / need["GPU"]))
    return max(1, min(spec.trials.max_concurrent, fits))
