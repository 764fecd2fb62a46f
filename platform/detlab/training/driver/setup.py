"""Turn a config path + overrides into the merged mmcv Config a run trains with."""

from __future__ import annotations

import os
import os.path as osp
from collections.abc import Iterable, Mapping

import torch
from mmcv import Config

from detlab.config import load_config
from detlab.config.schedule import check_schedule
from detlab.errors import UserError


def pick_device(device: str | None = None) -> str:
    """``cuda`` when a GPU is visible, else ``cpu``; an explicit choice wins."""
    if device:
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


# What mmdet's `train_detector` reads from a config, so a config without one fails here, naming
# the key, instead of in every Ray worker with an AttributeError.
TRAINING_KEYS = ("model", "data.train", "data.val", "optimizer", "runner")


def check_training_keys(cfg: Config, config: str | os.PathLike) -> None:
    """UserError naming the config file and the first missing key a training needs."""
    for key in TRAINING_KEYS:
        node = cfg
        for part in key.split("."):
            node = node.get(part) if hasattr(node, "get") else None
            if node is None:
                break
        if node is None:
            raise UserError(
                f"{os.fspath(config)}: no `{key}` (a training config needs "
                f"{', '.join(TRAINING_KEYS)}; inherit them with _base_)"
            )


def prepare_config(
    config: str | os.PathLike,
    overrides: Mapping | Iterable[str] = (),
    *,
    work_dir: str | os.PathLike | None = None,
    seed: int = 0,
    device: str | None = None,
) -> Config:
    """Load ``config`` with ``--set`` overrides and fill in what mmdet's runner expects.

    Unknown override keys and schedule values out of range are errors (see ``detlab.config``). Sets ``work_dir``
    (default ``work_dirs/<config name>``), ``seed``, ``device`` and ``gpu_ids``.
    """
    cfg = load_config(config, overrides)
    check_training_keys(cfg, config)
    # before any MLflow run or Ray worker exists: a bad number is one line, nothing left behind
    check_schedule(cfg, source=f"{osp.basename(str(config))}:")
    name = osp.splitext(osp.basename(str(config)))[0]
    cfg.work_dir = osp.abspath(str(work_dir or osp.join("work_dirs", name)))
    cfg.seed = int(seed)
    cfg.device = pick_device(device)
    cfg.gpu_ids = [0]
    cfg.setdefault("resume_from", None)
    cfg.setdefault("load_from", None)
    return cfg
