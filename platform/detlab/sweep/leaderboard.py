"""The study's leaderboard: one row per trial, best first, built from Tune's results and the
trials' MLflow links. Written as CSV (study folder and parent run) and printed at the end."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from detlab.specs import StudySpec, searched_values
from detlab.sweep.callbacks import outcome_of
from detlab.sweep.progress import fmt, render_table, short_names
from detlab.sweep.runs import ChildRuns
from detlab.sweep.search import TIME_ATTR
from detlab.tracking.client import make_client
from detlab.tracking.profile_columns import PROFILE  # the model profile every training run logs


def build(spec: StudySpec, results: Any, runs: ChildRuns, scheduler: Any, max_t: int | None) -> list[dict]:
    """Rows for every trial of a `ResultGrid`, ranked: best objective first, failed trials last."""
    metric, mode = spec.objective.metric, spec.objective.mode
    rows = []
    statuses = tune_statuses(results)
    for result in results:
        last = dict(result.metrics or {})
        trial_id = last.get("trial_id") or Path(result.path).name.split("_")[-1]
        name = Path(result.path).name
        outcome = outcome_of(trial_id, name, last, result.error, scheduler, max_t)
        if result.error is None and _unfinished(statuses.get(trial_id), last):
            outcome.status = "unfinished"  # the sweep was interrupted while it ran or waited
        best = _best(result, metric, mode)
        try:
            sampled = searched_values(spec, result.config)
        except (KeyError, StopIteration, TypeError, ValueError):
            sampled = {}
        rows.append(
            {
                "trial": name,
                "trial_id": trial_id,
                "status": outcome.status,
                "evaluations": int(last.get(TIME_ATTR, 0) or 0),
                metric: best,
                f"{metric} (last)": last.get(metric),
                **sampled,
                "seed": (result.config or {}).get("seed"),
                "mlflow_run_id": runs.run_id(trial_id),
                "error": outcome.error or "",
            }
        )
    found = profiles(runs.tracking_uri, [r["mlflow_run_id"] for r in rows])
    for row in rows:
        row.update(found.get(row["mlflow_run_id"], {}))
    sign = -1 if mode == "max" else 1
    rows.sort(
        key=lambda r: (
            r["status"] == "failed",
            r[metric] is None,
            sign * r[metric] if r[metric] is not None else 0,
            r["trial"],
        )
    )
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def profiles(tracking_uri: str, run_ids: Sequence[str | None]) -> dict[str, dict[str, float]]:
    """{run id: its ``profile/*`` metrics} from MLflow; empty when MLflow does not answer (the
    leaderboard is written all the same)."""
    ids = [r for r in run_ids if r]
    if not ids:
        return {}

    try:
        client = make_client(tracking_uri)
        return {rid: {k: v for k, v in client.get_run(rid).data.metrics.items() if k in PROFILE} for rid in ids}
    except Exception:  # noqa: BLE001 - a missing column, not a failed sweep
        return {}


def tune_statuses(results: Any) -> dict[str, str]:
    """Trial id -> Tune's status (TERMINATED, ERROR, RUNNING, PENDING, PAUSED), where the grid has them."""
    analysis = getattr(results, "_experiment_analysis", None)
    return {t.trial_id: t.status for t in (getattr(analysis, "trials", None) or [])}


def _unfinished(status: str | None, last: dict) -> bool:
    """Whether a trial without an error had not ended when the sweep stopped. Tune's status decides;
    a restored trial that had ended keeps a last result without `done`, so that flag is only the
    fallback for grids without statuses."""
    if status is not None:
        return status not in ("TERMINATED", "ERROR")
    return not last.get("done", False)


def best_row(rows: Sequence[dict], metric: str) -> dict | None:
    return next((r for r in rows if r["status"] in ("finished", "pruned") and r.get(metric) is not None), None)


def to_csv(rows: Sequence[dict], spec: StudySpec) -> str:
    columns = columns_of(spec)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def columns_of(spec: StudySpec) -> list[str]:
    metric = spec.objective.metric
    return [
        "rank",
        "trial",
        "status",
        "evaluations",
        metric,
        f"{metric} (last)",
        *spec.search_space,
        *PROFILE,
        "seed",
        "mlflow_run_id",
        "error",
    ]


def to_text(rows: Sequence[dict], spec: StudySpec) -> str:
    """The console version: short parameter names, no run ids."""
    metric, keys = spec.objective.metric, list(spec.search_space)
    names = short_names(keys)
    header = ["#", "trial", "status", "evals", metric] + [names[k] for k in keys] + list(PROFILE.values())
    body = [
        [
            r["rank"],
            r["trial"],
            r["status"],
            r["evaluations"],
            r[metric] if r[metric] is not None else "-",
            *[r.get(k, "") for k in keys],
            *[r.get(k, "-") for k in PROFILE],
        ]
        for r in rows
    ]
    failed = [f"  {r['trial']}: {r['error']}" for r in rows if r["status"] == "failed" and r["error"]]
    return render_table(header, body) + ("\nfailed trials:\n" + "\n".join(failed) if failed else "")


def _best(result: Any, metric: str, mode: str) -> float | None:
    df = getattr(result, "metrics_dataframe", None)
    values: list[float] = []
    if df is not None and metric in getattr(df, "columns", ()):
        values = [float(v) for v in df[metric].tolist() if isinstance(v, (int, float)) and not math.isnan(v)]
    if not values:
        v = (result.metrics or {}).get(metric)
        values = [float(v)] if isinstance(v, (int, float)) else []
    if not values:
        return None
    return max(values) if mode == "max" else min(values)


__all__ = ["build", "best_row", "to_csv", "to_text", "columns_of", "fmt"]
