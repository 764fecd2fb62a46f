"""Where one study keeps its state, so a second run of the same command can resume it.

    <storage>/<study>/                 Ray Tune's experiment folder (Tuner.restore reads it)
    <storage>/<study>/detlab/sweep.json  what this sweep was started with (spec, parent run, ...)
    <storage>/<study>/detlab/optuna.db   the default Optuna storage (optuna-dashboard opens it)
    <storage>/<study>/detlab/leaderboard.csv
    <storage>/<study>/train/<trial id>/  the Ray Train run of each trial (checkpoints, MLflow link)

Everything lives under one folder: on a cluster it must be shared storage, because
the trials write their Train runs there from any node.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from detlab.atomic import atomic_write_text
from detlab.errors import UserError
from detlab.subpath import SubPath

STORAGE_ENV = "DETLAB_SWEEP_STORAGE"


def default_storage(root: Path) -> Path:
    """$DETLAB_SWEEP_STORAGE, else `<repo>/sweeps`; inside a Ray job (whose working directory
    is a temporary copy) `~/detlab-sweeps`, so a resubmitted job finds what the first one left."""
    env = os.environ.get(STORAGE_ENV)
    if env:
        return Path(env).expanduser().resolve()
    if in_ray_job():
        return Path.home() / "detlab-sweeps"
    return root / "sweeps"


def in_ray_job() -> bool:
    """True when this process is the entrypoint of `ray job submit`."""
    return bool(os.environ.get("RAY_JOB_SUBMISSION_ID"))


@dataclass(frozen=True)
class StudyPaths:
    storage: Path
    name: str

    experiment_dir = SubPath("storage", "{name}")
    detlab_dir = SubPath("experiment_dir", "detlab")
    state_file = SubPath("detlab_dir", "sweep.json")
    optuna_db = SubPath("detlab_dir", "optuna.db")
    leaderboard = SubPath("detlab_dir", "leaderboard.csv")
    spool = SubPath("detlab_dir", "mlflow-spool")
    train_storage = SubPath("experiment_dir", "train")

    def archive(self) -> Path | None:
        """Move an earlier sweep of this study aside (`--fresh`); returns where it went."""
        if not self.experiment_dir.exists():
            return None
        target = self.storage / f"{self.name}.{time.strftime('%Y%m%d-%H%M%S')}"
        self.experiment_dir.rename(target)
        return target


@dataclass
class SweepState:
    """What the first run of a sweep decided; a resumed run must agree with it."""

    spec: dict[str, Any]
    parent_run_id: str
    tracking_uri: str
    optuna_storage: str | None
    optuna_study: str | None
    trainer: str
    created: float = field(default_factory=time.time)

    @classmethod
    def load(cls, paths: StudyPaths) -> SweepState | None:
        try:
            data = json.loads(paths.state_file.read_text())
        except FileNotFoundError:
            return None
        except ValueError as err:
            raise UserError(f"{paths.state_file}: unreadable sweep state ({err}); start over with --fresh") from None
        return cls(**data)

    def save(self, paths: StudyPaths) -> None:
        atomic_write_text(paths.state_file, json.dumps(asdict(self), indent=2, default=str))
