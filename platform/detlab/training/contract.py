"""What every trainer takes and gives: `FitRequest` in, `FitOutcome` out (the `Trainer` protocol).

The detector (`training.ray_trainer.train`), the toy objective (`sweep.toy.train`) and the
grid-of-cells wrapper (`sweep.cell_trainer.train_cells`) implement it; a sweep trial builds
one request and calls whichever trainer the study runs with. Options only one trainer has
(the detector's hooks, checkpoints kept, ...) are that trainer's own keyword arguments.
"""

from __future__ import annotations

import os
import os.path as osp
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from detlab.config import parse_override
from detlab.limits import PLACEMENT_TIMEOUT_S
from detlab.specs.study import CellGrid


def normalize_overrides(overrides: Mapping[str, Any] | Iterable[str] | None) -> dict[str, Any]:
    """``["a.b=1", ...]`` or ``{"a.b": 1}`` -> ``{"a.b": 1}`` (typed, order kept)."""
    if not overrides:
        return {}
    if isinstance(overrides, str):
        raise TypeError("overrides must be a mapping or a list of 'KEY=VALUE' strings, not one string")
    if isinstance(overrides, Mapping):
        return dict(overrides)
    return dict(parse_override(o) for o in overrides)


@dataclass(frozen=True)
class CellRun:
    """The cell a grid-of-cells trial trains (an ablation's or a confirmation's): which grid, which cell."""

    grid: CellGrid
    name: str


@dataclass
class FitRequest:
    """One training run: what to train, on which workers, where its folder and MLflow run live.

    ``name`` is the run folder under ``storage_path``; a folder that already has a run record is
    continued (``resume``: True requires one, False refuses one, None continues it if present,
    which a retried Tune trial needs). ``placement_timeout_s`` bounds the wait for the workers'
    placement (all start tries together); ``max_failures`` the worker-group restarts.
    """

    config: str
    overrides: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    workers: int = 1
    gpus_per_worker: float = 0.0
    cpus_per_worker: float = 1.0
    mlflow_uri: str | None = None
    experiment: str | None = None
    parent_run_id: str | None = None
    run_name: str | None = None
    storage_path: str | None = None
    name: str | None = None
    resume: bool | None = None
    max_failures: int = 3
    placement_timeout_s: float = PLACEMENT_TIMEOUT_S
    callbacks: Sequence[Any] = ()  # Ray Train callbacks (a Tune trial's report callback)
    cell: CellRun | None = None

    def __post_init__(self) -> None:
        self.config = osp.abspath(os.fspath(self.config))
        self.overrides = normalize_overrides(self.overrides)
        if self.storage_path is not None:
            self.storage_path = os.fspath(self.storage_path)

    @property
    def stem(self) -> str:
        """The config's file name without .py: the default experiment and run-name prefix."""
        return osp.splitext(osp.basename(self.config))[0]


@dataclass
class FitOutcome:
    """What a finished training gives back (a failed one raises ``UserError`` instead)."""

    run_id: str
    name: str
    path: str  # the run folder
    tracking_uri: str
    metrics: dict[str, Any]  # the last report


class Trainer(Protocol):
    """A trainer: trains (or continues) ``request``'s run, ends its MLflow run, and returns the outcome."""

    def __call__(self, request: FitRequest, /) -> FitOutcome: ...
