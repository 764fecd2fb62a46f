"""What a user finds in MLflow after `fit` (issue 17), checked through the MLflow client on a
real server: the experiment is a model-training experiment, the train and val datasets are
run inputs with their fingerprints as digests, and system metrics were sampled during training;
with system metrics off, there are none."""
from __future__ import annotations

import pytest

from train_helpers import MINI, tiny_sets

pytestmark = pytest.mark.slow


def test_training_run_has_datasets_system_metrics_and_kind(synth_hrsc, mlflow_server, client, ray_local,
                                                           tmp_path, monkeypatch):
    from detlab.tracking.links import KIND_TAG, TRAINING_KIND
    from detlab.training.contract import FitRequest
    from detlab.training.driver.ray_trainer import DetectorOptions, train

    monkeypatch.setenv("DETLAB_SYSTEM_METRICS_INTERVAL", "1")
    result = train(FitRequest(MINI, tiny_sets(synth_hrsc, 2), workers=1, seed=0, mlflow_uri=mlflow_server.uri,
                 experiment="ui-records", storage_path=tmp_path / "ray", name="records"))
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).tags[KIND_TAG] == TRAINING_KIND

    inputs = {next(t.value for t in i.tags if t.key == "mlflow.data.context"): i.dataset
              for i in run.inputs.dataset_inputs}
    assert set(inputs) == {"train", "val"}
    assert inputs["train"].name == "hrsc2016-train" and inputs["val"].name == "hrsc2016-val"
    assert inputs["train"].digest.startswith("sha256:") and inputs["train"].digest != inputs["val"].digest
    assert "trainval.txt" in inputs["train"].source and "test.txt" in inputs["val"].source

    system = [k for k in run.data.metrics if k.startswith("system/")]
    assert "system/cpu_utilization_percentage" in system and "system/system_memory_usage_megabytes" in system
    assert len(client.get_metric_history(result.run_id, "system/cpu_utilization_percentage")) >= 1

    off = train(FitRequest(MINI, tiny_sets(synth_hrsc, 1), workers=1, seed=0, mlflow_uri=mlflow_server.uri,
                           experiment="ui-records", storage_path=tmp_path / "ray", name="no-system"),
                DetectorOptions(system_metrics=False))
    assert not [k for k in client.get_run(off.run_id).data.metrics if k.startswith("system/")]
