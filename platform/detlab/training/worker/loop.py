"""What every Ray Train worker runs: mmdet's own ``train_detector`` in a process group Ray set up.

Ray Train owns the process group (gloo on CPU, NCCL on GPU), the checkpoints and
the restarts; mmdet/mmcv own the training (model, dataset, distributed group
sampler, optimizer, LR warm-up and steps, gradient clipping, fp16 hook, all from
the merged config). The pieces in between are hooks (evaluation, MLflow, Ray
report, NaN guard, epoch statistics) and a CPU-capable DDP wrapper (ddp.py).

The worker returns ``{"status": "finished" | "failed", ...}``; rank 0's return
value reaches the driver. A diverged loss is the same on every rank (mmdet
averages the logged losses over the ranks), so all ranks stop together and
return "failed" instead of raising: retrying from the last checkpoint would
diverge again. Any other error is raised, and Ray restarts the worker group
from the last checkpoint (``FailureConfig.max_failures``).
"""

from __future__ import annotations

import copy
import os
import os.path as osp
import shutil
import tempfile
from typing import Any

from detlab.atomic import atomic_write_text
from detlab.quiet import silence
from detlab.training.driver.placement import record_worker_group

silence()  # a Ray worker imports this module before mmcv: filter its import-time noise there too

PRIORITIES = {"guard": "VERY_HIGH", "stats": 60, "eval": "LOW", "mlflow": 75, "report": 80}


def runtime_hooks(cfg, *, report_to_ray: bool, progress: bool = False) -> list[dict]:
    """The platform's hooks for one training, in the order they must run after an epoch:
    statistics, evaluation, MLflow, then the Ray report (checkpoint last, so a restart
    can repeat an epoch's metrics but never lose them)."""
    from detlab.training.hooks.evaluation import eval_hook_cfg

    hooks: list[dict] = [
        dict(type="NonFiniteLossHook", priority=PRIORITIES["guard"]),
        dict(type="AssignStatsHook"),
        dict(type="EpochStatsHook", priority=PRIORITIES["stats"]),
        eval_hook_cfg(cfg, priority=PRIORITIES["eval"]),
        dict(type="MlflowEpochHook", priority=PRIORITIES["mlflow"]),
    ]
    if report_to_ray:
        hooks.append(dict(type="RayReportHook", priority=PRIORITIES["report"]))
    if progress:
        hooks.append(dict(type="ProgressBarHook"))
    return hooks


def _write_pid(pid_dir: str | None, rank: int) -> None:
    """``rank<r>.pid`` under the run's folder: which process is which rank (ops, fault tests)."""
    if not pid_dir:
        return
    atomic_write_text(osp.join(pid_dir, f"rank{rank}.pid"), f"{os.getpid()}\n")


def _resume_file(work_dir: str, rank: int) -> str | None:
    """The checkpoint Ray hands a (re)started group, copied local; None on a fresh start."""
    import ray.train

    from detlab.training.hooks.ray_report import CHECKPOINT_FILE

    checkpoint = ray.train.get_checkpoint()
    if checkpoint is None:
        return None
    local = tempfile.mkdtemp(prefix=f"resume-rank{rank}-", dir=work_dir)
    checkpoint.to_directory(local)
    path = osp.join(local, CHECKPOINT_FILE)
    if not osp.isfile(path):
        raise FileNotFoundError(f"checkpoint {checkpoint.path} has no {CHECKPOINT_FILE}")
    return path


def _system_metrics(spec: dict[str, Any], ctx, recorder, interval: float):
    """Start MLflow system metrics on one worker per node; returns the (idempotent) stop.

    Rank 0 sends through its recorder; the first worker of each other node through a
    metrics-only session of the same run. Node ids name the metrics on multi-node runs."""
    import logging

    from detlab.tracking import RunRecorder

    rank = ctx.get_world_rank()
    if ctx.get_local_rank() != 0:
        return lambda: None
    try:
        from detlab.training.hooks.system_metrics import start_system_metrics
    except ImportError as err:  # psutil missing: training goes on without them
        logging.getLogger("detlab.training").warning("MLflow system metrics off: %s", err)
        return lambda: None
    node_rank = getattr(ctx, "get_node_rank", lambda: 0)()
    multi_node = ctx.get_world_size() > getattr(ctx, "get_local_world_size", ctx.get_world_size)()
    sender = (
        recorder
        if rank == 0
        else RunRecorder.attach(
            spec["run_id"], tracking_uri=spec["tracking_uri"], spool_dir=spec.get("spool_dir"), count_attempt=False
        )
    )
    sampler = start_system_metrics(sender, node_id=f"node{node_rank}" if multi_node else None, interval=interval)

    def stop() -> None:
        if sampler is not None:
            sampler.finish()
        if sender is not recorder:
            sender.close()

    return stop


