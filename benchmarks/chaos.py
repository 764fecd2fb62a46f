"""Chaos: the smoke sweep on a 2-node local Ray cluster (`ray.cluster_utils.Cluster`), with N
faults at seeded random moments, side by side with a fault-free run of the same sweep.

Faults, in turn: SIGKILL of a Train worker; SIGKILL of a trial's own process; removal of the
worker node (a new one joins); SIGKILL + restart of the MLflow server; SIGKILL of the driver,
then the same command again (the sweep resumes). A fault counts when it hit something (a live
worker, trial, node, server or driver); it is survived when the sweep still ends with every
trial accounted for once and nothing left behind. A sweep that ends before all faults are in
says so in the first row (N of 20): on a quiet machine give it more work (--samples, --evals). Columns (goal: 0 in each loss column):
trials lost or duplicated, trials FAILED (the toy trainer never fails by itself), leaked
placement groups, MLflow runs and Optuna trials left RUNNING, and the extra wall time.

    python benchmarks/chaos.py [--faults 20] [--seed 0] [--samples 8] [--evals 6] [--eval-s 2] [--keep DIR]

The toy trainer (`--trainer toy`) keeps a fault's recovery, not training, the measured cost;
`--trainer mmdet` runs the detector (hours on 2 CPUs).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "experiments" / "studies" / "cla_hrsc_smoke.yaml"
KINDS = ("train worker", "trial process", "node", "mlflow server", "driver")
# Tune's actor of a function trainable: a trial's own process. (Its head-node resource,
# detlab.sweep.trial.TRIAL_RESOURCES, shows under its placement group's name, while Ray Train's
# controller and placement-group cleaner carry the plain "node:__internal_head__": selecting by that
# mark hit those actors, never a trial.)
TRIAL_CLASS = "ImplicitFunc"


@dataclass
class Outcome:
    wall_s: float = 0.0
    injected: Counter = field(default_factory=Counter)
    lost: int = 0
    duplicated: int = 0
    failed: int = 0
    leaked_groups: int = 0
    mlflow_running: int = 0
    optuna_running: int = 0
    exit_codes: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)   # "<trial>: <error tag>" of each FAILED trial


class Chaos:
    """One sweep on a fresh 2-node cluster and MLflow server, with `faults` faults (0: fault-free)."""

    def __init__(self, args: argparse.Namespace, faults: int, work: Path) -> None:
        self.args, self.faults, self.work = args, faults, work
        work.mkdir(parents=True, exist_ok=True)
        self.rng = random.Random(args.seed)

    def run(self) -> Outcome:
        from ray.cluster_utils import Cluster

        from detlab.ports import free_port
        from detlab.sweep.cluster import LOOPBACK_ENV, loopback_only
        from detlab.tracking.server import MlflowServer

        loopback_only()
        port = free_port()
        self.api = f"http://127.0.0.1:{port}"
        os.environ.update({LOOPBACK_ENV: "0", "RAY_API_SERVER_ADDRESS": self.api})
        # head 1 CPU (the trials' own processes, 0.1 each, and one Train worker of 0.6), worker node 2: the
        # second trial's worker lands on the node a node fault removes
        self.cluster = Cluster(initialize_head=True, head_node_args={
            "num_cpus": 1, "include_dashboard": True, "dashboard_host": "127.0.0.1", "dashboard_port": port})
        self.node = self.cluster.add_node(num_cpus=2)
        self.cluster.wait_for_nodes()
        self.mlflow = MlflowServer(self.work / "mlflow").start()
        out = Outcome()
        try:
            started = time.monotonic()
            self._sweep(out)
            out.wall_s = time.monotonic() - started
            self._account(out)
        finally:
            self.mlflow.stop()
            self.cluster.shutdown()
        return out

    def _command(self) -> list[str]:
        sets = [f"dataset.root={self.work / 'hrsc2016'}", f"trials.num_samples={self.args.samples}",
                "trials.max_concurrent=2", f"overrides.runner.max_epochs={self.args.evals}",
                "overrides.evaluation.interval=1", "scheduler.grace_period=2", "overrides.data.samples_per_gpu=1",
                "resources.cpus_per_worker=0.6", "resources.placement_timeout_s=300", "mlflow.experiment=chaos"]
        return [sys.executable, str(REPO / "experiments" / "sweep.py"), "--study", str(SMOKE), "--storage",
                str(self.work / "sweeps"), "--trainer", self.args.trainer, "--address", self.cluster.address,
                "--trial-retries", str(self.args.trial_retries),
                "--synth-images", "12", "--progress-interval", "30", *[a for s in sets for a in ("--set", s)]]

    def _env(self) -> dict[str, str]:
        return {**{k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "MLFLOW_TRACKING_URI")},
                "MLFLOW_TRACKING_URI": self.mlflow.uri, "DETLAB_TOY_EVAL_S": str(self.args.eval_s),
                "DETLAB_MLFLOW_SPOOL": str(self.work / "spool"), "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.5",
                "PYTHONUNBUFFERED": "1"}

    def _sweep(self, out: Outcome) -> None:
        log = open(self.work / "sweep.log", "ab")
        proc = subprocess.Popen(self._command(), cwd=REPO, env=self._env(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.args.timeout
        left = self.faults
        next_at = time.monotonic() + self.rng.uniform(*self.args.gap)
        while True:
            if time.monotonic() > deadline:
                proc.kill()
                raise SystemExit(f"the sweep did not end within --timeout {self.args.timeout:g} s "
                                 f"(log: {self.work / 'sweep.log'})")
            code = proc.poll()
            if code is not None:   # the sweep ended (a killed driver is restarted below, never seen here)
                out.exit_codes.append(code)
                break
            if left and time.monotonic() >= next_at:
                kind = KINDS[(self.faults - left) % len(KINDS)]
                if self._inject(kind, proc):
                    out.injected[kind] += 1
                    left -= 1
                    if kind == "driver":
                        proc.wait(timeout=60)
                        time.sleep(3)
                        proc = subprocess.Popen(self._command(), cwd=REPO, env=self._env(), stdout=log,
                                                stderr=subprocess.STDOUT)
                next_at = time.monotonic() + self.rng.uniform(*self.args.gap)
            time.sleep(0.5)
        log.close()

    def _inject(self, kind: str, proc: subprocess.Popen) -> bool:
        """Inject one fault; False when there was nothing to hit right now (tried again later)."""
        if kind == "driver":
            if proc.poll() is not None:
                return False
            proc.send_signal(signal.SIGKILL)
            self._log(f"driver: pid {proc.pid}")
            return True
        if kind == "mlflow server":
            pid = self.mlflow.proc.pid
            os.killpg(pid, signal.SIGKILL)
            code = self.mlflow.proc.wait(timeout=30)
            down_s = self.rng.uniform(1, 5)
            time.sleep(down_s)
            refused = not _port_open(self.mlflow.uri)  # the fault hit: nothing answers on its port
            self.mlflow.restart()
            self._log(f"mlflow server: pid {pid} exited {code}, down {down_s:.1f} s, port refused: {refused}")
            return refused
        if kind == "node":
            on_node = [a for a in self._alive() if a.node_id == self.node.node_id]
            if not any(a.class_name == "RayTrainWorker" for a in on_node):
                return False  # nothing of a trial's there now: that would not be a fault of a sweep
            self.cluster.remove_node(self.node)
            self.node = self.cluster.add_node(num_cpus=2)
            self._log(f"node: removed with {', '.join(f'{a.class_name} {a.pid}' for a in on_node)}")
            return True
        actors = self._alive()
        if kind == "train worker":
            pids = [a.pid for a in actors if a.class_name == "RayTrainWorker"]
        else:
            pids = [a.pid for a in actors if a.class_name == TRIAL_CLASS]
        if not pids:
            return False
        pid = self.rng.choice(sorted(pids))
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return False
        actor = next(a for a in actors if a.pid == pid)
        self._log(f"{kind}: pid {pid}, {actor.class_name}, placement group {actor.placement_group_id}")
        return True

    def _log(self, line: str) -> None:
        """What each fault hit, in the run's folder (kills.log), to tell afterwards which trial took what."""
        with open(self.work / "kills.log", "a") as f:
            f.write(f"{time.strftime('%H:%M:%S')} {line}\n")

    def _alive(self) -> list:
        from ray.util.state import list_actors

        try:
            return list_actors(address=self.api, filters=[("state", "=", "ALIVE")], detail=True, limit=1000,
                               timeout=10)
        except Exception:  # noqa: BLE001 - the state API is busy: nothing to hit this time
            return []

    def _account(self, out: Outcome) -> None:
        import optuna
        from mlflow.entities import ViewType
        from mlflow.tracking import MlflowClient
        from ray.util.state import list_placement_groups

        client = MlflowClient(self.mlflow.uri)
        exp = client.get_experiment_by_name("chaos")
        runs = client.search_runs([exp.experiment_id], run_view_type=ViewType.ALL, max_results=1000) if exp else []
        children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
        ended = [r for r in children if r.info.status in ("FINISHED", "FAILED")]
        names = Counter(re.sub(r"^t\d+_", "", r.info.run_name) for r in children)
        out.duplicated = sum(n - 1 for n in names.values() if n > 1)
        out.lost = max(0, self.args.samples - len({re.sub(r"^t\d+_", "", r.info.run_name) for r in ended}))
        out.failed = sum(r.info.status == "FAILED" for r in children)
        out.failures = [f"{r.info.run_name}: {r.data.tags.get('error', '?')}" for r in children
                        if r.info.status == "FAILED"]
        out.mlflow_running = sum(r.info.status == "RUNNING" for r in runs)
        time.sleep(10)   # Ray releases an ended job's groups asynchronously
        out.leaked_groups = sum(g.state != "REMOVED" for g in list_placement_groups(address=self.api, limit=1000))
        state = json.loads((self.work / "sweeps" / "cla_hrsc_smoke" / "detlab" / "sweep.json").read_text())
        study = optuna.load_study(study_name=state["optuna_study"], storage=state["optuna_storage"])
        out.optuna_running = sum(t.state.name == "RUNNING" for t in study.trials)


