"""What a run needs to be reproducible: code version, package versions, data identity,
and the config as flat dotted params.

Collected on the driver (it has the git checkout; Ray workers get a copy without
`.git`) and passed to `RunRecorder.create_run(tags=...)`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.metadata
import os
import socket
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

# distribution names (what `pip` calls them) -> tag suffix
PACKAGES = {
    "torch": "torch",
    "torchvision": "torchvision",
    "mmcv-full": "mmcv",
    "mmdet": "mmdet",
    "mmrotate": "mmrotate",
    "ray": "ray",
    "optuna": "optuna",
    "mlflow": "mlflow",
    "numpy": "numpy",
}

# Config values worth a param of their own even when no --set touched them.
# Globs over dotted keys; `model.train_cfg.assigner.*` covers radius, k and IoU thresholds.
DEFAULT_PARAM_PATTERNS = (
    "model.type",
    "model.backbone.type",
    "model.neck.type",
    "model.bbox_head.type",
    "model.bbox_head.*.type",
    "model.bbox_head.use_*",
    "model.bbox_head.with_*",
    "model.bbox_head.fr*",
    "model.*frhead*",
    "model.*.frhead*",
    "model.*fr_head*",
    "model.*.fr_head*",
    "model.train_cfg.assigner.*",
    "model.train_cfg.*.assigner.*",
    "model.train_cfg.cla*",
    "model.train_cfg.*.cla*",
    "model.test_cfg.*",
    "optimizer.type",
    "optimizer.lr",
    "optimizer.momentum",
    "optimizer.weight_decay",
    "lr_config.*",
    "runner.*",
    "total_epochs",
    "evaluation.interval",
    "evaluation.metric",
    "data.samples_per_gpu",
    "data.workers_per_gpu",
    "angle_version",
    "dataset_type",
)


# -- params -----------------------------------------------------------------
def to_plain(cfg: Any) -> Any:
    """mmcv Config / ConfigDict / Mapping -> plain dicts and lists (duck-typed: no mmcv import)."""
    if hasattr(cfg, "_cfg_dict"):  # mmcv.Config
        cfg = cfg._cfg_dict
    if hasattr(cfg, "to_dict"):  # mmcv.ConfigDict
        cfg = cfg.to_dict()
    if isinstance(cfg, Mapping):
        return {str(k): to_plain(v) for k, v in cfg.items()}
    if isinstance(cfg, (list, tuple)):
        return [to_plain(v) for v in cfg]
    return cfg


def flatten(cfg: Any, prefix: str = "", *, expand_lists: bool = True) -> dict[str, Any]:
    """Nested dict/Config -> {"model.train_cfg.assigner.radius": 0.6, ...}.

    Lists holding dicts (pipelines, multiple heads) are expanded by index
    (`data.train.pipeline.0.type`); lists of scalars stay one value.
    """
    out: dict[str, Any] = {}
    node = to_plain(cfg)

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict) and value:
            for k, v in value.items():
                walk(v, f"{key}.{k}" if key else k)
        elif expand_lists and isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
            for i, v in enumerate(value):
                walk(v, f"{key}.{i}" if key else str(i))
        elif key:
            out[key] = value

    walk(node, prefix)
    return out


def select_params(cfg: Any, patterns: Iterable[str] = DEFAULT_PARAM_PATTERNS) -> dict[str, Any]:
    """The flattened config entries whose dotted key matches one of `patterns` (fnmatch)."""
    pats = list(patterns)
    return {k: v for k, v in flatten(cfg).items() if any(fnmatch.fnmatchcase(k, p) for p in pats)}


def run_params(
    overrides: Mapping[str, Any] | None, cfg: Any, patterns: Iterable[str] = DEFAULT_PARAM_PATTERNS
) -> dict[str, Any]:
    """Params of a training run: the main config values, then the `--set` overrides on top
    (an override of a nested dict is flattened too)."""
    params = select_params(cfg, patterns) if cfg is not None else {}
    for k, v in (overrides or {}).items():
        if isinstance(v, Mapping):
            params.update(flatten(v, k))
        else:
            params[k] = v
    return params


# -- tags -------------------------------------------------------------------
def git_info(path: str | os.PathLike | None = None) -> dict[str, str]:
    """{"git.commit": sha, "git.dirty": "true"/"false", "git.branch": name}, {} outside a checkout."""
    cwd = Path(path) if path else Path.cwd()

    def git(*args: str) -> str | None:
        try:
            r = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return r.stdout.strip() if r.returncode == 0 else None

    sha = git("rev-parse", "HEAD")
    if not sha:
        return {}
    # tracked files only: untracked scratch files don't change what the code does
    dirty = git("status", "--porcelain", "--untracked-files=no")
    info = {
        "git.commit": sha,
        "mlflow.source.git.commit": sha,
        "git.dirty": "unknown" if dirty is None else str(bool(dirty)).lower(),
    }
    branch = git("rev-parse", "--abbrev-ref", "HEAD")
    if branch:
        info["git.branch"] = branch
    return info


def package_versions() -> dict[str, str]:
    """{"versions.torch": "2.14.1", ..., "versions.python": "3.11.x"}; missing ones are omitted."""
    out = {"versions.python": sys.version.split()[0]}
    for dist, name in PACKAGES.items():
        try:
            out[f"versions.{name}"] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def dataset_fingerprint(annotations: Iterable[str | os.PathLike], images: Iterable[str | os.PathLike] = ()) -> str:
    """`sha256:<16 hex>` identifying a dataset.

    Annotation files (DOTA label txt, HRSC xml: small) are hashed by *content* with
    their path relative to the root given, so the fingerprint survives copies that
    change mtimes (rsync, git checkout) but not an edited label. Image trees (large)
    count by relative name and size only: catches missing, added or truncated images
    without reading gigabytes. File order does not matter.
    """
    h = hashlib.sha256()
    for kind, roots, by_content in (("ann", annotations, True), ("img", images, False)):
        for root in roots:
            root = Path(root)
            for rel, f in _files(root):
                h.update(f"{kind}\0{rel}\0".encode())
                if by_content:
                    with open(f, "rb") as fh:
                        for chunk in iter(lambda: fh.read(1 << 20), b""):
                            h.update(chunk)
                else:
                    h.update(str(f.stat().st_size).encode())
                h.update(b"\n")
    return "sha256:" + h.hexdigest()[:16]


def _files(root: Path) -> list[tuple[str, Path]]:
    if root.is_file():
        return [(root.name, root)]
    if not root.exists():
        raise FileNotFoundError(f"dataset path not found: {root}")
    files = [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")]
    return sorted((p.relative_to(root).as_posix(), p) for p in files)


def run_context_tags(
    repo: str | os.PathLike | None = None,
    *,
    annotations: Iterable[str | os.PathLike] = (),
    images: Iterable[str | os.PathLike] = (),
) -> dict[str, str]:
    """All context tags of a run: git, versions, host, dataset fingerprint (when paths given)."""
    tags = {**git_info(repo), **package_versions(), "host": socket.gethostname()}
    annotations = list(annotations)
    if annotations:
        tags["dataset.fingerprint"] = dataset_fingerprint(annotations, images)
    return tags
