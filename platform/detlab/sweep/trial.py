"""The Tune function trainable: one trial = one `fit` (a Ray Train TorchTrainer) of the base
config with the trial's sampled values.

The Train run is named after the Tune trial id, so a retried or restored trial calls
`fit` again on the same run folder: Train resumes from its checkpoint and records into
the same MLflow child run (the run id is kept in that folder). A trial whose `fit`
failed for a reason a retry cannot fix (bad config, diverged loss, Train's own retries
spent) leaves a marker, so Tune's retries, meant for lost nodes, do not train it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detlab.errors import TransientError, UserError
from detlab.quiet import silence

silence()  # a Ray worker imports this module before mmcv: filter its import-time noise there too

TRIAL_CPU = 0.1  # the trial's own process (Train's driver); the controller takes 0, the workers their share
HEAD = "node:__internal_head__"
# Trials run on the head node: Ray Train pins a run's controller to the node of its driver, and a
# controller lost with a worker node left its placement group reserved on the surviving nodes
# (Ray 2.60, measured: 0.6 CPU held on the head for good, the retried trial waiting for ever).
# With drivers on the head, losing a worker node only kills workers, which the live controller
# restarts from the last checkpoint.
TRIAL_RESOURCES = {"CPU": TRIAL_CPU, HEAD: 0.001}
FAILED_MARKER = Path("detlab") / "failed-for-good.txt"


@dataclass
class TrialJob:
    """What every trial needs from the driver; plain values only (it is pickled to the trial actors)."""

    spec: dict[str, Any]  # StudySpec.model_dump(mode="json")
    config: str  # base config, absolute
    data_overrides: dict[str, Any]  # dataset.root rebased onto the config's data paths
    trainer: str  # a detlab.sweep.trainers name or module:function
    tracking_uri: str  # absolute
    experiment: str
    parent_run_id: str | None
    train_storage: str  # Ray Train runs, one folder per trial id
    max_failures: int = 3  # worker-group restarts inside one fit
    synth: tuple[str, str, int] | None = None  # (dataset, root, images) to generate where missing

    def run_dir(self, trial_id: str) -> Path:
        return Path(self.train_storage) / trial_id


class TrialFailed(UserError):
    """The trial's training failed; the message is the one-line reason."""


class TrialInterrupted(RuntimeError):
    """A Ray actor, worker or node died under the trial's training: Tune retries it (resuming its run)."""


def trial_error(err: UserError, marker: Path) -> Exception:
    """What the trial raises to Tune for a failed training. Something died under it (a
    ``TransientError``): ``TrialInterrupted``, and Tune retries the trial, which resumes its run.
    Its input is at fault: ``TrialFailed``, and ``marker`` makes every retry fail at once with the
    same one-line reason instead of training again."""
    if isinstance(err, TransientError):
        return TrialInterrupted(str(err))
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(str(err).splitlines()[0] if str(err) else type(err).__name__)
    return TrialFailed(str(err))


def make_trainable(job: TrialJob) -> Callable[[dict[str, Any]], None]:
    """The function Tune runs for each trial (with `TRIAL_RESOURCES`, see tuner.trainable_of)."""

    def trial(config: dict[str, Any]) -> None:
        from ray import tune
        from ray.tune.integration.ray_train import TuneReportCallback

        from detlab.specs import decode_trial, parse_spec, trial_cell
        from detlab.sweep.data import ensure_synthetic
        from detlab.sweep.trainers import resolve_trainer
        from detlab.training.contract import CellRun, FitRequest

        spec = parse_spec(job.spec)
        overrides, seed = decode_trial(spec, config)
        cell = trial_cell(spec, config)
        ctx = tune.get_context()
        trial_id = ctx.get_trial_id()
        marker = job.run_dir(trial_id) / FAILED_MARKER
        if marker.is_file():
            raise TrialFailed(marker.read_text().strip())
        if job.synth is not None:
            ensure_synthetic(*job.synth)
        train = resolve_trainer(job.trainer)
        res = spec.resources
        request = FitRequest(
            job.config,
            {**job.data_overrides, **overrides},
            seed=seed,
            workers=res.workers_per_trial,
            gpus_per_worker=res.gpus_per_worker,
            cpus_per_worker=res.cpus_per_worker,
            mlflow_uri=job.tracking_uri,
            experiment=job.experiment,
            parent_run_id=job.parent_run_id,
            run_name=ctx.get_trial_name(),
            storage_path=job.train_storage,
            name=trial_id,
            resume=None,
            max_failures=job.max_failures,
            placement_timeout_s=res.placement_timeout_s,
            callbacks=[TuneReportCallback()],
            cell=CellRun(spec.cells, cell) if spec.cells is not None and cell is not None else None,
        )
        try:
            train(request)
        except UserError as err:
            raise trial_error(err, marker) from None

    return trial


def trial_name(trial: Any) -> str:
    """`t003_1a2b3c4d`: the trial's number in the study and its id (Tune's names hold every value)."""
    number = str(getattr(trial, "experiment_tag", "") or "").split("_", 1)[0]
    return f"t{int(number):03d}_{trial.trial_id}" if number.isdigit() else f"t_{trial.trial_id}"
