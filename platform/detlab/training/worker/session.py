"""The live objects of one training process that mmcv hooks need but configs cannot carry.

mmdet's ``train_detector`` deep-copies the config (``compat_cfg``) and builds
the hooks from it, so a hook cannot be handed an MLflow recorder (a thread and
a journal) through ``custom_hooks``. The process that trains opens a
``TrainSession`` around ``train_detector``; the hooks look it up. Outside a
session (plain ``train_local``) the hooks fall back to doing nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from detlab.tracking import NullRecorder


@dataclass
class TrainSession:
    rank: int = 0
    world_size: int = 1
    recorder: Any = field(default_factory=NullRecorder)  # RunRecorder on rank 0, else NullRecorder
    report_times_s: list[float] = field(default_factory=list)  # duration of each ray.train.report
    last_reported: dict[str, Any] = field(default_factory=dict)


_current: TrainSession | None = None


def current() -> TrainSession | None:
    return _current


@contextlib.contextmanager
def active(session: TrainSession) -> Iterator[TrainSession]:
    """Make ``session`` the one the hooks of this process see."""
    global _current
    previous, _current = _current, session
    try:
        yield session
    finally:
        _current = previous
