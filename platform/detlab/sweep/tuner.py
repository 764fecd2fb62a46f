"""The Ray Tune `Tuner` of a study, new or restored.

One function trainable per trial (trial.py) reserving only its own process, on the head node;
`reuse_actors=False`, because a reused trial process would keep the Train run of the
trial ASHA stopped alive and holding its workers. The sampler, the scheduler and the
callbacks are pickled by Tune with the experiment, so a restored Tuner keeps them.
"""

from __future__ import annotations

from typing import Any

from ray import tune

from detlab.specs import StudySpec, num_trials, param_space
from detlab.sweep.callbacks import SettleTrials
from detlab.sweep.layout import StudyPaths
from detlab.sweep.optuna_store import make_storage
from detlab.sweep.progress import ProgressTable
from detlab.sweep.runs import ChildRuns
from detlab.sweep.search import make_scheduler, make_searcher
from detlab.sweep.trial import TRIAL_RESOURCES, TrialJob, make_trainable, trial_name


def trainable_of(job: TrialJob) -> Any:
    return tune.with_resources(make_trainable(job), tune.PlacementGroupFactory([TRIAL_RESOURCES]))


def build_tuner(
    paths: StudyPaths,
    spec: StudySpec,
    job: TrialJob,
    *,
    optuna_storage: str | None,
    optuna_study: str | None,
    max_concurrent: int,
    trial_retries: int,
    progress_interval: float,
) -> tune.Tuner:

    storage = make_storage(optuna_storage) if optuna_storage else None
    searcher = make_searcher(spec, storage=storage, study_name=optuna_study)
    scheduler = make_scheduler(spec)
    max_t = spec.scheduler.max_t if spec.scheduler.type == "asha" else None
    runs = ChildRuns(job.train_storage, job.tracking_uri, job.experiment, job.parent_run_id)
    callbacks = [
        SettleTrials(runs, scheduler, max_t),
        ProgressTable(
            spec.name,
            spec.objective.metric,
            spec.objective.mode,
            list(spec.search_space),
            num_trials(spec),
            interval=progress_interval,
            scheduler=scheduler,
            max_t=max_t,
        ),
    ]
    tune_config = tune.TuneConfig(
        search_alg=searcher,
        scheduler=scheduler,
        num_samples=spec.trials.num_samples,
        max_concurrent_trials=max_concurrent,
        reuse_actors=False,
        trial_name_creator=trial_name,
        trial_dirname_creator=trial_name,
    )
    run_config = tune.RunConfig(
        name=spec.name,
        storage_path=str(paths.storage),
        callbacks=callbacks,
        failure_config=tune.FailureConfig(max_failures=trial_retries),
        verbose=0,
    )
    return tune.Tuner(trainable_of(job), param_space=param_space(spec), tune_config=tune_config, run_config=run_config)


def restore_tuner(paths: StudyPaths, spec: StudySpec, job: TrialJob) -> tune.Tuner:
    """Finished and failed trials stay as they are; unfinished ones resume from their checkpoints."""
    tuner = tune.Tuner.restore(
        str(paths.experiment_dir),
        trainable=trainable_of(job),
        resume_unfinished=True,
        resume_errored=False,
        restart_errored=False,
    )
    for cb in tuner_parts(tuner)[1]:
        if isinstance(cb, ProgressTable):
            cb.restart()
    return tuner


def tuner_parts(tuner: tune.Tuner) -> tuple[Any, list[Any]]:
    """(scheduler, callbacks) of a Tuner, new or restored (Tune keeps them in its internal state)."""
    internal = getattr(tuner, "_local_tuner", None)
    tune_config = getattr(internal, "_tune_config", None)
    run_config = getattr(internal, "_run_config", None)
    return getattr(tune_config, "scheduler", None), list(getattr(run_config, "callbacks", None) or [])
