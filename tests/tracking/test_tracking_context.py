"""Context tags (git, versions, dataset fingerprint) and config flattening; no server needed."""
from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest

from detlab.tracking import context as C
from detlab.tracking import params as P

CFG = {
    "model": {"type": "RefinedRetinaNet",
              "bbox_head": {"type": "FRHead", "use_frm": True, "anchor_generator": {"ratios": [0.5, 1.0]}},
              "train_cfg": {"assigner": {"type": "CrossGridAssigner", "radius": 0.6, "num_neighbors": 3, "pos_iou_thr": 0.5}}},
    "data": {"samples_per_gpu": 2, "workers_per_gpu": 1,
             "train": {"pipeline": [{"type": "LoadImageFromFile"}, {"type": "RResize", "img_scale": (1024, 1024)}]}},
    "optimizer": {"type": "SGD", "lr": 0.0025},
    "runner": {"type": "EpochBasedRunner", "max_epochs": 12},
}


def test_flatten_keeps_dotted_keys_and_expands_lists_of_dicts():
    flat = C.flatten(CFG)
    assert flat["model.train_cfg.assigner.radius"] == 0.6
    assert flat["model.bbox_head.anchor_generator.ratios"] == [0.5, 1.0]   # scalars stay one value
    assert flat["data.train.pipeline.1.type"] == "RResize"                 # dicts in lists by index


def test_flatten_mmcv_config():
    mmcv = pytest.importorskip("mmcv")
    cfg = mmcv.Config(CFG)
    assert C.flatten(cfg)["model.train_cfg.assigner.num_neighbors"] == 3


def test_run_params_main_values_plus_overrides():
    params = C.run_params({"model.train_cfg.assigner.radius": 0.8, "extra": {"a": 1}}, CFG)
    assert params["model.train_cfg.assigner.radius"] == 0.8      # the override wins
    assert params["model.train_cfg.assigner.pos_iou_thr"] == 0.5
    assert params["model.bbox_head.use_frm"] is True
    assert params["data.samples_per_gpu"] == 2 and params["data.workers_per_gpu"] == 1
    assert params["runner.max_epochs"] == 12 and params["extra.a"] == 1
    assert "data.train.pipeline.0.type" not in params


def test_dataset_fingerprint_content_not_mtime(tmp_path):
    ann, img = tmp_path / "ann", tmp_path / "img"
    ann.mkdir(), img.mkdir()
    (ann / "a.txt").write_text("1 2 3 4 5 6 7 8 plane 0\n")
    (ann / "b.txt").write_text("")
    (img / "a.png").write_bytes(b"x" * 10)
    fp = C.dataset_fingerprint([ann], [img])
    assert fp.startswith("sha256:") and len(fp) == len("sha256:") + 16
    os.utime(ann / "a.txt", (1, 1))                      # a copy that changed mtimes
    assert C.dataset_fingerprint([ann], [img]) == fp
    (ann / "a.txt").write_text("1 2 3 4 5 6 7 8 ship 0\n")   # an edited label
    fp2 = C.dataset_fingerprint([ann], [img])
    assert fp2 != fp
    (img / "a.png").write_bytes(b"x" * 11)               # a truncated/replaced image (size)
    assert C.dataset_fingerprint([ann], [img]) != fp2
    with pytest.raises(FileNotFoundError):
        C.dataset_fingerprint([tmp_path / "missing"])


def test_git_info_and_versions(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(git + ["init", "-q"], cwd=repo, check=True)
    (repo / "f.py").write_text("a = 1\n")
    subprocess.run(git + ["add", "f.py"], cwd=repo, check=True)
    subprocess.run(git + ["commit", "-qm", "x"], cwd=repo, check=True)
    info = C.git_info(repo)
    assert len(info["git.commit"]) == 40 and info["git.dirty"] == "false"
    assert info["mlflow.source.git.commit"] == info["git.commit"]
    (repo / "f.py").write_text("a = 2\n")
    assert C.git_info(repo)["git.dirty"] == "true"
    assert C.git_info(tmp_path / "..") == {} or "git.commit" in C.git_info(tmp_path / "..")
    tags = C.run_context_tags(repo, annotations=[repo / "f.py"])
    for key in ("versions.python", "versions.mlflow", "versions.torch", "host", "dataset.fingerprint"):
        assert key in tags


def test_values_and_keys_made_acceptable():
    params, full = P.clean_params({"a.b": 1, "long": "x" * (P.MAX_PARAM_VAL_LENGTH + 5),
                                   "bad(key)": [1, 2], "/lead": None})
    assert params["a.b"] == "1" and params["bad_key_"] == "[1,2]" and params["lead"] == "None"
    assert len(params["long"]) == P.MAX_PARAM_VAL_LENGTH and params["long"].endswith(P.TRUNCATED)
    assert full == {"long": "x" * (P.MAX_PARAM_VAL_LENGTH + 5)}
    assert len(P.clean_key("k" * 400)) <= P.MAX_ENTITY_KEY_LENGTH
    torch = pytest.importorskip("torch")
    metrics, skipped = P.clean_metrics({"loss": torch.tensor(0.5), "np": np.float32(2), "n": 3,
                                        "s": "text", "v": [1, 2]})
    assert metrics == {"loss": 0.5, "np": 2.0, "n": 3.0} and sorted(skipped) == ["s", "v"]
