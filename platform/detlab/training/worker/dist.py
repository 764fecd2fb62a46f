"""Object collectives that also work in a single process (no process group: identity).

Used by the evaluation and report hooks, which run both under Ray Train (gloo on
CPU, NCCL on GPU) and in plain single-process ``train_local``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank_and_world() -> tuple[int, int]:
    if not is_distributed():
        return 0, 1
    return dist.get_rank(), dist.get_world_size()


def _object_device() -> torch.device | None:
    """NCCL moves pickled objects through the current CUDA device; gloo through CPU."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return None


def gather_to_rank0(obj: Any) -> list[Any] | None:
    """Every rank's ``obj`` as a list on rank 0 (index = rank), ``None`` on the others."""
    if not is_distributed():
        return [obj]
    rank, world = rank_and_world()
    out: list[Any] | None = [None] * world if rank == 0 else None
    # NCCL needs torch.cuda.set_device() done (the Ray Train worker does it)
    dist.gather_object(obj, out, dst=0)
    return out


def broadcast_from_rank0(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0, device=_object_device())
    return box[0]


def barrier() -> None:
    if is_distributed():
        dist.barrier()
