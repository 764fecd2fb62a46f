"""Tune callbacks of a sweep: settle each trial's MLflow child run as soon as the trial ends, and
release the placement groups its workers still hold if Ray did not (training/driver/placement.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ray.tune import Callback

from detlab.sweep.runs import PRUNE_DELAY_S, ChildRuns, Settler, TrialOutcome, error_reason
from detlab.sweep.search import TIME_ATTR, is_pruned
from detlab.sweep.trial import trial_name
from detlab.training.driver.placement import remove_groups_of_run


class SettleTrials(Callback):
    """pruned / finished / failed -> the child run's status and tags (see runs.py)."""

    def __init__(self, runs: ChildRuns, scheduler: Any, max_t: int | None) -> None:
        self.runs, self.scheduler, self.max_t = runs, scheduler, max_t
        self._settler: Settler | None = None

    @property
    def settler(self) -> Settler:
        if self._settler is None:
            self._settler = Settler(self.runs)
        return self._settler

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        outcome = outcome_of(trial.trial_id, trial_name(trial), trial.last_result, None, self.scheduler, self.max_t)
        self.settler.submit(outcome, delay=PRUNE_DELAY_S if outcome.status == "pruned" else 0.0)
        self.release(trial.trial_id)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        try:
            err = trial.get_pickled_error()
        except Exception:  # noqa: BLE001 - unreadable error file: still a failed trial
            err = None
        outcome = outcome_of(
            trial.trial_id,
            trial_name(trial),
            trial.last_result,
            err or RuntimeError("trial failed"),
            self.scheduler,
            self.max_t,
        )
        self.settler.submit(outcome)
        self.release(trial.trial_id)

    def release(self, trial_id: str) -> None:
        """The trial has ended: no placement group its workers recorded may stay reserved."""
        try:
            remove_groups_of_run([str(Path(self.runs.train_storage) / trial_id / "detlab" / "workers")])
        except Exception:  # noqa: BLE001 - Ray going down with the sweep: nothing left to release
            pass

    def join(self) -> None:
        if self._settler is not None:
            self._settler.join()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_settler": None}  # threads do not pickle (Tune checkpoints callbacks)


def outcome_of(
    trial_id: str, name: str, last: dict | None, error: BaseException | None, scheduler: Any, max_t: int | None
) -> TrialOutcome:
    evaluations = int((last or {}).get(TIME_ATTR, 0) or 0)
    if error is not None:
        return TrialOutcome(trial_id, name, "failed", evaluations, error_reason(error))
    status = "pruned" if is_pruned(scheduler, trial_id, evaluations, max_t) else "finished"
    return TrialOutcome(trial_id, name, status, evaluations)
