"""`dataset.root` of a study -> config overrides, and synthetic data for smoke sweeps.

A study names its data by root; configs name every path under their `data_root`
(`data.train.ann_file = data_root + 'ImageSets/trainval.txt'`, ...). The trial
overrides rebase each such path onto the study's root, so the same spec runs on a
laptop (relative root) and a cluster (absolute root on shared storage).
"""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import Any

from detlab.atomic import is_complete, read_marker
from detlab.config import load_config
from detlab.config.data_paths import rebase_data_paths
from detlab.errors import UserError
from detlab.specs import StudySpec
from detlab.specs.ablation import AblationSpec
from detlab.specs.ablation_cells import ResolvedCell


def dataset_root(spec: StudySpec) -> Path | None:
    return spec.resolve(spec.dataset.root) if spec.dataset.root else None


def dataset_overrides(spec: StudySpec, cfg: Any) -> dict[str, str]:
    """Overrides that move every data path of `cfg` (spec overrides applied) from the config's
    `data_root` to the study's root; {} when the spec keeps the config's paths."""
    return _rebase(cfg, dataset_root(spec), source=spec.source, base_config=spec.base_config)


def cell_data_overrides(spec: AblationSpec, cell: ResolvedCell) -> dict[str, str]:
    """The same for one ablation cell, against that cell's own config (cells may name their
    paths differently); {} when the ablation keeps the configs' paths."""

    root = spec.resolve(spec.dataset.root) if spec.dataset.root else None
    if root is None:
        return {}
    cfg = load_config(cell.config, cell.overrides, import_custom_modules=False)
    return _rebase(cfg, root, source=spec.source, base_config=cell.base_config)


def _rebase(cfg: Any, root: Path | None, *, source: str, base_config: str) -> dict[str, str]:
    if root is None:
        return {}
    old = cfg.get("data_root")
    if not isinstance(old, str) or not old:
        raise UserError(
            f"{source}: dataset.root: {base_config} has no data_root to replace; "
            "set the data paths in overrides instead"
        )
    return rebase_data_paths(cfg, old, root)


def ensure_synthetic(dataset: str, root: str | Path, images: int, seed: int = 0) -> Path:
    """Generate `images` synthetic images of `dataset` at `root` unless a complete set is there.

    Safe to call from several trials at once (a lock file beside the root); `synth_dataset`
    writes all or nothing, so an interrupted generation leaves no half set behind. Called on
    the driver and again in each trial, so every node of a cluster has its own copy.
    """

    root = Path(root)
    if is_complete(root):
        _warn_if_other_set(root, dataset, images, seed)
        return root
    from detlab.data.synth import synth_dataset

    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one writer per node; the others wait, then find it complete
        if not is_complete(root):
            synth_dataset(dataset, root, images, seed=seed, progress=False)
    return root


def _warn_if_other_set(root: Path, dataset: str, images: int, seed: int) -> None:
    """A complete set made with other settings (e.g. `make train`'s 16 images) is used, and said so."""
    import sys

    try:
        meta = read_marker(root)
    except (OSError, ValueError):
        return
    made = (meta.get("dataset"), meta.get("images"), meta.get("seed"))
    if made != (dataset, images, seed):
        print(
            f"note: {root} already holds a synthetic {made[0]} set of {made[1]} images (seed {made[2]}); "
            f"using it, not {images} images (seed {seed}): remove it to regenerate",
            file=sys.stderr,
        )


def check_data_exists(spec: StudySpec) -> None:
    """A missing root fails before any trial starts (with the flag that would generate it)."""
    root = dataset_root(spec)
    if root is not None and not root.exists():
        raise UserError(
            f"{spec.source}: dataset.root: {root} does not exist (for a synthetic smoke set add --synth-images N)"
        )
