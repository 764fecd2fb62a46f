"""A Ray head plus worker nodes on this machine, every server bound to 127.0.0.1, until Ctrl-C.

`ray start --head` on 127.0.0.1 is enough for one machine (see local.md). To try what a
multi-node cluster does to a sweep (trials spread over nodes, a node lost mid-sweep) on one
machine, this starts several nodes with `ray.cluster_utils.Cluster`, the tool Ray's own tests
use: `ray start --address` refuses to add nodes when Ray is kept on the loopback interface.

    python clusters/local_cluster.py --nodes 3 --cpus-per-node 1
    # then, in another shell, as printed:
    RAY_AUTH_MODE=token ray job submit --address http://127.0.0.1:8265 --working-dir . -- \\
        python experiments/sweep.py --study experiments/studies/cla_hrsc_smoke.yaml --synth-images 96
"""
from __future__ import annotations

import argparse
import os
import signal
import threading


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2, help="nodes in all, the head included (default 2)")
    parser.add_argument("--cpus-per-node", type=int, default=1)
    parser.add_argument("--dashboard-port", type=int, default=8265)
    args = parser.parse_args()

    from detlab.sweep.cluster import LOOPBACK_ENV, loopback_only
    from detlab.training.driver.ray_runtime import workers_at_full_priority

    loopback_only()  # nodes keep 127.0.0.1 and bind it (see detlab.sweep.cluster)
    workers_at_full_priority()  # trials at nice 0, not Ray's 15 (see detlab.training.driver.ray_runtime)
    os.environ["RAY_API_SERVER_ADDRESS"] = f"http://127.0.0.1:{args.dashboard_port}"
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": args.cpus_per_node, "include_dashboard": True, "dashboard_host": "127.0.0.1",
        "dashboard_port": args.dashboard_port})
    for _ in range(args.nodes - 1):
        cluster.add_node(num_cpus=args.cpus_per_node)
    cluster.wait_for_nodes()
    print(f"{args.nodes} Ray nodes on 127.0.0.1 ({args.cpus_per_node} CPU each); GCS {cluster.address}\n"
          f"submit with:  RAY_AUTH_MODE=token ray job submit --address http://127.0.0.1:{args.dashboard_port} "
          f"--working-dir . -- python experiments/sweep.py --study ...\n"
          f"(token: ~/.ray/auth_token; {LOOPBACK_ENV}=0 is set for the nodes) -- Ctrl-C stops them", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main()
