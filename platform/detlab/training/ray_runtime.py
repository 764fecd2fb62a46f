"""Getting a Ray to run on: the one this process already has, a running cluster, or a new local one."""
from __future__ import annotations

import os


def ensure_ray(num_cpus: int | None = None) -> bool:
    """Connect like a plain ``ray.init()`` (``$RAY_ADDRESS``, else a cluster started on this
    machine with ``ray start``), else start a local one bound to 127.0.0.1 only.
    True when this call started or connected Ray (the caller may shut it down)."""
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
    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False,
             _node_ip_address="127.0.0.1")
    return True
