"""A run's Ray Train worker group, the same for every trainer: a `TorchTrainer` over the request's
workers and resources in the run's folder, fitted with its placement bounded (placement.py)."""

from __future__ import annotations

import os.path as osp
from collections.abc import Callable
from typing import Any

from detlab.training.contract import FitRequest
from detlab.training.driver.lifecycle import RunPlace
from detlab.training.driver.placement import bounded_failure_config, fit_bounded


def worker_resources(request: FitRequest) -> dict[str, float]:
    """What each worker reserves: {"CPU": ..., "GPU": ...} (no GPU key on CPU)."""
    gpus = request.gpus_per_worker
    return {"CPU": request.cpus_per_worker, **({"GPU": gpus} if gpus > 0 else {})}


def workers_dir(place: RunPlace) -> str:
    """Where the workers record their pids and placement group (placement.record_worker_group)."""
    return osp.join(place.run_dir, "detlab", "workers")


def fit_worker_group(
    loop: Callable[[dict[str, Any]], Any],
    spec: dict[str, Any],
    request: FitRequest,
    place: RunPlace,
    *,
    checkpoint_config: Any,
) -> Any:
    """Run ``loop(spec)`` on the request's workers; Ray's result, or its error (a placement
    timeout as a one-line ``UserError``). Ray Train continues from the run folder's checkpoint."""
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    resources = worker_resources(request)
    trainer = TorchTrainer(
        loop,
        train_loop_config=spec,
        scaling_config=ScalingConfig(
            num_workers=request.workers, use_gpu=request.gpus_per_worker > 0, resources_per_worker=resources
        ),
        run_config=RunConfig(
            name=place.name,
            storage_path=place.storage,
            callbacks=list(request.callbacks),
            failure_config=bounded_failure_config(request.max_failures, request.placement_timeout_s),
            checkpoint_config=checkpoint_config,
        ),
    )
    return fit_bounded(
        trainer,
        workers_dir(place),
        workers=request.workers,
        resources=resources,
        placement_timeout_s=request.placement_timeout_s,
    )
