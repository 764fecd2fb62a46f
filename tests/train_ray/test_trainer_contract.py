"""The trainer contract (`FitRequest`, `Trainer`) and the one run lifecycle every trainer shares
(`training/driver/lifecycle.py`): where a run lives, when it is continued, and which trainer a name means."""

from __future__ import annotations

import pytest

from detlab.errors import UserError
from detlab.training.contract import FitRequest
from detlab.training.driver.lifecycle import locate
from detlab.training.driver.run_record import RunRecord

CONFIG = "experiments/configs/refined_det/refined_det_obb_r50_fpn_6x_hrsc_rr_le90_mini.py"


def test_a_request_normalizes_config_and_overrides(tmp_path):
    request = FitRequest(CONFIG, ["runner.max_epochs=2", "optimizer.lr=0.01"], storage_path=tmp_path)
    assert request.config.startswith("/") and request.config.endswith(CONFIG)
    assert request.overrides == {"runner.max_epochs": 2, "optimizer.lr": 0.01}
    assert request.storage_path == str(tmp_path) and request.stem.endswith("_mini")


def test_locate_a_new_run_then_continue_it_with_the_records_overrides_and_seed(tmp_path):
    new = locate(FitRequest(CONFIG, {"runner.max_epochs": 2}, seed=3, storage_path=tmp_path, name="r"), "unused")
    assert new.record is None and new.run_dir == str(tmp_path / "r") and new.seed == 3
    RunRecord("run-1", "sqlite:///x.db", "exp", new.run_dir, {"runner.max_epochs": 2}, 3).save(new.run_dir)
    # a retried trial (resume None) gives no seed of its own: the record's seed and overrides win
    again = locate(FitRequest(CONFIG, storage_path=tmp_path, name="r", seed=0), "unused")
    assert again.record is not None and again.record.run_id == "run-1"
    assert again.overrides == {"runner.max_epochs": 2} and again.seed == 3


def test_locate_refuses_what_would_mix_two_runs(tmp_path):
    run_dir = tmp_path / "r"
    RunRecord("run-1", "sqlite:///x.db", "exp", CONFIG, {"runner.max_epochs": 2}, 0).save(str(run_dir))
    with pytest.raises(UserError, match="other overrides \\(differing: runner.max_epochs\\)"):
        locate(FitRequest(CONFIG, {"runner.max_epochs": 5}, storage_path=tmp_path, name="r"), "unused")
    with pytest.raises(UserError, match="already exists"):
        locate(FitRequest(CONFIG, storage_path=tmp_path, name="r", resume=False), "unused")
    with pytest.raises(UserError, match="nothing to resume: .* has no run record"):
        locate(FitRequest(CONFIG, storage_path=tmp_path, name="other", resume=True), "unused")
    with pytest.raises(UserError, match="URIs are not supported"):
        locate(FitRequest(CONFIG, storage_path="s3://bucket/runs"), "unused")


def test_resume_without_a_name_takes_the_latest_run_of_the_config(tmp_path):
    stem = FitRequest(CONFIG).stem
    for name, created in (("old", 1.0), ("new", 2.0)):
        RunRecord(f"id-{name}", "u", "e", CONFIG, {}, 0, created=created).save(str(tmp_path / f"{stem}-{name}"))
    place = locate(FitRequest(CONFIG, storage_path=tmp_path, resume=True), "unused")
    assert place.name == f"{stem}-new" and place.record is not None and place.record.run_id == "id-new"


def test_trainer_names_resolve_to_trainers_and_unknown_ones_are_one_line():
    from detlab.sweep import toy
    from detlab.sweep.cell_trainer import CellTrainer
    from detlab.sweep.trainers import CELLS, resolve_trainer
    from detlab.training.driver import ray_trainer

    assert resolve_trainer("mmdet") is ray_trainer.train and resolve_trainer("toy") is toy.train
    assert isinstance(resolve_trainer(CELLS), CellTrainer)
    assert resolve_trainer("detlab.sweep.toy:train") is toy.train
    with pytest.raises(UserError, match="choose mmdet, toy, cells or give module:function"):
        resolve_trainer("yolo")
    with pytest.raises(UserError, match="cannot load detlab.sweep.toy:nothing"):
        resolve_trainer("detlab.sweep.toy:nothing")


def test_the_cells_trainer_needs_a_cell():
    from detlab.sweep.trainers import CELLS, resolve_trainer

    with pytest.raises(UserError, match="trains one cell of a grid study and this trial names none"):
        resolve_trainer(CELLS)(FitRequest(CONFIG))
