"""Links that land on the results: the experiment's runs table (trials expanded, metric columns
shown, sorted by the objective) and the run itself, on the tracking server or on the local UI.

MLflow 3 opens an experiment on its GenAI "Overview" unless the experiment says it is for
model training (the ``mlflow.experimentKind`` tag), and its runs table shows only the Source,
Models and Dataset columns until a user picks metric columns. Both are settable: the kind is
a tag set when detlab creates the experiment, and the table's columns, sort order and
expanded rows are an MLflow *shared view* (the UI's "Share" button): an experiment tag
``mlflow.sharedViewState.<key>`` holding the view as JSON, opened by
``#/experiments/<id>/runs?viewStateShareKey=<key>``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from detlab.tracking.client import KIND_TAG, TRAINING_KIND, make_client, one_line
from detlab.tracking.uri import is_local_store

VIEW_TAG_PREFIX = "mlflow.sharedViewState."
LOCAL_UI = "http://127.0.0.1:5000"  # where `detlab mlflow ui` / `mlflow ui` serve a local store
HEADLINE_METRICS = ("val/mAP", "val/mAP_voc07", "val/mAP_voc12", "val/mAP_dota")
DATASET_COLUMN = "attributes.`Dataset`"


def ui_base(tracking_uri: str, local_ui: str = LOCAL_UI) -> str:
    """The web address runs recorded at ``tracking_uri`` are seen at."""
    if tracking_uri.startswith(("http://", "https://")):
        return tracking_uri.rstrip("/")
    return local_ui.rstrip("/")


def runs_table_url(base: str, experiment_id: str, view_key: str | None = None) -> str:
    """``workflowType=machine_learning`` switches the UI's side bar from GenAI to Model training
    (it otherwise keeps the last choice of that browser, GenAI at first)."""
    url = f"{base}/#/experiments/{experiment_id}/runs?workflowType=machine_learning"
    return url + (f"&viewStateShareKey={quote(view_key)}" if view_key else "")


def run_url(base: str, experiment_id: str, run_id: str) -> str:
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}"


def column(kind: str, key: str) -> str:
    """The runs table's id of a column, e.g. ``metrics.`val/mAP```."""
    return f"{kind}.`{key}`"


def view_state(
    *,
    metrics: Sequence[str],
    params: Iterable[str] = (),
    sort_metric: str | None = None,
    ascending: bool = False,
    expand: Iterable[str] = (),
) -> dict:
    """A shared view of the runs table: Dataset, the metric and param columns, sorted by
    ``sort_metric``, the rows ``expand`` (parent runs) opened to show their children."""
    state: dict = {
        "selectedColumns": [
            DATASET_COLUMN,
            *(column("metrics", m) for m in metrics),
            *(column("params", p) for p in params),
        ],
        "runsExpanded": {run_id: True for run_id in expand},
    }
    if sort_metric:
        state.update(orderByKey=column("metrics", sort_metric), orderByAsc=ascending)
    return state


def ensure_training_kind(client, experiment_id: str) -> None:
    """Tag the experiment as model training unless someone already chose its kind."""
    exp = client.get_experiment(experiment_id)
    if KIND_TAG not in (exp.tags or {}):
        client.set_experiment_tag(experiment_id, KIND_TAG, TRAINING_KIND)


def share_view(client, experiment_id: str, key: str, state: dict) -> str:
    """Store ``state`` as the shared view ``key`` of the experiment; returns the key."""
    client.set_experiment_tag(experiment_id, VIEW_TAG_PREFIX + key, json.dumps(state, separators=(",", ":")))
    return key


def run_links(
    tracking_uri: str,
    run_id: str,
    *,
    metrics: Sequence[str] = HEADLINE_METRICS,
    params: Iterable[str] = (),
    sort_metric: str | None = "val/mAP",
    ascending: bool = False,
    local_ui: str = LOCAL_UI,
    keep_view: bool = False,
) -> tuple[str, str]:
    """(runs table, run) links for ``run_id``; the table opens on a view made for this run
    (its children expanded, the headline metrics as columns, best first). ``keep_view``: use
    the view made earlier for this run (by the command that recorded it) when there is one."""
    client = make_client(tracking_uri)
    exp_id = client.get_run(run_id).info.experiment_id
    ensure_training_kind(client, exp_id)
    key = f"detlab-{run_id}"
    if not (keep_view and VIEW_TAG_PREFIX + key in (client.get_experiment(exp_id).tags or {})):
        share_view(
            client,
            exp_id,
            key,
            view_state(metrics=metrics, params=params, sort_metric=sort_metric, ascending=ascending, expand=[run_id]),
        )
    base = ui_base(tracking_uri, local_ui)
    return runs_table_url(base, exp_id, key), run_url(base, exp_id, run_id)


def links_text(tracking_uri: str, table: str, run: str, *, what: str = "run") -> str:
    """The lines a command prints: the two links, and for a local store how to serve them."""
    lines = [f"MLflow runs table: {table}", f"MLflow {what}: {run}"]
    if is_local_store(tracking_uri):
        lines.append(f"  (serve them first: detlab mlflow ui --store '{tracking_uri}')")
    return "\n".join(lines)


def print_run_links(tracking_uri: str, run_id: str, *, file=None, what: str = "run", **view) -> bool:
    """Print ``links_text`` for ``run_id``; a tracking store that cannot be reached now only
    costs the links (one warning line), never the command."""

    out = file or sys.stderr
    try:
        table, run = run_links(tracking_uri, run_id, **view)
    except Exception as err:  # noqa: BLE001 - links are a convenience
        print(f"MLflow links unavailable now ({one_line(err, 160)}); run {run_id} at {tracking_uri}", file=out)
        return False
    print(links_text(tracking_uri, table, run, what=what), file=out, flush=True)
    return True
