"""The link between a Ray Train run folder and its MLflow run, kept in the folder itself.

``<storage>/<name>/detlab/run.json`` holds the MLflow run id, tracking URI and what
the run was started with. A resumed run (``--resume``, or a retried Tune trial
calling ``fit`` again with the same name) reads it and records into the same
MLflow run; Ray finds its own checkpoints in the same folder.
"""

from __future__ import annotations

import json
import os
import os.path as osp
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from detlab.atomic import atomic_write_text
from detlab.errors import UserError

RECORD = osp.join("detlab", "run.json")


@dataclass
class RunRecord:
    run_id: str
    tracking_uri: str
    experiment: str
    config: str
    overrides: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    created: float = field(default_factory=time.time)

    @staticmethod
    def path(run_dir: str) -> str:
        return osp.join(run_dir, RECORD)

    @classmethod
    def load(cls, run_dir: str) -> RunRecord | None:
        try:
            with open(cls.path(run_dir), encoding="utf-8") as f:
                return cls(**json.load(f))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as err:
            raise UserError(f"{cls.path(run_dir)}: unreadable run record ({err})") from None

    def save(self, run_dir: str) -> None:
        atomic_write_text(self.path(run_dir), json.dumps(asdict(self), indent=2, default=str))


def latest_run_dir(storage: str, prefix: str) -> str | None:
    """The most recently created run folder under ``storage`` named ``<prefix>-*`` with a record."""
    if not osp.isdir(storage):
        return None
    found = []
    for entry in os.scandir(storage):
        if entry.is_dir() and entry.name.startswith(prefix + "-"):
            record = RunRecord.load(entry.path)
            if record is not None:
                found.append((record.created, entry.path))
    return max(found)[1] if found else None
