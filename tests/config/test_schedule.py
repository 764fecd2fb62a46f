"""Range checks of the schedule's numbers (detlab.config.schedule): each rule names the key,
the value and the range; values in range and keys a config does not have pass."""
from __future__ import annotations

import pytest

from detlab.config.schedule import check_schedule, schedule_problem
from detlab.errors import UserError

GOOD = {"runner": {"type": "EpochBasedRunner", "max_epochs": 12}, "optimizer": {"lr": 1e-3, "momentum": 0.9},
        "data": {"samples_per_gpu": 2, "workers_per_gpu": 0}, "evaluation": {"interval": 1},
        "lr_config": {"warmup_iters": 0, "warmup_ratio": 1 / 3, "step": [8, 11]}, "log_config": {"interval": 50}}


def test_a_sound_schedule_passes():
    check_schedule(GOOD)
    check_schedule({})  # nothing to check


@pytest.mark.parametrize("key, value, says", [
    ("runner.max_epochs", -1, ">= 1"), ("runner.max_epochs", 0, ">= 1"), ("runner.max_epochs", 2.5, "an int"),
    ("runner.max_epochs", "abc", "an int"), ("runner.max_epochs", True, "an int"),
    ("optimizer.lr", 0, "> 0"), ("optimizer.lr", -0.1, "> 0"), ("optimizer.lr", float("nan"), "a number"),
    ("optimizer.momentum", 1.5, "in [0, 1]"), ("data.samples_per_gpu", 0, ">= 1"),
    ("data.workers_per_gpu", -1, ">= 0"), ("evaluation.interval", 0, ">= 1"),
    ("lr_config.warmup_ratio", 0, "in (0, 1]"), ("lr_config.step", [8, -1], "int >= 0"),
])
def test_out_of_range_is_one_line_naming_key_and_value(key, value, says):
    cfg = {section: dict(body) for section, body in GOOD.items()}
    section, name = key.split(".")
    cfg[section][name] = value
    with pytest.raises(UserError) as err:
        check_schedule(cfg, source="cfg.py:")
    text = str(err.value)
    assert text.startswith(f"cfg.py: {key} = ") and says in text and "\n" not in text


def test_no_rule_no_problem():
    assert schedule_problem("model.backbone.depth", -5) is None
    assert schedule_problem("runner.max_epochs", None) is None  # an iteration-based runner
