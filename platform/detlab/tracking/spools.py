"""Where pending MLflow records are: the machine's spool, and spools older versions kept in run
folders, so a bare `detlab mlflow sync` / `detlab mlflow status` needs no path.

Every recorder writes to one spool per machine (``$DETLAB_MLFLOW_SPOOL``, else
``~/.cache/detlab/mlflow-spool``). Earlier versions kept a spool per run folder
(``<storage>/<run>/detlab/mlflow-spool`` and ``<study>/detlab/mlflow-spool``); those
under the default train and sweep storage are found too.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from detlab.tracking.journal import Journal
from detlab.tracking.recorder import default_spool_dir

SPOOL_NAME = "mlflow-spool"
MAX_DEPTH = 6  # <sweeps>/<study>/train/<trial>/detlab/mlflow-spool is 5 below the storage


def _checkout(base: Path) -> Path:
    """The nearest folder at or above ``base`` holding a pyproject.toml, else ``base``."""
    return next((p for p in (base, *base.parents) if (p / "pyproject.toml").is_file()), base)


def default_storages(cwd: str | os.PathLike | None = None) -> list[Path]:
    """The default train and sweep storage folders as seen from ``cwd`` (those that exist):
    ``work_dirs/ray_train``, ``<checkout>/sweeps``, $DETLAB_SWEEP_STORAGE, ``~/detlab-sweeps``."""
    base = Path(cwd or os.getcwd()).resolve()
    root = _checkout(base)
    env = os.environ.get("DETLAB_SWEEP_STORAGE")
    found = [
        base / "work_dirs" / "ray_train",
        root / "work_dirs" / "ray_train",
        root / "sweeps",
        Path.home() / "detlab-sweeps",
        *([Path(env).expanduser()] if env else []),
    ]
    return list(dict.fromkeys(p.resolve() for p in found if p.is_dir()))


def run_folder_spools(storages: Iterable[Path]) -> list[Path]:
    """``.../detlab/mlflow-spool`` folders under ``storages`` (at most MAX_DEPTH levels down)."""
    out: list[Path] = []
    for storage in storages:
        for dirpath, dirnames, _ in os.walk(storage):
            here = Path(dirpath)
            depth = len(here.relative_to(storage).parts)
            if here.name == SPOOL_NAME and here.parent.name == "detlab":
                out.append(here)
                dirnames[:] = []
            elif depth >= MAX_DEPTH:
                dirnames[:] = []
            else:  # never into checkpoints, datasets or Ray's own state
                dirnames[:] = [d for d in dirnames if not d.startswith((".", "checkpoint_"))]
    return sorted(set(out))


def all_spools(cwd: str | os.PathLike | None = None) -> list[Path]:
    """The machine's spool first, then run-folder spools; only those that exist."""
    spools = [default_spool_dir(), *run_folder_spools(default_storages(cwd))]
    return [s for s in dict.fromkeys(spools) if s.is_dir()]


@dataclass
class PendingRun:
    """One run with records not yet delivered."""

    run_id: str
    spool: Path
    sessions: int
    pending_ops: int
    metric_points: int
    tracking_uri: str
    busy: bool  # a live process owns a session (it is still sending)

    def line(self) -> str:
        state = "being sent by a live process" if self.busy else "waiting for `detlab mlflow sync`"
        return (
            f"run {self.run_id}: {self.pending_ops} records ({self.metric_points} metric points) in "
            f"{self.sessions} session(s), {state}; for {self.tracking_uri or '?'}; spool {self.spool}"
        )


def pending_runs(spools: Iterable[Path]) -> list[PendingRun]:
    """Runs with undelivered records in ``spools`` (read only: nothing is claimed or sent)."""
    runs: dict[tuple[Path, str], PendingRun] = {}
    for spool in spools:
        for j in Journal.sessions(spool):
            try:
                header, ops = j.pending()
            except OSError:  # delivered and removed while listing
                continue
            if not ops:
                continue
            busy = _owned(j.lock_path)
            key = (spool, j.run_dir.name)
            run = runs.setdefault(
                key, PendingRun(j.run_dir.name, spool, 0, 0, 0, header.get("tracking_uri", ""), False)
            )
            run.sessions += 1
            run.pending_ops += len(ops)
            run.metric_points += sum(len(op.get("metrics", ())) for op in ops)
            run.busy = run.busy or busy
    return list(runs.values())


def _owned(lock_path: Path) -> bool:
    """Whether a live process holds the session's lock (tested without creating the file)."""
    try:
        fd = os.open(lock_path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)
