"""Where a config keeps its data paths: one walker over the splits' dataset nodes (through
wrappers such as RepeatDataset), and the rebasing of those paths onto another root. Used by
the sweep and the ablations (a study's `dataset.root`) and by training's preflight."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

SPLITS = ("train", "val", "test")
PATH_KEYS = ("ann_file", "img_prefix", "ann_subdir", "img_subdir")

__all__ = ["SPLITS", "PATH_KEYS", "split_datasets", "rebase_data_paths"]


def split_datasets(cfg: Any) -> Iterator[tuple[str, Any]]:
    """(dotted key, dataset config) for each split the config has, e.g. ("data.train.dataset", node)
    when the train split is wrapped in a RepeatDataset."""
    for split in SPLITS:
        node, key = cfg.data.get(split), f"data.{split}"
        while node is not None and "dataset" in node and "ann_file" not in node:
            node, key = node["dataset"], f"{key}.dataset"
        if node is not None:
            yield key, node


def rebase_data_paths(cfg: Any, old_root: str, new_root: Path) -> dict[str, str]:
    """Overrides moving every data path of `cfg` under `old_root` (its `data_root`) to `new_root`."""
    new = str(new_root).rstrip("/") + "/"
    old_slash = old_root.rstrip("/") + "/"
    out: dict[str, str] = {}
    for prefix, node in split_datasets(cfg):
        for key in PATH_KEYS:
            value = node.get(key)
            if isinstance(value, str) and value.startswith(old_slash):
                out[f"{prefix}.{key}"] = new + value[len(old_slash) :]
            elif isinstance(value, str) and value.rstrip("/") == old_root.rstrip("/"):
                out[f"{prefix}.{key}"] = new
    return out
