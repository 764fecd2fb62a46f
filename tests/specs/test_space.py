"""Spec -> Ray Tune param_space: bounds (inclusivity), grids, labels, and what Optuna sees."""
from __future__ import annotations

from typing import Any

import numpy as np
import optuna
import pytest
from ray import tune
from ray.tune.search.optuna import OptunaSearch
from ray.tune.search.variant_generator import generate_variants

from detlab.config import yaml_load
from detlab.specs import (SEED_KEY, decode_trial, grid_size, num_trials, param_space, parse_spec,
                          to_tune, trial_resources)
from detlab.specs.study import Dimension

TPE = """
name: t
base_config: c.py
dataset: {name: dota}
overrides: {runner.max_epochs: 6}
search_space:
  model.train_cfg.assigner.radius: {type: uniform, low: 0.3, high: 0.9}
  model.train_cfg.assigner.num_neighbors: {type: int, low: 4, high: 12, step: 4}
  model.bbox_head.stacked_convs: {type: int, low: 1, high: 3}
  model.bbox_head.with_attention: {type: choice, values: [true, false]}
  data.train.pipeline.2.img_scale: {type: choice, values: [[640, 640], [800, 800]]}
  optimizer.lr: {type: loguniform, low: 1e-4, high: 1e-2}
trials: {num_samples: 4}
seeds: [3]
"""

GRID = """
name: g
base_config: c.py
dataset: {name: hrsc2016}
sampler: {type: grid}
search_space:
  model.bbox_head.with_attention: {type: grid, values: [true, false]}
  model.bbox_head.with_refine: {type: choice, values: [true, false]}
  model.test_cfg.nms: {type: grid, values: [{type: nms, iou_thr: 0.1}, {type: nms, iou_thr: 0.3}, null]}
trials: {num_samples: 1}
seeds: [0, 1]
"""


def spec(text: str, **changes: Any) -> Any:
    return parse_spec(yaml_load(text) | changes)


def draws(domain: Any, n: int = 400) -> list[Any]:
    return domain.sample(size=n, random_state=np.random.default_rng(0))


def test_int_dimensions_include_both_ends() -> None:
    space = param_space(spec(TPE))
    assert set(draws(space["model.bbox_head.stacked_convs"])) == {1, 2, 3}
    assert set(draws(space["model.train_cfg.assigner.num_neighbors"])) == {4, 8, 12}


def test_float_dimensions_stay_within_bounds() -> None:
    space = param_space(spec(TPE))
    radius = draws(space["model.train_cfg.assigner.radius"])
    assert 0.3 <= min(radius) and max(radius) <= 0.9
    lr = np.array(draws(space["optimizer.lr"]))
    assert 1e-4 <= lr.min() and lr.max() <= 1e-2
    assert np.median(lr) < 2e-3                                 # log-uniform: median near 1e-3


def test_optuna_sees_the_same_bounds() -> None:
    space = param_space(spec(TPE))
    dists = OptunaSearch.convert_search_space({k: v for k, v in space.items() if k != SEED_KEY})
    assert dists["model.bbox_head.stacked_convs"] == optuna.distributions.IntDistribution(1, 3)
    assert dists["model.train_cfg.assigner.num_neighbors"] == optuna.distributions.IntDistribution(4, 12, step=4)
    assert dists["optimizer.lr"] == optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)
    assert dists["model.train_cfg.assigner.radius"] == optuna.distributions.FloatDistribution(0.3, 0.9)
    assert dists["data.train.pipeline.2.img_scale"].choices == ("[640, 640]", "[800, 800]")
    assert dists["model.bbox_head.with_attention"].choices == (True, False)


def test_tpe_space_has_one_seed_and_no_grid() -> None:
    space = param_space(spec(TPE))
    assert space[SEED_KEY] == 3
    assert not any(isinstance(v, dict) and "grid_search" in v for v in space.values())
    assert num_trials(spec(TPE)) == 4


def test_decode_trial_maps_labels_back_and_merges_overrides() -> None:
    s = spec(TPE)
    config = {"model.train_cfg.assigner.radius": 0.5, "model.train_cfg.assigner.num_neighbors": np.int64(8),
              "model.bbox_head.stacked_convs": 2, "model.bbox_head.with_attention": False,
              "data.train.pipeline.2.img_scale": "[800, 800]", "optimizer.lr": 1e-3, SEED_KEY: 3}
    overrides, seed = decode_trial(s, config)
    assert seed == 3
    assert list(overrides)[0] == "runner.max_epochs"            # spec overrides first
    assert overrides["data.train.pipeline.2.img_scale"] == [800, 800]
    assert overrides["model.bbox_head.with_attention"] is False
    assert type(overrides["model.train_cfg.assigner.num_neighbors"]) is int


def test_grid_enumerates_grid_choice_and_seeds() -> None:
    s = spec(GRID)
    space = param_space(s)
    assert space["model.bbox_head.with_refine"] == tune.grid_search([True, False])   # choice -> grid under sampler grid
    assert space[SEED_KEY] == tune.grid_search([0, 1])
    assert grid_size(s) == 2 * 2 * 3 * 2 and num_trials(s) == 24
    variants = [resolved for _, resolved in generate_variants(space)]
    assert len(variants) == num_trials(s)
    decoded = [decode_trial(s, v) for v in variants]
    nms = {repr(o["model.test_cfg.nms"]) for o, _ in decoded}
    assert nms == {repr({"type": "nms", "iou_thr": 0.1}), repr({"type": "nms", "iou_thr": 0.3}), "None"}
    assert {seed for _, seed in decoded} == {0, 1}
    assert len({repr(sorted(o.items())) + str(seed) for o, seed in decoded}) == 24     # all distinct


def test_num_samples_repeats_the_grid() -> None:
    assert num_trials(spec(GRID, trials={"num_samples": 2})) == 48


@pytest.mark.parametrize("dim, expected", [
    (Dimension(type="choice", values=[1, 2]), tune.choice([1, 2])),
    (Dimension(type="grid", values=[(1, 2), "x"]), tune.grid_search(["(1, 2)", "x"])),
])
def test_to_tune_labels(dim: Dimension, expected: Any) -> None:
    got = to_tune(dim)
    if isinstance(expected, dict):
        assert got == expected
    else:
        assert got.categories == expected.categories


def test_trial_resources() -> None:
    s = spec(TPE, resources={"workers_per_trial": 2, "cpus_per_worker": 1.5, "gpus_per_worker": 0.5})
    assert trial_resources(s) == {"CPU": 3.0, "GPU": 1.0}