def train_loop_per_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Ray Train's per-worker function; ``spec`` is built by ``ray_trainer.worker_spec``."""
    import ray.train

    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    _write_pid(spec.get("pid_dir"), rank)  # first, before the slow imports: a fault may come early
    record_worker_group(spec.get("pid_dir"))  # so the platform can release it if Ray does not

    import torch
    from mmcv import Config
    from mmcv.runner import set_random_seed
    from mmdet.utils import setup_multi_processes

    import refined_det.register  # noqa: F401  (registers the plugins and strict datasets)
    from detlab.tracking import RunRecorder
    from detlab.tracking.client import one_line
    from detlab.training.hooks import epoch_stats, evaluation, guards, mlflow_record, ray_report  # noqa: F401
    from detlab.training.hooks.guards import NonFiniteLossError
    from detlab.training.worker.ddp import ddp_on_any_device
    from detlab.training.worker.local import build_and_train
    from detlab.training.worker.session import TrainSession, active

    os.environ.setdefault("LOCAL_RANK", str(ctx.get_local_rank()))
    torch.set_num_threads(int(spec["threads"]))

    cfg = Config(copy.deepcopy(spec["cfg"]))
    cfg.gpu_ids = list(range(world))  # mmcv's resume rescales the iteration when this changes
    cfg.device = spec["device"]
    if cfg.device == "cuda":
        import ray.train.torch

        torch.cuda.set_device(ray.train.torch.get_device())
    logged_cfg = copy.deepcopy(cfg)  # the merged config of this run, before runtime hooks
    cfg.work_dir = spec["work_dir"]
    os.makedirs(cfg.work_dir, exist_ok=True)
    cfg.checkpoint_config = None  # Ray Train owns the checkpoints (RayReportHook)
    cfg.resume_from = _resume_file(cfg.work_dir, rank)
    cfg.custom_hooks = (
        list(cfg.get("custom_hooks", []) or []) + runtime_hooks(cfg, report_to_ray=True) + list(spec.get("hooks", []))
    )
    setup_multi_processes(cfg)

    recorder = RunRecorder.for_rank(
        rank, spec["run_id"], tracking_uri=spec["tracking_uri"], spool_dir=spec.get("spool_dir")
    )
    if rank == 0:
        recorder.set_tags(spec.get("tags", {}))
        recorder.log_params(spec.get("params", {}))
        recorder.log_config(logged_cfg)
    session = TrainSession(rank=rank, world_size=world, recorder=recorder)
    from detlab.tracking.params import redact

    # checkpoints carry the config text (meta): no secret of the environment in them either
    meta = dict(seed=int(spec["seed"]), config=redact(logged_cfg.pretty_text), exp_name=spec.get("name", ""))
    set_random_seed(int(spec["seed"]))
    interval = float(spec.get("system_metrics", 0) or 0)
    stop_sampling = _system_metrics(spec, ctx, recorder, interval) if interval > 0 else (lambda: None)
    try:
        with active(session), ddp_on_any_device():
            build_and_train(cfg, meta, distributed=True)
    except NonFiniteLossError as err:
        stop_sampling()
        recorder.finish("FAILED", error=err)
        return {"status": "failed", "error": one_line(err)}
    except BaseException as err:
        stop_sampling()
        recorder.finish("FAILED", error=err)
        raise
    finally:
        stop_sampling()
        if cfg.resume_from:  # the local copy of the checkpoint mmcv resumed from
            shutil.rmtree(osp.dirname(cfg.resume_from), ignore_errors=True)
    recorder.finish("FINISHED")
    return {
        "status": "finished",
        "report_times_s": session.report_times_s,
        "last_reported": session.last_reported,
        "world_size": world,
    }
