"""DOTA through `detlab test` (patches -> merged full images -> devkit rules) and `detlab predict`
on scenes larger than the model's input, on a real `mlflow server`."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from results_helpers import DOTA_FEW_BOXES, DOTA_MINI, cli, dota_sets, json_out

pytestmark = pytest.mark.slow
DOTA_KEYS = ("test/AP50_voc07", "test/AP50_voc12", "test/AP75", "test/mAP50_95", "test/mAP")


def test_submission_scored_by_detlab_evaluate_gives_the_logged_map(
        dota_tested, dota_checkpoint, synth_dota_test, client, capsys, tmp_path):
    summary, zip_path = dota_tested
    run = client.get_run(summary["run_id"])
    assert run.info.status == "FINISHED"
    assert run.info.experiment_id == client.get_experiment_by_name("detlab-test").experiment_id
    assert run.data.tags["detlab.source.checkpoint"] == dota_checkpoint
    logged = run.data.metrics
    assert all(k in logged for k in DOTA_KEYS), sorted(logged)
    assert logged["test/images"] > 2  # the split's patches, not the 2 scenes

    with zipfile.ZipFile(zip_path) as z:
        names = sorted(z.namelist())
        assert len(names) == 15 and all(n.startswith("Task1_") and n.endswith(".txt") for n in names)
        z.extractall(tmp_path / "task1")
    rows = [line.split() for f in (tmp_path / "task1").iterdir() for line in f.read_text().splitlines()]
    assert rows, "the random-weight model at score_thr 0 must detect something"
    full_images = {p.stem for p in (synth_dota_test / "full" / "images").iterdir()}
    assert {r[0] for r in rows} == full_images  # merged: full-image ids, no patch ids

    assert cli("evaluate", "--dataset", "dota", "--ann-dir", str(synth_dota_test / "full" / "labelTxt"),
               "--det-dir", str(tmp_path / "task1")) == 0
    scored = json_out(capsys.readouterr().out)
    assert scored["mAP"] == logged["test/AP50_voc07"] == summary["metrics"]["test/AP50_voc07"]
    # (an untrained model scores ~0 here; the next test checks the same identity on a non-zero mAP)


def _labels_from(task1_dir, out, per_class: int = 3) -> None:
    """Full-image labels made of the model's own best boxes (3 per class and image), so that its
    mAP is clearly above 0 and every IoU level has matches to count."""
    from collections import defaultdict

    import numpy as np

    from refined_det.datasets.formats import DotaAnnotation, write_dota_label

    objects = defaultdict(list)
    for f in sorted(task1_dir.iterdir()):
        name = f.stem[len("Task1_"):]
        rows = sorted((line.split() for line in f.read_text().splitlines()), key=lambda r: -float(r[1]))
        taken = defaultdict(int)
        for r in rows:
            if taken[r[0]] < per_class:
                taken[r[0]] += 1
                objects[r[0]].append((name, [float(v) for v in r[2:]]))
    out.mkdir()
    for image, objs in objects.items():
        write_dota_label(out / f"{image}.txt", DotaAnnotation(np.array([p for _, p in objs]), [n for n, _ in objs],
                                                              np.zeros(len(objs))), header=False)


def test_ray_workers_give_the_same_detections_and_a_nonzero_map_scored_exactly(
        dota_tested, dota_checkpoint, synth_dota_test, mlflow_server, client, ray_local, capsys, tmp_path):
    one, one_zip = dota_tested
    with zipfile.ZipFile(one_zip) as z:
        z.extractall(tmp_path / "one")
    _labels_from(tmp_path / "one", tmp_path / "labels")
    two_zip = tmp_path / "two.zip"
    assert cli("test", "--checkpoint", dota_checkpoint, "--config", DOTA_MINI,
               *[a for s in dota_sets(synth_dota_test / "split") for a in ("--set", s)], "--workers", "2",
               "--labels", str(tmp_path / "labels"), "--submission", str(two_zip),
               "--mlflow-uri", mlflow_server.uri) == 0
    two = json_out(capsys.readouterr().out)
    assert client.get_run(two["run_id"]).data.tags["test.workers"] == "2"
    with zipfile.ZipFile(two_zip) as z:
        z.extractall(tmp_path / "two")
    for f in sorted((tmp_path / "one").iterdir()):  # sharded inference, the same detections
        a, b = ([line.split() for line in p.read_text().splitlines()] for p in (f, tmp_path / "two" / f.name))
        assert [r[0] for r in a] == [r[0] for r in b], f.name
        # equal up to float rounding (a Ray task runs torch on 1 thread, this process on more)
        assert np.allclose(np.array([r[1:] for r in a], float), np.array([r[1:] for r in b], float),
                           rtol=1e-4, atol=1e-3), f.name

    logged = client.get_run(two["run_id"]).data.metrics
    assert 0 < logged["test/mAP50_95"] <= logged["test/AP75"] <= logged["test/AP50_voc07"]
    assert cli("evaluate", "--dataset", "dota", "--ann-dir", str(tmp_path / "labels"),
               "--det-dir", str(tmp_path / "two")) == 0
    assert json_out(capsys.readouterr().out)["mAP"] == logged["test/AP50_voc07"]


def test_predict_on_large_scenes_writes_text_pictures_and_index(dota_checkpoint, tmp_path, capsys):
    import cv2

    from detlab.data.synth import synth_dataset

    synth_dataset("dota", tmp_path / "scenes", 3, seed=9, progress=False, size_range=(1030, 1100))
    images = sorted((tmp_path / "scenes" / "images").iterdir())
    out = tmp_path / "pred"
    assert cli("predict", "--checkpoint", dota_checkpoint, "--config", DOTA_MINI,
               *[a for s in DOTA_FEW_BOXES for a in ("--set", s)], "--images", str(tmp_path / "scenes" / "images"),
               "--out", str(out), "--score-thr", "0.0", "--quiet") == 0
    summary = json_out(capsys.readouterr().out)
    assert summary["images"] == 3 and summary["detections"] > 0
    marker = json.loads((out / ".complete").read_text())
    for img, entry in zip(images, marker["images"]):
        assert entry["patches"] > 1  # larger than the 512 input: split, then merged
        picture, original = cv2.imread(str(out / f"{img.stem}.png")), cv2.imread(str(img))
        assert picture.shape == original.shape
        assert (picture != original).any()  # boxes were drawn
        lines = (out / f"{img.stem}.txt").read_text().splitlines()
        assert lines and all(len(line.split()) == 10 for line in lines)
        xs = [float(v) for line in lines for v in line.split()[2::2]]
        assert max(xs) > 512  # full-image coordinates, not patch ones
    page = (out / "index.html").read_text()
    assert all(f'src="{img.stem}.png"' in page for img in images)
