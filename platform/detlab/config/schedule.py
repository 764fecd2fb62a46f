"""Range checks on the numbers of a training schedule, before anything starts.

mmcv takes ``runner.max_epochs=-1`` without a word (the runner "trains" zero epochs and
the run ends FINISHED), ``optimizer.lr=0`` trains nothing, ``data.samples_per_gpu=0``
fails deep inside a DataLoader of every Ray worker. Each rule here names the key, the
value and the range, so a bad ``--set`` is one line before any MLflow run or Ray worker
exists. Keys a config does not have are skipped (not every config has every section).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from detlab.errors import UserError

# dotted key -> (kind, lowest, highest, lowest excluded); kind "int" or "number"
RULES: dict[str, tuple[str, float | None, float | None, bool]] = {
    "runner.max_epochs": ("int", 1, None, False),
    "runner.max_iters": ("int", 1, None, False),
    "total_epochs": ("int", 1, None, False),
    "optimizer.lr": ("number", 0, None, True),
    "optimizer.weight_decay": ("number", 0, None, False),
    "optimizer.momentum": ("number", 0, 1, False),
    "optimizer_config.grad_clip.max_norm": ("number", 0, None, True),
    "data.samples_per_gpu": ("int", 1, None, False),
    "data.workers_per_gpu": ("int", 0, None, False),
    "evaluation.interval": ("int", 1, None, False),
    "checkpoint_config.interval": ("int", 1, None, False),
    "checkpoint_config.max_keep_ckpts": ("int", -1, None, False),
    "log_config.interval": ("int", 1, None, False),
    "lr_config.warmup_iters": ("int", 0, None, False),
    "lr_config.warmup_ratio": ("number", 0, 1, True),
    "lr_config.gamma": ("number", 0, None, True),
    "lr_config.min_lr": ("number", 0, None, False),
    "lr_config.min_lr_ratio": ("number", 0, 1, False),
}
LIST_RULES: dict[str, tuple[str, int]] = {
    "lr_config.step": ("int", 0)
}  # every entry an int >= 0 (an int alone is allowed too)


def _get(cfg: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    node: Any = cfg
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _range(low: float | None, high: float | None, open_low: bool) -> str:
    if low is not None and high is not None:
        return f"in {'(' if open_low else '['}{low}, {high}]"
    return f"> {low}" if open_low else f">= {low}"


def schedule_problem(key: str, value: Any) -> str | None:
    """What is wrong with ``value`` at ``key`` (None when fine, or when no rule covers it)."""
    if key in LIST_RULES:
        _, least = LIST_RULES[key]
        items = value if isinstance(value, (list, tuple)) else [value]
        bad = [v for v in items if not _is_int(v) or v < least]
        return f"= {value!r}: each step must be an int >= {least}" if bad else None
    if key not in RULES or value is None:
        return None
    kind, low, high, open_low = RULES[key]
    ok_type = _is_int(value) if kind == "int" else _is_number(value)
    if not ok_type:
        return f"= {value!r}: must be {'an int' if kind == 'int' else 'a number'} {_range(low, high, open_low)}"
    too_low = low is not None and (value <= low if open_low else value < low)
    too_high = high is not None and value > high
    if too_low or too_high:
        return f"= {value!r}: must be {_range(low, high, open_low)}"
    return None


def check_schedule(cfg: Mapping[str, Any], *, source: str = "--set") -> None:
    """``UserError`` naming the first schedule value out of range, e.g.
    ``--set runner.max_epochs = -1: must be >= 1``."""
    root = getattr(cfg, "_cfg_dict", cfg)  # an mmcv Config is not a Mapping; its ConfigDict is
    for key in (*RULES, *LIST_RULES):
        found, value = _get(root, key)
        if found:
            problem = schedule_problem(key, value)
            if problem:
                raise UserError(f"{source} {key} {problem}".strip())
