"""Fixtures of the results tests (`detlab test / predict / model`): synthetic data, one local Ray,
one short training run of the mini HRSC2016 config, and a random-weight mini DOTA checkpoint.

The DOTA model is not trained (a CPU test cannot afford it): with its score threshold at 0 it
still gives hundreds of boxes per patch, which is what the merge, the submission and the
pictures are checked on; the numbers are small but not trivial (tests/results/test_dota.py)."""
from __future__ import annotations

import os
import os.path as osp
import shutil

import pytest

from results_helpers import DOTA_FEW_BOXES, DOTA_MINI, HRSC_MINI, REPO, cli, dota_sets, hrsc_sets, json_out  # noqa: F401


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("DETLAB_MLFLOW_SPOOL", str(tmp_path / "default-spool"))


@pytest.fixture(scope="module")
def ray_local():
    """A fresh local Ray (with its dashboard: Train V2's placement-group cleaner needs the state API)."""
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def trained(synth_hrsc, mlflow_server, ray_local, tmp_path_factory):
    """`train()` of the mini HRSC2016 config, one epoch on one Ray worker: a FINISHED run with a best checkpoint."""
    from detlab.training.contract import FitRequest
    from detlab.training.driver.ray_trainer import train

    return train(FitRequest(HRSC_MINI, hrsc_sets(synth_hrsc), workers=1, seed=0, mlflow_uri=mlflow_server.uri,
               experiment="results", storage_path=tmp_path_factory.mktemp("ray"), name="mini", max_failures=0))


@pytest.fixture(scope="module")
def synth_dota_test(tmp_path_factory):
    """A DOTA-layout test set (full images with labelTxt) and its image-only split, as the
    test server's split: `<root>/full/{images,labelTxt}`, `<root>/split/images`."""
    from detlab.data.split import SplitConfig, split_dataset
    from detlab.data.synth import synth_dataset

    root = tmp_path_factory.mktemp("dota")
    synth_dataset("dota", root / "full", 2, seed=5, progress=False, size_range=(560, 700))
    split_dataset(root / "full", root / "split", SplitConfig(size=512, gap=100), workers=1, progress=False)
    shutil.rmtree(root / "split" / "annfiles")  # the server's test split has no labels
    return root


@pytest.fixture(scope="module")
def dota_checkpoint(tmp_path_factory) -> str:
    """The mini DOTA detector's initial weights (seed 0) saved as an mmcv checkpoint."""
    import torch
    from mmcv.runner import save_checkpoint

    import refined_det.register  # noqa: F401  (registers the plugins)
    from mmrotate.models import build_detector

    from detlab.config import load_config
    from detlab.evaluation import DOTA_V1_CLASSES

    torch.manual_seed(0)
    cfg = load_config(DOTA_MINI)
    model = build_detector(cfg.model)
    model.init_weights()
    path = str(tmp_path_factory.mktemp("ckpt") / "dota_init.pth")
    save_checkpoint(model, path, meta={"CLASSES": DOTA_V1_CLASSES})
    return path


@pytest.fixture(scope="module")
def dota_tested(dota_checkpoint, synth_dota_test, mlflow_server, tmp_path_factory):
    """`detlab test --checkpoint --config --submission` on the DOTA test split, one process."""
    import contextlib
    import io
    import json

    zip_path = tmp_path_factory.mktemp("submission") / "submission.zip"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = cli("test", "--checkpoint", dota_checkpoint, "--config", DOTA_MINI,
                 *[a for s in dota_sets(synth_dota_test / "split") for a in ("--set", s)],
                 "--submission", str(zip_path), "--mlflow-uri", mlflow_server.uri)
    assert rc == 0
    return json_out(out.getvalue()), zip_path


@pytest.fixture
def no_progress(monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")
