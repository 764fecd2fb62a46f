"""SIGKILL the sweep's driver mid-sweep, run the same command again: the study completes with
exactly `num_samples` child runs, none duplicated; trials the driver had seen finish are not
trained again; the trial that was running continues from its Ray Train checkpoint; the Optuna
storage holds no trial left RUNNING.

(A trial whose `fit` returned in the last second before the kill, before Tune recorded it, is
resumed like any unfinished trial: Ray Train finds it complete, and its metrics are unchanged.)"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from sweep_helpers import (REPO, SMOKE, TRAINER, child_env, duplicated, optuna_states, quick_sets, run_sweep_cli,
                           study_runs, sweep_cmd)

EXPERIMENT = "refined-det/cla-hrsc-smoke"
SAMPLES = 4
METRIC = "val/mAP_voc07"


def registered_epochs(train_dir: Path) -> int:
    """The epoch of the last checkpoint Ray Train registered for a trial (what a restart resumes from)."""
    try:
        snap = json.loads((train_dir / "checkpoint_manager_snapshot.json").read_text())
    except (FileNotFoundError, ValueError):
        return 0
    epochs = [int((c.get("metrics") or {}).get("epoch", 0)) for c in snap.get("checkpoint_results", [])]
    return max(epochs, default=0)


def steps(client, run_id: str) -> list[int]:
    return sorted(m.step for m in client.get_metric_history(run_id, METRIC))


def wait_gone(session: str, timeout: float = 60.0) -> None:
    """The killed driver's embedded Ray exits with it; kill by pid whatever of it is left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = subprocess.run(["pgrep", "-f", session], capture_output=True, text=True).stdout.split()
        if not pids:
            return
        time.sleep(2)
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_killed_driver_resumes_the_sweep(mlflow_server, client, synth_hrsc, tmp_path: Path) -> None:
    storage = tmp_path / "sweeps"
    study_dir = storage / "cla_hrsc_smoke"
    env = child_env(tmp_path, MLFLOW_TRACKING_URI=mlflow_server.uri, DETLAB_TOY_EVAL_S="3")
    args = ["--study", str(SMOKE), "--storage", str(storage), "--trainer", TRAINER, "--num-cpus", "2",
            "--progress-interval", "10", *[a for s in quick_sets(synth_hrsc, SAMPLES, epochs=3) for a in ("--set", s)]]
    log = (tmp_path / "first.log").open("w")
    first = subprocess.Popen(sweep_cmd(*args), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)

    # Kill when the driver has seen a trial finish (it tagged the run), and another trial has a
    # registered checkpoint but is not done; then wait for Tune's next state snapshot (every second).
    deadline, before, mid = time.monotonic() + 360, {}, {}
    while time.monotonic() < deadline and first.poll() is None:
        _, children = study_runs(client, EXPERIMENT)
        before = {c.info.run_id: (steps(client, c.info.run_id), c.data.tags.get("restarts"))
                  for c in children if c.info.status == "FINISHED" and "detlab.tune.status" in c.data.tags}
        mid = {}
        for c in children:
            run_dir = c.data.tags.get("detlab.ray.run_dir")
            epochs = registered_epochs(Path(run_dir)) if run_dir else 0
            if c.info.status == "RUNNING" and 0 < epochs < 3:
                mid[c.info.run_id] = epochs
        if before and mid:
            break
        time.sleep(2)
    assert first.poll() is None, "the sweep ended before it could be killed mid-way"
    assert before and mid, (tmp_path / "first.log").read_text()[-3000:]
    time.sleep(3)
    first.send_signal(signal.SIGKILL)
    first.wait()
    log.close()
    session = re.search(r"/tmp/ray/(session_[\w-]+)", (tmp_path / "first.log").read_text())
    if session:
        wait_gone(session.group(1))

    second = run_sweep_cli(args, env, timeout=420)   # with the first part, within the test's 900 s
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "resuming sweep cla_hrsc_smoke" in second.stdout

    parents, children = study_runs(client, EXPERIMENT)
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert parents[0].data.tags["restarts"] == "1"                        # one driver restart
    assert len(children) == SAMPLES, [c.info.run_name for c in children]
    assert not duplicated([c.info.run_name for c in children])
    assert not duplicated([c.data.tags["detlab.tune.trial_id"] for c in children])
    assert all(c.info.status in ("FINISHED", "FAILED") for c in children)
    after = {c.info.run_id: c for c in children}
    for run_id, (history, restarts) in before.items():                    # not trained again
        assert steps(client, run_id) == history
        assert after[run_id].data.tags.get("restarts") == restarts
    for run_id, epochs in mid.items():                                    # continued, not restarted
        history = steps(client, run_id)
        assert all(history.count(e) == 1 for e in range(1, epochs + 1)), history
        assert int(after[run_id].data.tags["restarts"]) >= 1
    states = optuna_states(study_dir)
    assert "RUNNING" not in states and len(states) >= SAMPLES
