"""Getting a Ray to run on: the one this process already has, a running cluster, or a new local one."""
from __future__ import annotations

import os


def ensure_ray(num_cpus: int | None = None) -> bool:
    """Connect like a plain ``ray.init()`` (``$RAY_ADDRESS``, else a cluster started on this
    machine with ``ray start``), else start a local one. True when this call started or
    connected Ray (the caller may shut it down).

    Ray's own servers listen on all interfaces (Ray has no loopback-only mode; 127.0.0.1 given as
    the node address is replaced by the host's address) and rely on Ray's token authentication,
    which is on by default; the dashboard listens on 127.0.0.1 only."""
    import ray

    if ray.is_initialized():
        return False
    if os.environ.get("RAY_ADDRESS"):
        ray.init()
        return True
    try:
        ray.init(address="auto")
        return True
    except ConnectionError:
        pass
    # Keep the dashboard (it binds 127.0.0.1): Ray Train V2's placement-group cleaner asks the
    # state API whether the controller lives; without this cluster's dashboard it may ask another
    # cluster's on 127.0.0.1:8265, get "not found", and remove the running group (seen here).
    ray.init(address="local", num_cpus=num_cpus)
    return True
