"""Stop a diverged training at once, with a message that names the cause.

Checked before the optimizer step on every rank. The loss it reads has been
averaged over the ranks by mmdet (``_parse_losses``), so all ranks stop at the
same iteration: none is left waiting in a collective.
"""

from __future__ import annotations

import math

from mmcv.runner import HOOKS, Hook

from detlab.training.hooks.epoch_stats import current_lr


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite: training cannot continue from here."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise ``NonFiniteLossError`` when the total loss is NaN or inf (register with priority
    VERY_HIGH so it runs before mmcv's OptimizerHook steps on it)."""

    def after_train_iter(self, runner) -> None:
        log_vars = (runner.outputs or {}).get("log_vars") or {}
        loss = log_vars.get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        bad = sorted(k for k, v in log_vars.items() if not math.isfinite(float(v)))
        lr = current_lr(runner)
        at_lr = f"; lr {lr:g}" if lr is not None else ""
        raise NonFiniteLossError(
            f"loss is {float(loss)} at epoch {runner.epoch + 1}, iteration {runner.inner_iter + 1} "
            f"(non-finite: {', '.join(bad)}{at_lr}): training diverged; lower optimizer.lr or check the data"
        )
