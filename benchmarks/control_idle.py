"""Run every process this benchmark started, except the training ones, under Linux's ``SCHED_IDLE``,
so that on a node whose cores the training fills the control processes get only the time the
training leaves idle -- what a node with a core to spare beside its workers gives them.

Why: on 2 cores with 2 training processes, each of Ray Train's control actors (controller,
synchronisation actor, placement-group cleaner, preemption watcher) wakes every 10 ms (Ray's core
worker checks signals on that period, hard-coded in ``CoreWorker::RunTaskExecutionLoop``), about
0.01 core each; under the default policy the scheduler takes that from the training.
``SCHED_IDLE`` threads run only when no normal thread wants the core.

Applied alike on both sides of a comparison: to Ray's raylet, GCS, dashboard, idle workers and
Train control actors, and to torchrun's agent; never to a training process (a Ray worker that
becomes ``RayTrainWorker`` is put back to the normal policy at once) nor to this process (the plain
loop trains in it). A thread polls ``/proc`` every ``interval`` seconds, over every thread of each
descendant of this process (a policy is per thread on Linux).
"""
from __future__ import annotations

import os
import threading

from proc_cpu import TRAIN, label, processes, read_proc, stat_fields


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids, from ``/proc/<pid>/stat``."""
    tree: dict[int, list[int]] = {}
    for pid in processes():
        stat = read_proc(pid, "stat")
        if stat is not None:
            tree.setdefault(int(stat_fields(stat)[1]), []).append(pid)  # field 4: the parent
    return tree


def descendants(root: int) -> list[int]:
    tree, out, todo = _children(), [], [root]
    while todo:
        for child in tree.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def set_policy(pid: int, policy: int) -> None:
    """Give every thread of ``pid`` ``policy`` (nothing if the process has ended)."""
    try:
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return
    for tid in tids:
        try:
            if os.sched_getscheduler(tid) & ~os.SCHED_RESET_ON_FORK != policy:
                os.sched_setscheduler(tid, policy, os.sched_param(0))
        except ProcessLookupError:  # the thread ended; a refusal (PermissionError) is raised
            continue


class ControlIdle:
    """While its ``with`` block runs, keeps this process's non-training descendants at ``SCHED_IDLE``."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.idled: set[int] = set()
        self.trainers: set[int] = set()
        self.error: OSError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="control-idle", daemon=True)

    def __enter__(self) -> ControlIdle:
        self.apply()  # once before the block, so that a failure to set the policy is raised here
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        if self.error is not None and exc[0] is None:  # the figures were taken under a wrong policy
            raise RuntimeError(f"control_idle: could not keep the scheduling policies: {self.error}")

    def apply(self) -> None:
        for pid in descendants(os.getpid()):
            cmdline = read_proc(pid, "cmdline")
            if cmdline is None:
                continue
            if label(cmdline, pid) == TRAIN:
                self.trainers.add(pid)
                set_policy(pid, os.SCHED_OTHER)
            else:
                self.idled.add(pid)
                set_policy(pid, os.SCHED_IDLE)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.apply()
            except OSError as e:  # e.g. not allowed to put a trainer back from SCHED_IDLE (RLIMIT_NICE)
                self.error = e
                return