def _port_open(uri: str) -> bool:
    """Whether something accepts a TCP connection at the server's address."""
    from urllib.parse import urlparse

    from detlab.ports import answers

    url = urlparse(uri)
    return answers(url.hostname or "127.0.0.1", url.port or 80, timeout=2)


def table(clean: Outcome, chaos: Outcome, faults: int) -> str:
    hit = sum(chaos.injected.values())
    survived = hit if (chaos.lost == chaos.duplicated == chaos.failed == chaos.leaked_groups
                       == chaos.mlflow_running == chaos.optuna_running == 0 and chaos.exit_codes[-1:] == [0]) else 0
    rows = [("faults injected", 0, f"{hit} of {faults} ({', '.join(f'{k}: {v}' for k, v in chaos.injected.items())})"),
            ("faults survived", "-", survived),
            ("trials lost", clean.lost, chaos.lost), ("trials duplicated", clean.duplicated, chaos.duplicated),
            ("trials FAILED", clean.failed, chaos.failed),
            ("leaked placement groups", clean.leaked_groups, chaos.leaked_groups),
            ("MLflow runs left RUNNING", clean.mlflow_running, chaos.mlflow_running),
            ("Optuna trials left RUNNING", clean.optuna_running, chaos.optuna_running),
            ("wall time (s)", f"{clean.wall_s:.0f}", f"{chaos.wall_s:.0f} ({chaos.wall_s / max(clean.wall_s, 1e-9):.2f}x)")]
    lines = ["| | fault-free | chaos |", "|---|---|---|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--faults", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--samples", type=int, default=16, help="trials of the sweep (enough work for the faults to land in)")
    p.add_argument("--evals", type=int, default=8, help="evaluations (epochs) per trial")
    p.add_argument("--trial-retries", type=int, default=4,
                   help="the sweep's --trial-retries: Tune restarts of one trial whose process died (default 4: "
                        "with 2 trials running, one trial can take several of the faults)")
    p.add_argument("--eval-s", type=float, default=2.0, help="seconds per toy evaluation")
    p.add_argument("--gap", type=float, nargs=2, default=(4.0, 12.0), help="seconds between faults (uniform)")
    p.add_argument("--trainer", default="toy", choices=("toy", "mmdet"))
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds a sweep may take before it counts as hung")
    p.add_argument("--keep", default=None, metavar="DIR",
                   help="keep the sweeps, logs and MLflow store in DIR (default: a temporary folder, removed)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="detlab-chaos-") as tmp:
        base = Path(args.keep) if args.keep else Path(tmp)
        clean = Chaos(args, 0, base / "clean").run()
        print(f"fault-free run: {clean.wall_s:.0f} s", flush=True)
        chaos = Chaos(args, args.faults, base / "chaos").run()
    print(table(clean, chaos, args.faults))
    for line in chaos.failures:
        print(f"FAILED {line}")


if __name__ == "__main__":
    main()
