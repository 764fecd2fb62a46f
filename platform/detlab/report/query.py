"""The runs of an ablation, from MLflow alone, one per (cell, seed).

Runs are found by their cell tags (`detlab.ablate.*`, set when the run is created),
not by parent run, so an ablation resumed, restarted with `--fresh` or extended with
more seeds still gives one table. Only runs of the cell's current fingerprint count:
a changed config is a different cell. When a (cell, seed) has several runs (a
resumed driver that ran a trial twice, a reused copy), one is picked, so a seed is
never counted twice: a FINISHED run first (an original before a reused copy, then the
latest), else a RUNNING one, else the latest that failed or was killed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from detlab.tracking.ablation_tags import TAG_ABLATION, TAG_CELL, TAG_FINGERPRINT, TAG_REUSED, TAG_SEED, TAG_TRAINER

__all__ = ["RunInfo", "fetch_runs", "pick_runs", "latest_parent", "experiment_id"]

PRIORITY = {"finished": 0, "running": 1, "failed": 2, "killed": 3, "pruned": 4}


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    cell: str
    seed: int
    fingerprint: str
    status: str  # finished | running | failed | killed | pruned
    metrics: dict[str, float] = field(default_factory=dict)  # last value of each metric
    error: str = ""
    start_time: int = 0
    reused_from: str | None = None
    parent_run_id: str | None = None
    protocol: dict[str, str] = field(default_factory=dict)  # its protocol.* tags, without the prefix

    def value(self, metric: str) -> float | None:
        v = self.metrics.get(metric)
        return float(v) if v is not None and math.isfinite(float(v)) else None


def experiment_id(client: Any, experiment: str) -> str | None:
    exp = client.get_experiment_by_name(experiment)
    return exp.experiment_id if exp is not None else None


def fetch_runs(client: Any, experiment: str, ablation: str, trainer: str) -> list[RunInfo]:
    """Every run tagged with this ablation and trainer (all fingerprints; `pick_runs` filters)."""
    exp_id = experiment_id(client, experiment)
    if exp_id is None:
        return []
    where = f"tags.`{TAG_ABLATION}` = '{ablation}' and tags.`{TAG_TRAINER}` = '{trainer}'"
    out, token = [], None
    while True:
        page = client.search_runs([exp_id], filter_string=where, max_results=1000, page_token=token)
        out += [_info(r) for r in page]
        token = getattr(page, "token", None)
        if not token:
            return out


def pick_runs(runs: Iterable[RunInfo], fingerprints: dict[str, str]) -> dict[tuple[str, int], RunInfo]:
    """(cell, seed) -> the one run that stands for it, among runs of the cell's current fingerprint."""
    best: dict[tuple[str, int], RunInfo] = {}
    for run in runs:
        if fingerprints.get(run.cell) != run.fingerprint:
            continue
        key = (run.cell, run.seed)
        if key not in best or _rank(run) < _rank(best[key]):
            best[key] = run
    return best


def latest_parent(client: Any, experiment: str, ablation: str) -> Any | None:
    """The newest parent (study) run of the ablation: where the report and its plots go."""
    exp_id = experiment_id(client, experiment)
    if exp_id is None:
        return None
    runs = client.search_runs(
        [exp_id],
        filter_string=f"tags.`detlab.study` = '{ablation}'",
        order_by=["attributes.start_time DESC"],
        max_results=50,
    )
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    return parents[0] if parents else None


def _rank(run: RunInfo) -> tuple[int, int, int]:
    # finished first; among them originals first; then the latest
    return PRIORITY.get(run.status, 9), run.reused_from is not None, -run.start_time


def _info(run: Any) -> RunInfo:
    tags = run.data.tags
    status = {
        "FINISHED": "finished",
        "RUNNING": "running",
        "SCHEDULED": "running",
        "FAILED": "failed",
        "KILLED": "killed",
    }.get(run.info.status, "failed")
    if status == "finished" and tags.get("pruned") == "true":
        status = "pruned"
    try:
        seed = int(tags.get(TAG_SEED, ""))
    except ValueError:
        seed = -1
    return RunInfo(
        run_id=run.info.run_id,
        cell=tags.get(TAG_CELL, ""),
        seed=seed,
        fingerprint=tags.get(TAG_FINGERPRINT, ""),
        status=status,
        metrics={k: float(v) for k, v in run.data.metrics.items()},
        error=tags.get("error", ""),
        start_time=int(run.info.start_time or 0),
        reused_from=tags.get(TAG_REUSED),
        parent_run_id=tags.get("mlflow.parentRunId"),
        protocol={k[len("protocol.") :]: v for k, v in tags.items() if k.startswith("protocol.")},
    )
