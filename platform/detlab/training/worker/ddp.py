"""Let mmdet's own ``train_detector(distributed=True)`` run on CPU.

mmdet 2.28's ``build_ddp`` accepts only cuda/mlu/npu, and mmcv's
``MMDistributedDataParallel`` with ``device_ids=None`` (what CPU DDP needs)
hands the batch to the model still wrapped in ``DataContainer``s. The adapter
below unwraps the batch the way ``MMDataParallel`` does on CPU (mmcv's
``scatter`` to device -1) and then runs mmcv's own ``train_step``/``val_step``
(gradient bucketing, buffer sync). GPUs go through mmdet's ``build_ddp`` unchanged.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from typing import Any

import torch
from mmcv.parallel import MMDistributedDataParallel

CPU = [-1]  # mmcv's device list for "scatter on CPU"


class CPUDistributedDataParallel(MMDistributedDataParallel):
    """mmcv's DDP wrapper for CPU processes (gloo): unwraps DataContainers, then mmcv's step."""

    def train_step(self, *inputs: Any, **kwargs: Any) -> Any:
        args, kws = self.scatter(inputs, kwargs, CPU)
        return super().train_step(*args[0], **kws[0])

    def val_step(self, *inputs: Any, **kwargs: Any) -> Any:
        args, kws = self.scatter(inputs, kwargs, CPU)
        return super().val_step(*args[0], **kws[0])


def _forward_sync_name(kwargs: dict[str, Any]) -> dict[str, Any]:
    """torch 2.14 renamed DDP's ``broadcast_buffers`` (which mmdet passes) to ``forward_sync_buffers``."""
    if (
        "broadcast_buffers" in kwargs
        and "forward_sync_buffers" in inspect.signature(torch.nn.parallel.DistributedDataParallel.__init__).parameters
    ):
        kwargs["forward_sync_buffers"] = kwargs.pop("broadcast_buffers")
    return kwargs


def build_ddp_any_device(model: torch.nn.Module, device: str = "cuda", *args: Any, **kwargs: Any):
    """mmdet's ``build_ddp``, plus ``device='cpu'`` (device ids are meaningless there)."""
    if device == "cpu":
        kwargs.pop("device_ids", None)
        return CPUDistributedDataParallel(model, *args, device_ids=None, **_forward_sync_name(kwargs))
    from mmdet.utils import build_ddp

    return build_ddp(model, device, *args, **kwargs)


@contextlib.contextmanager
def ddp_on_any_device() -> Iterator[None]:
    """While active, ``mmdet.apis.train.train_detector`` wraps CPU models with the adapter."""
    import mmdet.apis.train as mmdet_train

    original = mmdet_train.build_ddp
    mmdet_train.build_ddp = build_ddp_any_device
    try:
        yield
    finally:
        mmdet_train.build_ddp = original
