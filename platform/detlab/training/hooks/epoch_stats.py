"""Per-epoch training numbers (mean of each loss, lr, time per iteration, images per second over
all ranks) for MLflow and Ray.

mmcv's loggers average over their log interval and clear the buffer, so they
cannot give an epoch's mean; this hook keeps its own sums. mmdet reduces the
logged losses over the ranks (``_parse_losses``), so every rank holds the same
means. The result is left in ``runner.meta['train_epoch']``.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict

from mmcv.runner import HOOKS, Hook


def current_lr(runner) -> float | None:
    lr = runner.current_lr()
    if isinstance(lr, dict):  # several optimizers: the first one's
        lr = next(iter(lr.values()), [])
    return float(lr[0]) if lr else None


@HOOKS.register_module()
class EpochStatsHook(Hook):
    """Sums losses and iteration times (data loading included) over an epoch."""

    def __init__(self):
        self._sums: dict[str, float] = defaultdict(float)
        self._count = 0
        self._times: list[float] = []
        self._t: float | None = None

    def before_train_epoch(self, runner) -> None:
        self._sums.clear()
        self._count = 0
        self._times = []
        self._t = None

    def before_train_iter(self, runner) -> None:
        if self._t is None:  # first iteration: from here (mmcv sleeps 2 s before each epoch)
            self._t = time.perf_counter()

    def after_train_iter(self, runner) -> None:
        now = time.perf_counter()
        self._times.append(now - (self._t or now))
        self._t = now
        for key, value in ((runner.outputs or {}).get("log_vars") or {}).items():
            self._sums[key] += float(value)
        self._count += 1

    def after_train_epoch(self, runner) -> None:
        n = max(self._count, 1)
        per_iter = sum(self._times) / len(self._times) if self._times else math.nan
        batch = getattr(getattr(runner, "data_loader", None), "batch_size", None) or 0
        runner.meta = runner.meta if runner.meta is not None else {}
        runner.meta["train_epoch"] = {
            "epoch": runner.epoch + 1,
            "iter": runner.iter,
            "losses": {k: v / n for k, v in self._sums.items()},
            "lr": current_lr(runner),
            "time_per_iter_s": per_iter,
            # every rank steps in lockstep (DDP), each on its own batch
            "imgs_per_s": batch * runner.world_size / per_iter if batch and per_iter > 0 else math.nan,
            "iters": self._count,
        }


def epoch_metrics(runner) -> dict[str, float]:
    """``train/<loss>``, ``train/lr``, ``train/time_per_iter_s``, ``train/imgs_per_s`` of the epoch
    that just ended."""
    stats = (runner.meta or {}).get("train_epoch") or {}
    if stats.get("epoch") != runner.epoch + 1:
        return {}
    out = {f"train/{k}": v for k, v in stats["losses"].items()}
    if stats.get("lr") is not None:
        out["train/lr"] = stats["lr"]
    out["train/time_per_iter_s"] = stats["time_per_iter_s"]
    if math.isfinite(stats.get("imgs_per_s", math.nan)):
        out["train/imgs_per_s"] = stats["imgs_per_s"]
    return out


@HOOKS.register_module()
class IterTimesHook(Hook):
    """Every training iteration's wall time (data loading included), CPU time of the whole
    process (all its threads) and wall-clock end, and the wall-clock time of the first iteration, written by rank 0
    to ``out_file`` (JSON) at the end: for benchmarks. CPU time is what a busy shared machine
    does not distort."""

    def __init__(self, out_file: str):
        self.out_file = out_file
        self.first_iter_at: float | None = None
        self.times: list[list[float]] = []  # [epoch, wall seconds, cpu seconds, wall-clock time at its end]
        self._t: tuple[float, float] | None = None

    def before_train_epoch(self, runner) -> None:
        self._t = None

    def before_train_iter(self, runner) -> None:
        if self.first_iter_at is None:
            self.first_iter_at = time.time()
        if self._t is None:
            self._t = (time.perf_counter(), time.process_time())

    def after_train_iter(self, runner) -> None:
        now = (time.perf_counter(), time.process_time())
        assert self._t is not None  # before_train_iter ran
        self.times.append([runner.epoch, now[0] - self._t[0], now[1] - self._t[1], time.time()])
        self._t = now

    def after_run(self, runner) -> None:
        if runner.rank != 0:
            return
        import json

        with open(self.out_file, "w") as f:
            json.dump({"first_iter_at": self.first_iter_at, "times": self.times, "world_size": runner.world_size}, f)
