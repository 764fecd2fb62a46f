"""CPU time of every process on this machine (Linux ``/proc``), sampled in a thread, so that a
benchmark can say which processes besides the training ones used the cores while it trained
(on 2 cores, every tenth of a core a control process takes is a twentieth of the training's).

Reads ``/proc/<pid>/stat`` (utime + stime) and ``/proc/<pid>/cmdline`` every ``interval`` seconds;
the command line, as last seen, is reduced to a label (``train`` for the training processes, Ray's own
processes by name, ``driver`` for this process).
"""
from __future__ import annotations

import os
import threading
import time
from collections import defaultdict

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TRAIN = "train"


def processes() -> list[int]:
    """The pids now in ``/proc``."""
    return [int(e.name) for e in os.scandir("/proc") if e.name.isdigit()]


def read_proc(pid: int, name: str) -> bytes | None:
    """``/proc/<pid>/<name>``; None if the process ended between the listing and the read."""
    try:
        with open(f"/proc/{pid}/{name}", "rb") as f:
            return f.read()
    except OSError:
        return None


def stat_fields(stat: bytes) -> list[bytes]:
    """``/proc/<pid>/stat``'s fields from field 3 (state) on (proc(5)): the name before may hold spaces."""
    return stat[stat.rindex(b")") + 2:].split()


def label(cmdline: bytes, pid: int) -> str:
    """What a process is, from its command line: the training processes, Ray's processes by role."""
    if pid == os.getpid():
        return "driver"
    args = [a.decode(errors="replace") for a in cmdline.split(b"\0") if a]
    text = " ".join(args)
    first = args[0] if args else ""
    if first.startswith("ray::"):
        name = first[len("ray::"):].split()[0].split(".")[0]
        return TRAIN if name == "RayTrainWorker" else f"ray::{name}"
    if "default_worker.py" in text:  # a Ray worker before it runs an actor or task
        return "ray::IDLE"
    if "torch.distributed.run" in text:
        return "torchrun agent"
    if "torchrun_ddp.py" in text:
        return TRAIN
    for part, name in (("raylet", "raylet"), ("gcs_server", "gcs_server"), ("dashboard/agent", "dashboard agent"),
                       ("runtime_env/agent", "runtime env agent"), ("dashboard", "dashboard"),
                       ("log_monitor", "log monitor"), ("monitor.py", "autoscaler monitor")):
        if part in text:
            return name
    return "other"


class ProcCpu:
    """Samples every process's CPU seconds in a daemon thread while its ``with`` block runs."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.samples: list[tuple[float, dict[int, float]]] = []
        self.labels: dict[int, str] = {}
        self.nice: dict[str, set[int]] = defaultdict(set)  # nice values seen, per label
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="proc-cpu", daemon=True)

    def __enter__(self) -> ProcCpu:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self._snapshot()))
            self._stop.wait(self.interval)

    def _snapshot(self) -> dict[int, float]:
        cpu: dict[int, float] = {}
        for pid in processes():
            stat = read_proc(pid, "stat")
            cmdline = read_proc(pid, "cmdline")  # read each time: a Ray worker renames itself
            if stat is None or cmdline is None:
                continue
            if cmdline or pid not in self.labels:  # an exiting process's is empty: keep what it was
                self.labels[pid] = label(cmdline, pid)
            fields = stat_fields(stat)
            self.nice[self.labels[pid]].add(int(fields[16]))  # field 19
            cpu[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
        return cpu

    def cores(self, windows: list[tuple[float, float]]) -> tuple[dict[str, float], float]:
        """Cores used per label inside the windows (start, end) of wall-clock time, and the seconds
        measured: per window, from the first sample inside it to the last (processes in both)."""
        used: dict[str, float] = defaultdict(float)
        seconds = 0.0
        for start, end in windows:
            inside = [(t, s) for t, s in self.samples if start <= t <= end]
            if len(inside) < 2:
                continue
            (t0, first), (t1, last) = inside[0], inside[-1]
            seconds += t1 - t0
            for pid, cpu in last.items():
                if pid in first:
                    used[self.labels.get(pid, "other")] += cpu - first[pid]
        return ({k: v / seconds for k, v in used.items()} if seconds else {}), seconds
