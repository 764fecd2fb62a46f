"""benchmarks/control_idle.py (train_overhead's --control-idle): the processes a benchmark started go
to SCHED_IDLE, every thread of them; training processes stay at (or are put back to) the normal
policy; the benchmark's own process is left alone."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))  # not a package
from control_idle import ControlIdle, descendants  # noqa: E402


def _may_leave_idle() -> bool:
    """Going back from SCHED_IDLE to the normal policy needs root or a RLIMIT_NICE that allows nice 0."""
    probe = ("import os; os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0)); "
             "os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))")
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


pytestmark = pytest.mark.skipif(not _may_leave_idle(), reason="this user may not leave SCHED_IDLE (RLIMIT_NICE)")


def policies(pid: int) -> set[int]:
    return {os.sched_getscheduler(int(t)) & ~os.SCHED_RESET_ON_FORK for t in os.listdir(f"/proc/{pid}/task")}


def wait_for(check, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.05)


def test_control_processes_idle_and_training_processes_normal(tmp_path):
    two_threads = "import threading, time; threading.Thread(target=time.sleep, args=(60,)).start(); time.sleep(60)"
    trainer = tmp_path / "torchrun_ddp.py"  # the name train_overhead's proc_cpu labels a training process by
    trainer.write_text("import time; time.sleep(60)\n")
    control = subprocess.Popen([sys.executable, "-c", two_threads])
    train = subprocess.Popen([sys.executable, str(trainer)])
    try:
        wait_for(lambda: len(os.listdir(f"/proc/{control.pid}/task")) == 2, "the control process's second thread")
        wait_for(lambda: str(trainer).encode() in Path(f"/proc/{train.pid}/cmdline").read_bytes(), "the trainer's exec")
        assert {control.pid, train.pid} <= set(descendants(os.getpid()))
        assert policies(control.pid) == policies(train.pid) == {os.SCHED_OTHER}
        with ControlIdle(interval=0.05) as policy:
            assert policies(control.pid) == {os.SCHED_IDLE}  # both threads, on entry
            assert policies(train.pid) == {os.SCHED_OTHER}
            # a trainer forked by an idle parent starts idle (torchrun's agent, Ray's raylet): put back
            os.sched_setscheduler(train.pid, os.SCHED_IDLE, os.sched_param(0))
            wait_for(lambda: policies(train.pid) == {os.SCHED_OTHER}, "the trainer back at the normal policy")
            assert control.pid in policy.idled and train.pid in policy.trainers
        assert policies(os.getpid()) == {os.SCHED_OTHER}  # the benchmark's own process (the plain loop)
    finally:
        for proc in (control, train):
            proc.kill()
            proc.wait(timeout=10)
