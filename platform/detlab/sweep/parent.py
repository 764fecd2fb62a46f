"""The study's MLflow parent run: the spec and search space when the sweep starts; the best
trial, leaderboard and plots when it ends. Created once and kept in the sweep state, so a
resumed sweep records into the same run (its `restarts` tag counts the driver restarts)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from detlab.specs import StudySpec, num_trials
from detlab.sweep.progress import ENDED
from detlab.tracking import RunRecorder
from detlab.tracking.context import flatten, run_context_tags


def create_parent(spec: StudySpec, *, tracking_uri: str, tags: Mapping[str, Any]) -> str:
    """A new RUNNING parent run named after the study, with git, package and sweep tags."""
    all_tags = {**run_context_tags(spec.root), "detlab.study": spec.name, "detlab.kind": "sweep",
                "mlflow.note.content": spec.description or f"sweep of {spec.name}", **tags}
    return RunRecorder.create_run(spec.mlflow.experiment, spec.name, tags=all_tags, tracking_uri=tracking_uri)


def search_space_doc(spec: StudySpec) -> dict[str, Any]:
    """Each dimension as the spec gives it, and as Optuna sees it (tpe/random)."""
    doc = {k: d.model_dump(mode="json", exclude_none=True) for k, d in spec.search_space.items()}
    if spec.sampler.type != "grid":
        from ray.tune.search.optuna import OptunaSearch

        from detlab.specs import param_space

        space = {k: v for k, v in param_space(spec).items() if k in spec.search_space}
        for key, dist in OptunaSearch.convert_search_space(space).items():
            doc[key]["optuna"] = repr(dist)
    return doc


def log_study(rec: RunRecorder, spec: StudySpec, source_text: str | None) -> None:
    """The spec as params (dotted fields) and artifacts, the search space, the planned trial count."""
    data = spec.model_dump(mode="json")
    rec.log_params(flatten(data))
    rec.log_text(yaml.safe_dump(data, sort_keys=False), "spec/study.yaml")
    if source_text is not None:
        rec.log_text(source_text, "spec/source.yaml")
    rec.log_dict(search_space_doc(spec), "spec/search_space.json")
    rec.set_tags({"detlab.num_trials": num_trials(spec)})


def log_summary(rec: RunRecorder, spec: StudySpec, rows: Sequence[dict], csv_text: str,
                figures: Mapping[str, Any]) -> None:
    """Best trial (metric, params, run), counts, leaderboard CSV and the plots."""
    from detlab.sweep.leaderboard import best_row

    metric = spec.objective.metric
    counts = {s: sum(r["status"] == s for r in rows) for s in ENDED}
    rec.log_metrics({f"trials/{s}": n for s, n in counts.items()} | {"trials/total": len(rows)})
    best = best_row(rows, metric)
    if best is not None:
        rec.log_metrics({f"best/{metric}": best[metric]})
        rec.log_params({f"best.{k}": best.get(k) for k in spec.search_space})
        rec.set_tags({"best.trial": best["trial"], "best.run_id": best.get("mlflow_run_id") or "",
                      f"best.{metric}": f"{best[metric]:.6g}"})
        rec.log_dict(best, "best_trial.json")
    rec.log_text(csv_text, "leaderboard.csv")
    for path, fig in figures.items():
        rec.log_figure(fig, path)
