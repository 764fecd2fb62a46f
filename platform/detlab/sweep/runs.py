"""Each trial's MLflow child run ends the way the trial ended, decided on the sweep driver.

`fit` closes its own run when it returns or raises. It cannot when ASHA stops the
trial (Tune kills the trial's process) or when the trial's node goes away, so the
driver settles every trial: pruned -> FINISHED with tag `pruned=true`; finished ->
tag `pruned=false`; failed -> FAILED with the one-line reason. A trial that failed
before `fit` created its run gets a FAILED child run here, so every trial of the
study is in MLflow. Settling is idempotent (a marker in the trial's run folder), so
the end-of-sweep pass can settle everything again after a driver restart.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detlab.atomic import atomic_write_text
from detlab.errors import UserError
from detlab.limits import SETTLE_S
from detlab.tracking import RunRecorder
from detlab.tracking.client import make_client, one_line
from detlab.training.driver.run_record import RunRecord

log = logging.getLogger("detlab.sweep")

SETTLED = Path("detlab") / "settled.json"
PRUNE_DELAY_S = 3.0  # let the killed trial's workers exit, so their unsent journal can be delivered


@dataclass
class TrialOutcome:
    trial_id: str
    name: str
    status: str  # "finished" | "pruned" | "failed"
    evaluations: int
    error: str | None = None


@dataclass
class ChildRuns:
    """Where the trials' runs are, and how to reach MLflow (picklable: Tune checkpoints callbacks)."""

    train_storage: str
    tracking_uri: str
    experiment: str
    parent_run_id: str | None

    def run_id(self, trial_id: str) -> str | None:
        """The child run of a trial: the one `fit` created, or the one settling had to create."""
        run_dir = Path(self.train_storage) / trial_id
        record = RunRecord.load(str(run_dir))
        if record is not None:
            return record.run_id
        settled = _read(run_dir / SETTLED)
        return settled.get("run_id") if settled else None

    def settle(self, outcome: TrialOutcome) -> str:
        """Make the child run of `outcome` say how the trial ended (nothing to do if it already
        does); returns its run id. Checks MLflow itself, not a local note: a trial's dying process
        may still end its run FAILED after the first settling, and the end-of-sweep pass fixes that."""
        run_dir = Path(self.train_storage) / outcome.trial_id
        run_id = self.run_id(outcome.trial_id)
        if run_id is None:  # failed before fit created its run: record it, once
            run_id = RunRecorder.create_run(
                self.experiment,
                outcome.name,
                parent_run_id=self.parent_run_id,
                tags={"detlab.tune.trial_id": outcome.trial_id},
                tracking_uri=self.tracking_uri,
                print_hint=False,
            )
            (run_dir / SETTLED).parent.mkdir(parents=True, exist_ok=True)
            _write(run_dir / SETTLED, {"run_id": run_id})
        want = "FAILED" if outcome.status == "failed" else "FINISHED"
        tags = {
            "pruned": str(outcome.status == "pruned").lower(),
            "detlab.tune.trial_id": outcome.trial_id,
            "detlab.tune.status": outcome.status,
            "detlab.tune.evaluations": str(outcome.evaluations),
        }
        status, have = self._state(run_id)
        stale_error = want != "FAILED" and "error" in have
        if status == want and all(have.get(k) == v for k, v in tags.items()) and not stale_error:
            return run_id
        # fit usually ended a failed run already, with a more precise reason than Tune's: keep it
        reason = have.get("error") if status == "FAILED" else None
        rec = RunRecorder.attach(run_id, tracking_uri=self.tracking_uri, count_attempt=False)
        rec.set_tags(tags)
        rec.finish(want, error=(reason or outcome.error or "trial failed") if want == "FAILED" else None)
        if stale_error:
            self._drop_error_tag(run_id)  # left by the stopped trial's process as it was killed
        return run_id

    def _drop_error_tag(self, run_id: str) -> None:
        try:
            make_client(self.tracking_uri).delete_tag(run_id, "error")
        except Exception as err:  # cosmetic: the status is what counts
            log.info("could not remove the error tag of %s (%s)", run_id, one_line(err))

    def _state(self, run_id: str) -> tuple[str | None, dict[str, str]]:
        """(status, tags) of a run; (None, {}) when MLflow cannot say now."""
        try:
            run = make_client(self.tracking_uri).get_run(run_id)
        except Exception:  # unreachable: settle as if it were still running
            return None, {}
        return run.info.status, dict(run.data.tags)


class Settler:
    """Settles trials in background threads (Tune's loop must not wait on MLflow); `join` at the end."""

    def __init__(self, runs: ChildRuns) -> None:
        self.runs = runs
        self._threads: list[threading.Thread] = []

    def submit(self, outcome: TrialOutcome, delay: float = 0.0) -> None:
        t = threading.Thread(target=self._settle, args=(outcome, delay), daemon=True, name=f"settle-{outcome.trial_id}")
        t.start()
        self._threads.append(t)

    def _settle(self, outcome: TrialOutcome, delay: float) -> None:
        time.sleep(delay)
        try:
            self.runs.settle(outcome)
        except Exception as err:  # the end-of-sweep pass tries again
            log.warning("MLflow: could not settle trial %s (%s)", outcome.trial_id, one_line(err))

    def join(self, timeout: float = SETTLE_S) -> None:
        """Wait up to `timeout` s for the settling threads; those still waiting on MLflow are named."""
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]
        if self._threads:
            log.warning(
                "MLflow at %s: %d trial run(s) not settled after %.0f s (%s); running the sweep again settles them",
                self.runs.tracking_uri,
                len(self._threads),
                timeout,
                ", ".join(t.name.removeprefix("settle-") for t in self._threads),
            )


def error_reason(err: BaseException | None) -> str:
    """One line for a trial's error, through Ray's wrappers (RayTaskError -> its cause)."""
    if err is None:
        return "trial failed"
    seen = set()
    while id(err) not in seen:
        seen.add(id(err))
        cause = getattr(err, "cause", None)
        if not isinstance(cause, BaseException):
            break
        err = cause

    if isinstance(err, UserError):
        return one_line(str(err), limit=500)
    return one_line(err, limit=500)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def _write(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=2))
