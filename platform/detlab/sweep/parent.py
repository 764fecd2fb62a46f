"""The study's MLflow parent run: the spec and search space when the sweep starts; the best
trial, leaderboard and plots when it ends. Created once and kept in the sweep state, so a
resumed sweep records into the same run (its `restarts` tag counts the driver restarts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from detlab.specs import StudySpec, num_trials, param_space
from detlab.sweep.leaderboard import best_row
from detlab.sweep.progress import ENDED
from detlab.tracking import RunRecorder
from detlab.tracking.client import make_client, one_line
from detlab.tracking.context import flatten, run_context_tags
from detlab.tracking.links import run_url, ui_base


def create_parent(spec: StudySpec, *, tracking_uri: str, tags: Mapping[str, Any]) -> str:
    """A new RUNNING parent run named after the study, with git, package and sweep tags."""
    all_tags = {
        **run_context_tags(spec.root),
        "detlab.study": spec.name,
        "detlab.kind": "sweep",
        "mlflow.note.content": spec.description or f"sweep of {spec.name}",
        **tags,
    }
    return RunRecorder.create_run(spec.experiment, spec.name, tags=all_tags, tracking_uri=tracking_uri)


def search_space_doc(spec: StudySpec) -> dict[str, Any]:
    """Each dimension as the spec gives it, and as Optuna sees it (tpe/random)."""
    doc = {k: d.model_dump(mode="json", exclude_none=True) for k, d in spec.search_space.items()}
    if spec.sampler.type != "grid":
        from ray.tune.search.optuna import OptunaSearch

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


def log_summary(
    rec: RunRecorder, spec: StudySpec, rows: Sequence[dict], csv_text: str, figures: Mapping[str, Any]
) -> None:
    """Best trial (metric, params, run), counts, leaderboard CSV and the plots.

    The best trial's params and key metrics are also logged under the trials' own names
    (as SIATune's MLflow callback does), so the parent's collapsed row in MLflow's runs
    table shows the answer in the same columns as its trials and sorts with them.
    """

    metric = spec.objective.metric
    counts = {s: sum(r["status"] == s for r in rows) for s in ENDED}
    rec.log_metrics({f"trials/{s}": n for s, n in counts.items()} | {"trials/total": len(rows)})
    best = best_row(rows, metric)
    if best is not None:
        rec.log_metrics({f"best/{metric}": best[metric]})
        rec.log_params({f"best.{k}": best.get(k) for k in spec.search_space})
        rec.set_tags(
            {
                "best.trial": best["trial"],
                "best.run_id": best.get("mlflow_run_id") or "",
                f"best.{metric}": f"{best[metric]:.6g}",
            }
        )
        rec.log_dict(best, "best_trial.json")
        _log_best_as_own(rec, spec, best)
    rec.log_text(csv_text, "leaderboard.csv")
    for path, fig in figures.items():
        rec.log_figure(fig, path)


def best_trial_metrics(tracking_uri: str, run_id: str) -> dict[str, float]:
    """The key metrics of a trial's run: its best checkpoint's evaluation (``best/val/...``, logged
    when the training ended) under the plain names, else its last ``val/...`` values."""

    metrics = make_client(tracking_uri).get_run(run_id).data.metrics
    best = {k[len("best/") :]: v for k, v in metrics.items() if k.startswith("best/val/")}
    return best or {k: v for k, v in metrics.items() if k.startswith("val/")}


def _log_best_as_own(rec: RunRecorder, spec: StudySpec, best: Mapping[str, Any]) -> None:
    """Params and metrics of the best trial under the trials' names, a link to its run."""

    metric, run_id = spec.objective.metric, best.get("mlflow_run_id") or ""
    rec.log_params({k: best.get(k) for k in spec.search_space if best.get(k) is not None})
    metrics: dict[str, float] = {}
    link = ""
    if run_id:
        try:
            metrics = best_trial_metrics(rec.tracking_uri, run_id)
            exp_id = make_client(rec.tracking_uri).get_run(run_id).info.experiment_id
            link = run_url(ui_base(rec.tracking_uri), exp_id, run_id)
        except Exception as err:  # noqa: BLE001 - the objective alone still lands
            rec.set_tags({"best.metrics_error": one_line(err)})
    rec.log_metrics({**metrics, metric: best[metric]})
    if link:
        rec.set_tags(
            {
                "best.run_url": link,
                "mlflow.note.content": (
                    f"{spec.description or 'sweep of ' + spec.name}\n\n"
                    f"**Best trial**: [{best['trial']}]({link}), {metric} = {best[metric]:.4g}"
                ),
            }
        )
