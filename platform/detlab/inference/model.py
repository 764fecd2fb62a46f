"""Build the detector a checkpoint was trained as, and refuse a checkpoint that does not fit.

mmcv's ``load_checkpoint(strict=False)`` only warns about missing or unexpected
weights, so a checkpoint of another config would quietly test a half-random
model; ``strict=True`` fails with a page of key names. Here the state dict is
compared with the model's first, and a mismatch is one line naming both files.
"""

from __future__ import annotations

import os.path as osp
from collections.abc import Iterable

from detlab.errors import UserError


def load_test_config(config: str, overrides: Iterable[str] = (), device: str = "cpu"):
    """The merged config with ``--set`` overrides, ready for testing (no pretrained download)."""
    from detlab.config import load_config

    cfg = load_config(config, list(overrides))
    cfg.model.pretrained = None
    if cfg.model.get("backbone", {}).get("init_cfg") is not None:
        cfg.model.backbone.init_cfg = None  # the checkpoint brings every weight
    cfg.model.train_cfg = None
    cfg.device = device
    return cfg


def _read_checkpoint(path: str) -> dict:
    import torch

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:
        raise UserError(f"{path}: not a readable PyTorch checkpoint ({type(err).__name__})") from None
    if not isinstance(ckpt, dict):
        raise UserError(f"{path}: not a checkpoint (a {type(ckpt).__name__}, expected a dict)")
    return ckpt


def check_fit(model, state: dict, checkpoint: str, config: str) -> None:
    """One-line error when ``state`` is not a complete, same-shaped set of ``model``'s weights."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    if not (missing or unexpected or shapes):
        return
    parts = []
    if missing:
        parts.append(f"{len(missing)} weights missing (e.g. {missing[0]})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
    if shapes:
        k = shapes[0]
        parts.append(
            f"{len(shapes)} of another shape (e.g. {k}: {tuple(state[k].shape)} in the "
            f"checkpoint, {tuple(own[k].shape)} in the config)"
        )
    raise UserError(f"checkpoint {checkpoint} does not fit config {osp.basename(config)}: " + "; ".join(parts))


def build_model(cfg, checkpoint: str, config_path: str, classes=None):
    """The detector of ``cfg`` with the weights of ``checkpoint``, in eval mode, on ``cfg.device``.

    ``model.CLASSES``: ``classes`` if given, else the checkpoint's meta, else the test dataset's."""
    from mmrotate.models import build_detector

    import refined_det.register  # noqa: F401  (registers the plugins)

    ckpt = _read_checkpoint(checkpoint)
    state = ckpt.get("state_dict", ckpt)
    state = {k[7:] if k.startswith("module.") else k: v for k, v in state.items()}
    try:
        model = build_detector(cfg.model, test_cfg=cfg.get("test_cfg"))
    except (KeyError, TypeError, ValueError) as err:
        raise UserError(f"{config_path}: cannot build the model ({err})") from None
    check_fit(model, state, checkpoint, config_path)
    model.load_state_dict(state, strict=True)
    meta_classes = (ckpt.get("meta") or {}).get("CLASSES")
    model.CLASSES = tuple(classes or meta_classes or _dataset_classes(cfg))
    model.cfg = cfg  # mmdet's inference_detector reads the test pipeline from here
    model.to(cfg.device)
    model.eval()
    return model


def _dataset_classes(cfg) -> tuple[str, ...]:
    from mmdet.datasets import DATASETS
    from mmrotate.datasets import build_dataset  # noqa: F401  (registry)
    from mmrotate.datasets.builder import ROTATED_DATASETS

    ds = cfg.data.test
    cls = ROTATED_DATASETS.get(ds.type) or DATASETS.get(ds.type)
    return tuple(getattr(cls, "CLASSES", ()) or ())
