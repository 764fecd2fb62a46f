"""Ray Train's side of the mmcv runner: a checkpoint and ``ray.train.report`` at each evaluation,
and, at start, the RNG states of a resumed run.

The checkpoint is mmcv's own (``runner.save_checkpoint``: model, optimizer,
meta with epoch and iteration) plus every rank's RNG states, gathered to rank 0.
mmcv's ``runner.resume`` reads it back (``train_detector`` calls it when
``cfg.resume_from`` is set); this hook then restores the RNG states in
``before_run``. The LR schedule is a function of epoch and iteration, so it
resumes with them. Every rank reports (Ray's report is a barrier); rank 0
passes the checkpoint. Reporting once per evaluation, not per step, keeps Ray's
~2 s report latency out of the iteration time.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

from mmcv.runner import HOOKS, Hook

from detlab.training.hooks.epoch_stats import epoch_metrics
from detlab.training.worker import rng
from detlab.training.worker import session as train_session
from detlab.training.worker.dist import gather_to_rank0, rank_and_world

CHECKPOINT_FILE = "checkpoint.pth"


def report_metrics(runner) -> dict[str, Any]:
    """What Ray (and Tune, through its callback) sees: epoch, iteration, val and train numbers."""
    meta = runner.meta or {}
    metrics: dict[str, Any] = {"epoch": runner.epoch + 1, "iter": runner.iter}
    metrics.update(epoch_metrics(runner))
    val = meta.get("val") or {}
    if val.get("epoch") == runner.epoch + 1:
        metrics.update(val["metrics"])
    return metrics


@HOOKS.register_module()
class RayReportHook(Hook):
    """Checkpoint + report after each evaluated epoch (register after the eval and MLflow hooks)."""

    def before_run(self, runner) -> None:
        # popped: mmcv's TextLoggerHook dumps runner.meta to JSON right after (tensors fail)
        states = (runner.meta or {}).pop("rng_states", None)
        if runner.epoch > 0 and states:
            rank, _ = rank_and_world()
            rng.restore(states[rank % len(states)])

    def after_train_epoch(self, runner) -> None:
        import ray.train

        val = (runner.meta or {}).get("val") or {}
        if val.get("epoch") != runner.epoch + 1:
            return
        states = gather_to_rank0(rng.capture())
        metrics = report_metrics(runner)
        session = train_session.current()
        start = time.perf_counter()
        if runner.rank == 0:
            runner.meta["rng_states"] = states
            with tempfile.TemporaryDirectory(prefix="detlab-ckpt-", ignore_cleanup_errors=True) as d:
                runner.save_checkpoint(d, filename_tmpl=CHECKPOINT_FILE, save_optimizer=True, create_symlink=False)
                ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(d))
            del runner.meta["rng_states"]
        else:
            ray.train.report(metrics)
        if session is not None:
            session.report_times_s.append(time.perf_counter() - start)
            session.last_reported = metrics
