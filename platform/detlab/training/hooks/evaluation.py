"""Validation at the config's interval, sharded over the workers, scored by ``detlab.evaluation``.

mmcv's ``DistEvalHook`` keeps deciding *when* (interval, BatchNorm buffers of
rank 0 broadcast to the other ranks before testing, so that every rank tests,
and later checkpoints, the same model). What changes is *how*:

* each rank runs mmdet's ``single_gpu_test`` on its shard (mmdet's
  ``multi_gpu_test`` gathers through CUDA tensors or a shared temp dir, neither
  of which a CPU worker on another node has); the shards travel to rank 0 as
  pickled objects over the process group, with their dataset indices, so the
  order does not depend on the sampler's padding;
* rank 0 scores them with the platform's evaluator and draws the PR curves;
  the metrics are broadcast, so every rank reports the same numbers to Ray.

The last epoch is always evaluated (and so checkpointed), interval or not.
Works in a single process too (``train_local(validate=True)``).
"""

from __future__ import annotations

import os.path as osp
from typing import Any

from mmcv.runner import HOOKS, DistEvalHook

from detlab.evaluation.plots import save_pr_curves
from detlab.training.worker.dist import broadcast_from_rank0, gather_to_rank0, rank_and_world
from detlab.training.worker.val_eval import ValSet, evaluate_results, flat_metrics, load_val_set


def sharded_test(model, data_loader, **_: Any) -> list | None:
    """This rank's shard through mmdet's ``single_gpu_test``; all results, in dataset order, on rank 0."""
    import torch
    from mmcv.parallel import MMDataParallel
    from mmdet.apis import single_gpu_test

    module = getattr(model, "module", model)  # DDP's forward is not usable for mmcv on torch 2.x
    on_cuda = next(module.parameters()).is_cuda
    dp = MMDataParallel(module, device_ids=[torch.cuda.current_device()] if on_cuda else None)
    indices = list(data_loader.sampler)
    part = single_gpu_test(dp, data_loader, show=False)
    shards = gather_to_rank0((indices, part))
    if shards is None:
        return None
    ordered: list[Any] = [None] * len(data_loader.dataset)
    for idx, res in shards:
        for i, r in zip(idx, res):
            ordered[i] = r
    missing = [i for i, r in enumerate(ordered) if r is None]
    if missing:
        raise RuntimeError(f"validation: no result for {len(missing)} image(s), e.g. index {missing[0]}")
    return ordered


@HOOKS.register_module()
class DetlabEvalHook(DistEvalHook):
    """Evaluate ``data`` (the val dataset config) every ``interval`` epochs and at the last one.

    Leaves ``runner.meta['val'] = {'epoch', 'metrics', 'plots'}`` on every rank for the
    MLflow and Ray report hooks; the metrics also go to ``runner.log_buffer``.
    """

    def __init__(
        self,
        data: dict,
        interval: int = 1,
        start: int | None = None,
        samples_per_gpu: int = 1,
        workers_per_gpu: int = 0,
        plots: bool = True,
        eval_last: bool = True,
        **kwargs: Any,
    ):
        from mmdet.datasets import build_dataloader, replace_ImageToTensor
        from mmrotate.datasets import build_dataset

        _, world = rank_and_world()
        data = dict(data)
        if samples_per_gpu > 1:
            data["pipeline"] = replace_ImageToTensor(data["pipeline"])
        dataset = build_dataset(data, dict(test_mode=True))
        loader = build_dataloader(
            dataset,
            samples_per_gpu=samples_per_gpu,
            workers_per_gpu=workers_per_gpu,
            dist=world > 1,
            shuffle=False,
            persistent_workers=False,
        )
        super().__init__(
            loader,
            start=start,
            interval=interval,
            by_epoch=True,
            test_fn=sharded_test,
            broadcast_bn_buffer=world > 1,
            **kwargs,
        )
        self.plots = plots
        self.eval_last = eval_last
        self.val: ValSet | None = None
        self._outcome: dict[str, Any] | None = None

    def before_run(self, runner) -> None:
        super().before_run(runner)
        if runner.rank == 0:  # a bad annotation file fails now, not after the first epoch
            self.val = load_val_set(self.dataloader.dataset)

    def _should_evaluate(self, runner) -> bool:
        last = self.eval_last and runner.epoch + 1 == runner.max_epochs
        return last or super()._should_evaluate(runner)

    def _do_evaluate(self, runner) -> None:
        self._outcome = None
        super()._do_evaluate(runner)  # BN broadcast, sharded test, evaluate() on rank 0
        outcome = broadcast_from_rank0(self._outcome)
        runner.meta = runner.meta if runner.meta is not None else {}
        runner.meta["val"] = outcome

    def evaluate(self, runner, results) -> float:
        """Rank 0: score ``results`` and keep the outcome for the broadcast."""
        if self.val is None:
            self.val = load_val_set(self.dataloader.dataset)
        result = evaluate_results(self.val, results)
        metrics = flat_metrics(result)
        runner.log_buffer.output.update(metrics)
        runner.log_buffer.ready = True
        plots = None
        if self.plots:
            plots = osp.join(runner.work_dir, "plots", f"epoch_{runner.epoch + 1:03d}")
            save_pr_curves(result, plots)
        runner.logger.info("val epoch %d: %s", runner.epoch + 1, ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
        self._outcome = {"epoch": runner.epoch + 1, "metrics": metrics, "plots": plots}
        return metrics["val/mAP"]


def eval_hook_cfg(cfg, **overrides: Any) -> dict:
    """The ``custom_hooks`` entry for ``cfg``: its val set, ``evaluation.interval``/``start``,
    ``data.val_dataloader.samples_per_gpu`` (default 1) and ``data.workers_per_gpu``."""
    evaluation = cfg.get("evaluation", {}) or {}
    loader = cfg.data.get("val_dataloader", {}) or {}
    hook = dict(
        type="DetlabEvalHook",
        data=cfg.data.val,
        interval=int(evaluation.get("interval", 1)),
        start=evaluation.get("start"),
        samples_per_gpu=int(loader.get("samples_per_gpu", 1)),
        workers_per_gpu=int(loader.get("workers_per_gpu", cfg.data.get("workers_per_gpu", 0))),
        priority="LOW",
    )
    hook.update(overrides)
    return hook
