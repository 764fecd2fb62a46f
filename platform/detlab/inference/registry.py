"""A training run's best checkpoint as an MLflow model, findable in the MLflow UI.

The model is an MLflow 3 *logged model* of the ``python_function`` flavor: a
``DetlabDetector`` (``mlflow.pyfunc.PythonModel``) with three artifacts, the
checkpoint, the merged config and the class names. It is logged to the training run,
the run's best val metrics are linked to it, and with a name it is registered in the
model registry. ``detlab test --model models:/NAME/VERSION`` and ``detlab predict
--model ...`` read the artifacts back (``source.from_model_uri``);
``mlflow.pyfunc.load_model`` gives a detector that takes a DataFrame of image paths.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from mlflow.pyfunc import PythonModel

from detlab.errors import UserError
from detlab.inference.model import build_model, load_test_config
from detlab.inference.source import MODEL_ARTIFACTS, from_run
from detlab.tracking.client import make_client, one_line
from detlab.tracking.context import PACKAGES, package_versions

MODEL_NAME = "model"  # the logged model's name inside the run
COLUMNS = ["image", "class", "score", "x1", "y1", "x2", "y2", "x3", "y3", "x4", "y4"]


class DetlabDetector(PythonModel):
    """``predict(DataFrame{"image": paths})`` -> one row per detection (``COLUMNS``);
    params: ``score_thr`` (default 0.3)."""

    def load_context(self, context) -> None:
        from detlab.inference.patches import input_size

        art = context.artifacts
        with open(art["classes"], encoding="utf-8") as f:
            classes = json.load(f)
        cfg = load_test_config(art["config"])
        self.model = build_model(cfg, art["checkpoint"], art["config"], classes)
        self.size = input_size(cfg)

    def predict(self, context, model_input, params: dict | None = None):
        import cv2
        import pandas as pd

        from detlab.inference.patches import detect_image, filter_score

        thr = float((params or {}).get("score_thr", 0.3))
        rows = []
        for path in list(model_input["image"]):
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if img is None:
                raise ValueError(f"{path}: unreadable image")
            dets = detect_image(
                self.model, img, os.path.splitext(os.path.basename(str(path)))[0], self.size, self.size // 5
            )
            rows += [[str(path), c, s, *p.tolist()] for c, s, p in filter_score(dets, thr)]
        return pd.DataFrame(rows, columns=COLUMNS)


def _requirements() -> list[str]:

    versions = package_versions()
    return [
        f"{dist}=={versions[f'versions.{name}']}" for dist, name in PACKAGES.items() if f"versions.{name}" in versions
    ]


def _classes(source) -> list[str]:

    cfg = load_test_config(source.config)
    return list(build_model(cfg, source.checkpoint, source.config).CLASSES)  # also checks the fit


def _link_best_metrics(client, run_id: str, model_id: str, metrics: dict) -> None:
    """The run's ``best/*`` points (the best checkpoint's val numbers), linked to the model as
    MLflow's own ``log_model`` links the run's step-0 metrics: the same points, with ``model_id``."""
    from mlflow.entities import Metric

    points = [
        Metric(m.key, m.value, m.timestamp, m.step, model_id=model_id, run_id=run_id)
        for key in metrics
        if key.startswith("best/")
        for m in client.get_metric_history(run_id, key)
    ]
    for i in range(0, len(points), 500):
        client.log_batch(run_id, metrics=points[i : i + 500])


def log_run_model(run_id: str, tracking_uri: str, register: str | None = None) -> dict[str, Any]:
    """Log the best checkpoint of ``run_id`` as a logged model (val metrics linked); register it
    as ``register`` when given. Returns ``{"model_id", "model_uri", "registered"}``."""
    import mlflow

    source = from_run(run_id, tracking_uri)
    client = make_client(tracking_uri)
    run = client.get_run(run_id)
    if run.info.status == "RUNNING":
        raise UserError(f"run {run_id} is still RUNNING: register its model when it has ended")
    with tempfile.TemporaryDirectory(prefix="detlab-model-") as tmp:
        classes_file = os.path.join(tmp, MODEL_ARTIFACTS["classes"])
        with open(classes_file, "w", encoding="utf-8") as f:
            json.dump(_classes(source), f)
        artifacts = {"checkpoint": source.checkpoint, "config": source.config, "classes": classes_file}
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
        status = run.info.status
        try:
            # log_model attaches the model to the active run; the run ends as it was before
            with mlflow.start_run(run_id=run_id):
                info = mlflow.pyfunc.log_model(
                    name=MODEL_NAME,
                    python_model=DetlabDetector(),
                    artifacts=artifacts,
                    pip_requirements=_requirements(),
                    registered_model_name=register,
                    tags={"detlab.run_id": run_id, "detlab.run_name": run.info.run_name or ""},
                )
        except Exception as err:
            raise UserError(f"cannot log the model of run {run_id} to {tracking_uri}: {one_line(err)}") from err
        finally:
            client.set_terminated(run_id, status, end_time=run.info.end_time)
    _link_best_metrics(client, run_id, info.model_id, run.data.metrics)
    registered = None
    if register:
        registered = {
            "name": register,
            "version": int(info.registered_model_version),
            "uri": f"models:/{register}/{info.registered_model_version}",
        }
        client.set_tag(run_id, "detlab.registered_model", registered["uri"])
    client.set_tag(run_id, "detlab.logged_model", info.model_uri)
    return {"run_id": run_id, "model_id": info.model_id, "model_uri": info.model_uri, "registered": registered}
