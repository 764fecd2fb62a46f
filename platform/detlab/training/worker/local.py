"""Single-process training with mmdet's own ``train_detector`` (what ``tools/train.py`` runs).

Used by the main command and the tests; the Ray Train runner reuses the same
config preparation and hooks.
"""

from __future__ import annotations

import logging
import time

import mmcv
from mmcv import Config
from mmcv.runner import set_random_seed
from mmdet.apis import train_detector
from mmrotate.datasets import build_dataset
from mmrotate.models import build_detector

import refined_det.register  # noqa: F401  (registers the plugins)
from detlab.training.hooks import progress as progress_hooks  # noqa: F401  (registers the hooks)
from detlab.training.hooks.evaluation import eval_hook_cfg


def build_for_training(cfg: Config):
    """Model (weights initialised) and training dataset from the merged config."""
    model = build_detector(cfg.model, train_cfg=cfg.get("train_cfg"), test_cfg=cfg.get("test_cfg"))
    # mmcv logs every parameter's initialisation at INFO: keep the console readable.
    logger = logging.getLogger("mmcv")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    dataset = build_dataset(cfg.data.train)
    model.CLASSES = dataset.CLASSES
    return model, dataset


def build_and_train(cfg: Config, meta: dict, *, distributed: bool) -> None:
    """Build the model and dataset, then run mmdet's ``train_detector`` (validation is our hook's job)."""
    model, dataset = build_for_training(cfg)
    train_detector(
        model,
        dataset,
        cfg,
        distributed=distributed,
        validate=False,
        timestamp=time.strftime("%Y%m%d_%H%M%S", time.localtime()),
        meta=meta,
    )


def train_local(cfg: Config, *, progress: bool = True, validate: bool = False):
    """Train ``cfg`` in this process (CPU or one GPU); returns the mmcv runner's meta.

    ``validate=True`` evaluates the val set at ``evaluation.interval`` with the platform's
    evaluator (``DetlabEvalHook``, the one Ray Train workers use)."""
    mmcv.mkdir_or_exist(cfg.work_dir)
    set_random_seed(cfg.seed, deterministic=False)
    cfg.custom_hooks = list(cfg.get("custom_hooks", [])) + [
        dict(type="AssignStatsHook"),
        dict(type="ProgressBarHook", disable=not progress),
    ]
    if validate:
        cfg.custom_hooks = list(cfg.custom_hooks) + [eval_hook_cfg(cfg)]
    from detlab.tracking.params import redact

    meta = dict(seed=cfg.seed, config=redact(cfg.pretty_text))  # checkpoints hold it: no env secrets
    build_and_train(cfg, meta, distributed=False)
    return meta
