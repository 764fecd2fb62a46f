"""mmcv runner hooks the platform adds to mmdet's training: progress and CLA statistics."""

from __future__ import annotations

from mmcv.runner import HOOKS, Hook
from tqdm.auto import tqdm


def assigner_of(runner):
    """The bbox head's assigner, through (MM)DataParallel wrappers; None if there is none."""
    model = getattr(runner.model, "module", runner.model)
    head = getattr(model, "bbox_head", None)
    return getattr(head, "assigner", None)


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """A tqdm bar over all training iterations, showing the latest losses.

    At the end it prints the mean total loss of the first and the last epoch,
    so a short run shows at a glance whether the loss fell.
    """

    def __init__(self, keys: tuple[str, ...] = ("loss",), disable: bool = False):
        self.keys = keys
        self.disable = disable
        self.bar = None
        self.epoch_losses: dict[int, list[float]] = {}

    def before_run(self, runner):
        if runner.rank == 0 and not self.disable:
            self.bar = tqdm(total=runner.max_iters, initial=runner.iter, desc="train", unit="it", dynamic_ncols=True)

    def after_train_iter(self, runner):
        log_vars = (runner.outputs or {}).get("log_vars", {})
        if "loss" in log_vars:
            self.epoch_losses.setdefault(runner.epoch, []).append(float(log_vars["loss"]))
        if self.bar is None:
            return
        shown = {k: f"{v:.3f}" for k, v in log_vars.items() if k in self.keys or k.endswith("loss_cls")}
        self.bar.set_postfix(epoch=runner.epoch + 1, **shown, refresh=False)
        self.bar.update(1)

    def after_run(self, runner):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
            trend = self.loss_trend()
            if trend:
                tqdm.write("mean loss: first epoch {:.4f} -> last epoch {:.4f}".format(*trend))

    def loss_trend(self) -> tuple[float, float] | None:
        """(mean loss of the first epoch, of the last epoch), None before two epochs."""
        if len(self.epoch_losses) < 2:
            return None
        first, last = min(self.epoch_losses), max(self.epoch_losses)
        mean = lambda xs: sum(xs) / len(xs)
        return mean(self.epoch_losses[first]), mean(self.epoch_losses[last])


@HOOKS.register_module()
class AssignStatsHook(Hook):
    """Positive anchors per GT (MaxIoU step vs CLA, per level) into the epoch's log.

    Reads ``AssignStats`` kept by ``CrossGridAssigner`` and resets it every epoch;
    the values appear as ``pos_per_gt/...`` in ``runner.log_buffer`` and so in
    the loggers (and MLflow).
    """

    def before_train_epoch(self, runner):
        assigner = assigner_of(runner)
        if hasattr(assigner, "stats"):
            assigner.stats.reset()

    def after_train_epoch(self, runner):
        assigner = assigner_of(runner)
        if not hasattr(assigner, "stats"):
            return
        summary = assigner.stats.summary()
        runner.meta = runner.meta or {}
        runner.meta["assign_stats"] = summary
        if summary:
            runner.log_buffer.output.update(summary)
