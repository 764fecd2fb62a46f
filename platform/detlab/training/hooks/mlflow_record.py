"""Per-epoch MLflow metrics of rank 0: losses, lr, time per iteration, positives per GT,
and at evaluations val mAP, per-class AP and the PR curves.

The recorder comes from the process's ``TrainSession`` (rank 0: a ``RunRecorder``,
other ranks: a ``NullRecorder``), so the other ranks never touch MLflow. Every
call only appends to the recorder's journal: an MLflow outage never blocks an epoch.
Registered after the evaluation hook and before the Ray report hook: an epoch is
recorded before its checkpoint exists, so a restart can repeat it but never lose it.
"""

from __future__ import annotations

from mmcv.runner import HOOKS, Hook

from detlab.training.hooks.epoch_stats import epoch_metrics
from detlab.training.worker import session as train_session


def _recorder():
    s = train_session.current()
    return s.recorder if s is not None and s.rank == 0 else None


@HOOKS.register_module()
class MlflowEpochHook(Hook):
    """Metrics at ``step = epoch`` (1-based)."""

    def before_run(self, runner) -> None:
        rec = _recorder()
        if rec is not None and runner.epoch > 0:  # mmcv's runner.resume() has put the epoch back
            rec.set_tags({"resumed_from_epoch": runner.epoch})

    def after_train_epoch(self, runner) -> None:
        rec = _recorder()
        if rec is None:
            return
        epoch = runner.epoch + 1
        meta = runner.meta or {}
        metrics = epoch_metrics(runner)
        metrics.update({f"assigner/{k}": v for k, v in (meta.get("assign_stats") or {}).items()})
        val = meta.get("val") or {}
        if val.get("epoch") == epoch:
            metrics.update(val["metrics"])
            if val.get("plots"):
                rec.log_artifact(val["plots"], "plots")  # the folder is epoch_NNN: plots/epoch_NNN/
        rec.log_metrics(metrics, step=epoch)
