"""Checks on the driver before any worker starts: a bad config value or a missing dataset
path fails in seconds with one line naming it, instead of inside every Ray worker
(where each attempt would be retried from scratch).

Also makes the data paths absolute: Ray workers do not run in the driver's directory.
"""

from __future__ import annotations

import os
import os.path as osp
from dataclasses import dataclass, field

from detlab.config.data_paths import PATH_KEYS as DATA_PATH_KEYS
from detlab.config.data_paths import split_datasets
from detlab.config.schedule import check_schedule
from detlab.errors import UserError
from detlab.tracking.client import one_line

PATH_KEYS = (*DATA_PATH_KEYS, "data_root")
REQUIRED_KEYS = ("ann_file", "img_prefix")


@dataclass
class DataPaths:
    """What identifies the data of a run (for the dataset fingerprint tag and the MLflow dataset
    inputs): all paths together, and per split (train, val) with the dataset's name."""

    annotations: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    splits: dict[str, tuple[str, list[str], list[str]]] = field(default_factory=dict)  # name, anns, images


def absolutize_data_paths(cfg, base: str | os.PathLike | None = None) -> None:
    """Relative data paths that exist under ``base`` (default: the working directory) become
    absolute, keeping a trailing slash (mmrotate joins some of them by string)."""
    base = os.fspath(base or os.getcwd())
    for _, node in split_datasets(cfg):
        for key in PATH_KEYS:
            value = node.get(key)
            if isinstance(value, str) and value and not osp.isabs(value) and osp.exists(osp.join(base, value)):
                absolute = osp.abspath(osp.join(base, value))
                node[key] = absolute + ("/" if value.endswith("/") else "")


def check_data_paths(cfg, splits: tuple[str, ...] = ("train", "val")) -> None:
    """``UserError`` naming the first missing ``ann_file`` / ``img_prefix`` of the splits trained on."""
    for name, node in split_datasets(cfg):
        if name.split(".")[1] not in splits:
            continue
        for key in REQUIRED_KEYS:
            value = node.get(key)
            if isinstance(value, str) and value and not osp.exists(value):
                raise UserError(f"dataset path not found: {name}.{key} = {value} (set it with --set {name}.{key}=PATH)")


def check_builds(cfg) -> DataPaths:
    """Build the model, the optimizer and the train/val datasets, and read the val ground truth,
    as the workers will; any failure becomes one line saying which part of the config is bad."""
    from mmdet.core import build_optimizer
    from mmrotate.datasets import build_dataset
    from mmrotate.models import build_detector

    import refined_det.register  # noqa: F401  (registers the plugins and strict datasets)
    from detlab.training.worker.val_eval import _hrsc_ann_dir, dataset_kind, load_val_set

    def attempt(what: str, fn):
        try:
            return fn()
        except UserError as err:
            raise UserError(f"bad config: {what}: {err}") from None
        except Exception as err:
            if type(err).__name__ == "AnnotationError":  # the data, not the config, is bad
                raise UserError(f"bad data ({what}): {str(err).strip().splitlines()[0]}") from None
            raise UserError(f"bad config: cannot build {what}: {one_line(err)}") from None

    model = attempt(
        "the model (model.*)",
        lambda: build_detector(cfg.model, train_cfg=cfg.get("train_cfg"), test_cfg=cfg.get("test_cfg")),
    )
    attempt("the optimizer (optimizer.*)", lambda: build_optimizer(model, cfg.optimizer))
    train = attempt("data.train", lambda: build_dataset(cfg.data.train))
    val = attempt("data.val", lambda: build_dataset(cfg.data.val, dict(test_mode=True)))
    attempt("the val ground truth (data.val.*)", lambda: load_val_set(val))

    paths = DataPaths()
    for split, ds in (("train", train), ("val", val)):
        ds = getattr(ds, "dataset", ds)  # RepeatDataset & co.
        anns, images = [], []
        if osp.exists(str(ds.ann_file)):
            anns.append(str(ds.ann_file))
        if dataset_kind(ds) == "hrsc2016":
            anns.append(_hrsc_ann_dir(ds))
        if ds.img_prefix and osp.isdir(ds.img_prefix):
            images.append(ds.img_prefix)
        paths.annotations += anns
        paths.images += images
        if anns:
            paths.splits[split] = (
                f"{dataset_kind(ds)}-{split}",
                [osp.normpath(a) for a in anns],
                [osp.normpath(i) for i in images],
            )
    paths.annotations = sorted(set(map(osp.normpath, paths.annotations)))
    paths.images = sorted(set(map(osp.normpath, paths.images)))
    return paths


def check_device(cfg) -> None:
    """mmcv's fp16 hook (the config's AMP switch, ``fp16 = dict(loss_scale=...)``) needs CUDA."""
    if cfg.get("fp16") and cfg.get("device") == "cpu":
        raise UserError(
            "bad config: fp16 (mixed precision) needs GPUs: remove it (--set fp16=None) "
            "or train with --gpus-per-worker > 0"
        )


def preflight(cfg) -> DataPaths:
    """All checks, in the order a user would fix them."""
    check_schedule(cfg, source="bad config:")  # prepare_config checked them; a caller may have changed cfg
    check_device(cfg)
    absolutize_data_paths(cfg)
    check_data_paths(cfg)
    return check_builds(cfg)
