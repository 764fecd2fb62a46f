"""The study's sampler and scheduler as Ray Tune objects.

tpe / random: `OptunaSearch` over a persisted RDB storage (so optuna-dashboard can
open it and a restored sweep continues the same Optuna study); grid: Tune's own
variant generator. ASHA stops poor trials at rungs counted in evaluations
(Tune's `training_iteration`: `fit` reports once per evaluation); the ASHA here
also remembers which trials it stopped, so their MLflow runs can say `pruned`.
"""

from __future__ import annotations

from typing import Any

import optuna
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, TrialScheduler
from ray.tune.search.optuna import OptunaSearch

from detlab.specs import StudySpec

TIME_ATTR = "training_iteration"


def make_searcher(spec: StudySpec, *, storage: Any | None, study_name: str | None) -> Any | None:
    """OptunaSearch (tpe/random); None for grid (Tune's variant generator enumerates it). Tune
    limits its concurrency itself (TuneConfig.max_concurrent_trials)."""
    if spec.sampler.type == "grid":
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    sampler: optuna.samplers.BaseSampler
    if spec.sampler.type == "tpe":
        sampler = optuna.samplers.TPESampler(seed=spec.sampler.seed, n_startup_trials=spec.sampler.n_startup_trials)
    else:
        sampler = optuna.samplers.RandomSampler(seed=spec.sampler.seed)
    return RestorableOptunaSearch(
        metric=spec.objective.metric, mode=spec.objective.mode, sampler=sampler, study_name=study_name, storage=storage
    )


class RestorableOptunaSearch(OptunaSearch):
    """OptunaSearch that ignores results of trials Optuna has already closed.

    Tune snapshots its state every `TUNE_GLOBAL_CHECKPOINT_S`; a trial that ended after the
    last snapshot, just before the driver was killed, is resumed by the restored sweep and
    reports again. Optuna keeps the value it was told first; the plain OptunaSearch would
    raise UpdateFinishedTrialError and end the whole sweep.
    """

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        try:
            super().on_trial_result(trial_id, result)
        except optuna.exceptions.UpdateFinishedTrialError:
            self._completed_trials.add(trial_id)


def make_scheduler(spec: StudySpec) -> TrialScheduler:
    """ASHA that records its stops, or FIFO (every trial runs its whole schedule)."""
    if spec.scheduler.type == "none":
        return FIFOScheduler()
    sched = spec.scheduler
    return PruningASHA(
        time_attr=TIME_ATTR,
        metric=spec.objective.metric,
        mode=spec.objective.mode,
        max_t=sched.max_t,
        grace_period=sched.grace_period,
        reduction_factor=sched.reduction_factor,
    )


class PruningASHA(ASHAScheduler):
    """ASHA that keeps the ids of the trials it stopped early in `.pruned`, and lets a trial that
    reached `max_t` end by itself (plain ASHA stops it there, killing the trial's process while
    `fit` is still closing its MLflow run and attaching the best checkpoint)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pruned: set[str] = set()

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        if result.get(TIME_ATTR, 0) >= self._max_t:
            return TrialScheduler.CONTINUE  # its last evaluation: fit returns on its own
        decision = super().on_trial_result(tune_controller, trial, result)
        if decision == TrialScheduler.STOP:
            self.pruned.add(trial.trial_id)
        return decision


def is_pruned(scheduler: Any, trial_id: str, iterations: int, max_t: int | None) -> bool:
    """Stopped early by ASHA: recorded by the scheduler, or (a trial stopped just before the driver
    died, whose record is gone) ended with fewer evaluations than a full trial."""
    if trial_id in getattr(scheduler, "pruned", ()):
        return True
    return max_t is not None and 0 < iterations < max_t
