"""The small pieces of the Ray Train runner, without Ray: RNG states through a checkpoint,
metric names, failure reasons, overrides, run records, single-process collectives, hook order."""
from __future__ import annotations

import random
import socket

import numpy as np
import pytest
import torch

from train_helpers import MINI


def draws():
    return random.random(), float(np.random.rand()), float(np.random.randn()), torch.rand(3).tolist()


def test_rng_states_survive_a_weights_only_checkpoint(tmp_path):
    from detlab.training.worker import rng

    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    np.random.randn()  # leaves a cached Gaussian in NumPy's state
    state = rng.capture()
    expected = draws()
    torch.save({"meta": {"rng_states": [state]}}, tmp_path / "c.pth")
    loaded = torch.load(tmp_path / "c.pth", weights_only=True)["meta"]["rng_states"][0]
    random.seed(9), np.random.seed(9), torch.manual_seed(9)
    rng.restore(loaded)
    assert draws() == expected


def test_flat_metrics_names_hrsc_and_dota():
    from detlab.evaluation import evaluate
    from detlab.training.worker.val_eval import flat_metrics

    box = np.array([[0, 0, 10, 0, 10, 10, 0, 10]], float)
    gts = {"a": (box, ["ship"], np.zeros(1, bool))}
    hrsc = flat_metrics(evaluate("hrsc2016", gts, {"ship": (["a"], np.ones(1), box)}))
    assert hrsc["val/mAP_voc07"] == hrsc["val/mAP"] == pytest.approx(1.0)
    assert hrsc["val/AP/ship"] == pytest.approx(1.0)
    assert {"val/mAP_voc12", "val/AP50_95"} <= set(hrsc)
    dota = flat_metrics(evaluate("dota", {"a": (box, ["plane"], np.zeros(1, bool))},
                                 {"plane": (["a"], np.ones(1), box)}))
    assert dota["val/AP/plane"] == pytest.approx(1.0)
    assert dota["val/mAP_dota"] == dota["val/mAP"] == pytest.approx(1.0 / 15)
    assert "val/mAP_voc07" not in dota


def test_failure_reason_is_one_line_naming_the_worker():
    from detlab.errors import UserError
    from detlab.training.driver.lifecycle import failure_reason

    class Wrapped(Exception):
        def __init__(self, cause):
            super().__init__("ray task error\nwith a traceback")
            self.cause = cause

    class GroupError(Exception):
        worker_failures = {1: RuntimeError("other"), 0: Wrapped(FileNotFoundError("no such file: x\nmore"))}

    assert failure_reason(GroupError()) == "worker 0: FileNotFoundError: no such file: x"
    assert failure_reason(UserError("bad config: a\n b")) == "bad config: a b"
    assert failure_reason(ValueError("plain")) == "ValueError: plain"


def test_a_death_under_the_run_is_transient_and_the_trial_is_retried(tmp_path):
    """A Ray actor/worker/node that died under a training (however Ray wraps it) makes the trial
    retryable; an error of the input marks the trial failed for good (chaos benchmark, kills.log:
    a killed Train worker before the group's restart used to fail its trial for good)."""
    from ray.exceptions import ActorDiedError, NodeDiedError

    from detlab.errors import TransientError, UserError
    from detlab.sweep.trial import TrialFailed, TrialInterrupted, trial_error
    from detlab.training.driver.lifecycle import died_under

    class GroupError(Exception):
        worker_failures = {0: ActorDiedError()}

    chained = RuntimeError("worker group failed")
    chained.__cause__ = NodeDiedError("node gone")
    assert died_under(ActorDiedError()) and died_under(GroupError()) and died_under(chained)
    assert not died_under(ValueError("bad key")) and not died_under(UserError("bad config"))

    marker = tmp_path / "t001" / "FAILED"
    err = trial_error(TransientError("ActorDiedError: The actor died unexpectedly"), marker)
    assert isinstance(err, TrialInterrupted) and not isinstance(err, UserError) and not marker.exists()
    err = trial_error(UserError("configs/x.py: no such file\nmore"), marker)
    assert isinstance(err, TrialFailed) and marker.read_text() == "configs/x.py: no such file"


def test_overrides_normalize_to_typed_dicts():
    from detlab.training.contract import normalize_overrides

    assert normalize_overrides(["a.b=0.6", "c=[1, 2]", "d=x"]) == {"a.b": 0.6, "c": [1, 2], "d": "x"}
    assert normalize_overrides({"a": 1}) == {"a": 1} and normalize_overrides(None) == {}
    with pytest.raises(TypeError):
        normalize_overrides("a=1")


def test_run_record_round_trip_and_latest(tmp_path):
    from detlab.training.driver.run_record import RunRecord, latest_run_dir

    for i, name in enumerate(["cfg-1", "cfg-2", "other-3"]):
        RunRecord(f"id{i}", "http://x", "e", "c.py", {"a": i}, seed=i, created=100 + i).save(str(tmp_path / name))
    assert RunRecord.load(str(tmp_path / "cfg-1")).overrides == {"a": 0}
    assert latest_run_dir(str(tmp_path), "cfg").endswith("cfg-2")
    assert RunRecord.load(str(tmp_path / "none")) is None and latest_run_dir(str(tmp_path), "x") is None


def test_collectives_are_identities_in_one_process():
    from detlab.training.worker.dist import broadcast_from_rank0, gather_to_rank0, rank_and_world

    assert rank_and_world() == (0, 1)
    assert gather_to_rank0({"a": 1}) == [{"a": 1}] and broadcast_from_rank0(5) == 5


def test_hooks_run_stats_then_eval_then_mlflow_then_report():
    from mmcv.runner import get_priority

    from detlab.training.driver.setup import prepare_config
    from detlab.training.worker.loop import runtime_hooks

    cfg = prepare_config(MINI, ["evaluation.interval=3"])
    hooks = {h["type"]: get_priority(h.get("priority", "NORMAL")) for h in runtime_hooks(cfg, report_to_ray=True)}
    assert hooks["NonFiniteLossHook"] < get_priority("ABOVE_NORMAL")  # before the optimizer step
    assert (hooks["AssignStatsHook"] < hooks["EpochStatsHook"] < hooks["DetlabEvalHook"]
            < hooks["MlflowEpochHook"] < hooks["RayReportHook"] < get_priority("VERY_LOW"))
    (eval_hook,) = [h for h in runtime_hooks(cfg, report_to_ray=False) if h["type"] == "DetlabEvalHook"]
    assert eval_hook["interval"] == 3 and eval_hook["data"]["ann_file"].endswith("test.txt")
    assert "RayReportHook" not in {h["type"] for h in runtime_hooks(cfg, report_to_ray=False)}


def test_a_ray_address_that_does_not_answer_is_an_error_not_a_hang(monkeypatch):
    from detlab.errors import UserError
    from detlab.training.driver.ray_runtime import _answers, ensure_ray

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert not _answers(f"127.0.0.1:{port}") and _answers("ray://head:10001")
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    with pytest.raises(UserError, match="no Ray cluster answers"):
        ensure_ray()
