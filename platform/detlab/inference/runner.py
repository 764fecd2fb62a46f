"""Run a built detector over a config's val or test dataset: mmrotate's per-image results,
in dataset order. One process, or ``workers`` Ray tasks each testing one shard (the
evaluation hook's split: rank r takes images r, r+N, ...), gathered back in order."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from detlab.errors import UserError
from detlab.inference.model import build_model
from detlab.training.driver.ray_runtime import ensure_ray

SPLITS = ("val", "test")


def build_split(cfg, split: str):
    """The strict dataset of ``cfg.data.<split>`` in test mode (a bad file fails now, in one line)."""
    from mmrotate.datasets import build_dataset

    import refined_det.register  # noqa: F401  (registers the plugins)

    if split not in SPLITS:
        raise UserError(f"--split {split!r}: choose one of {', '.join(SPLITS)}")
    if split not in cfg.data:
        raise UserError(f"the config has no data.{split} dataset")
    data = cfg.data[split].copy()
    if "DOTA" in str(data.get("type", "")):
        # every patch, labelled or not, as the benchmark merges them (mmrotate drops empty label files)
        data["filter_empty_gt"] = False
    try:
        return build_dataset(data, dict(test_mode=True))
    except UserError:
        raise
    except Exception as err:  # AnnotationError, FileNotFoundError: already one line naming the file
        raise UserError(f"data.{split}: {err}") from None


def _loader(dataset, indices: Sequence[int] | None = None):
    from mmcv.parallel import collate
    from torch.utils.data import DataLoader, Subset

    part = dataset if indices is None else Subset(dataset, list(indices))
    return DataLoader(
        part, batch_size=1, shuffle=False, num_workers=0, collate_fn=lambda batch: collate(batch, samples_per_gpu=1)
    )


def infer(model, dataset, indices: Sequence[int] | None = None) -> list:
    """mmdet's ``single_gpu_test`` over ``dataset`` (or the ``indices`` of it), on the model's device
    (with mmcv's progress bar)."""
    import torch
    from mmcv.parallel import MMDataParallel
    from mmdet.apis import single_gpu_test

    on_cuda = next(model.parameters()).is_cuda
    dp = MMDataParallel(model, device_ids=[torch.cuda.current_device()] if on_cuda else None)
    return single_gpu_test(dp, _loader(dataset, indices), show=False)


def shard(n: int, workers: int, rank: int) -> list[int]:
    """Indices of one worker's shard, as DistributedSampler(shuffle=False) deals them (no padding)."""
    return list(range(rank, n, workers))


def _remote_shard(spec: dict[str, Any]) -> list:
    """One Ray task: build model and dataset from files, test its shard."""
    import torch
    from mmcv import Config

    torch.set_num_threads(max(1, int(spec["threads"])))
    cfg = Config(spec["cfg"])
    model = build_model(cfg, spec["checkpoint"], spec["config_path"], spec["classes"])
    dataset = build_split(cfg, spec["split"])
    return infer(model, dataset, spec["indices"])


def infer_on_ray(
    cfg,
    checkpoint: str,
    config_path: str,
    classes,
    split: str,
    n: int,
    workers: int,
    cpus_per_worker: float = 1.0,
    timeout_s: float = 3600.0,
) -> list:
    """``workers`` Ray tasks, one shard each; results back in dataset order."""
    import ray

    ensure_ray()
    task = ray.remote(num_cpus=cpus_per_worker)(_remote_shard)
    parts = {r: shard(n, workers, r) for r in range(workers)}
    base = dict(
        cfg=cfg._cfg_dict.to_dict(),
        checkpoint=os.path.abspath(checkpoint),
        config_path=config_path,
        classes=list(classes),
        split=split,
        threads=cpus_per_worker,
    )
    refs = {r: task.remote({**base, "indices": idx}) for r, idx in parts.items() if idx}
    ready, pending = ray.wait(list(refs.values()), num_returns=len(refs), timeout=timeout_s)
    if pending:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise UserError(f"--workers {workers}: {len(pending)} shard(s) not done after {timeout_s:.0f} s")
    ordered: list[Any] = [None] * n
    for r, ref in refs.items():
        try:
            part = ray.get(ref)
        except Exception as err:
            from detlab.training.driver.lifecycle import failure_reason

            raise UserError(f"--workers: shard {r} failed: {failure_reason(err)}") from None
        for i, res in zip(parts[r], part):
            ordered[i] = res
    missing = [i for i, res in enumerate(ordered) if res is None]
    if missing:
        raise UserError(f"--workers: no result for {len(missing)} image(s), e.g. index {missing[0]}")
    return ordered
