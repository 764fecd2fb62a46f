"""A validated spec -> Ray Tune's param_space, and the fit of one trial on the cluster.

Bounds: spec `int` dimensions include both ends. Ray's `tune.randint(a, b)`
excludes `b`, and `tune.qrandint(a, b, q)` includes it but draws multiples of
`q` (not `a + k*q`), so step 1 maps to `randint(low, high + 1)` and step q to
`qrandint(low, high, q)` with low and high multiples of q (the spec checks it).
OptunaSearch turns both into `IntDistribution(low, high, step)`.

Values: Optuna stores categorical choices and Tune shows them in trial names,
so a choice/grid value that is not a plain scalar (a tuple, list or dict) goes
into Tune as its `repr` label; `decode_trial` maps labels back. The runner gets
a trial's config overrides and seed from `decode_trial`, never by reading the
Tune config itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from detlab.errors import UserError
from detlab.specs.study import CELL_DIM, SEED_KEY, Dimension, StudySpec, choice_label, same_label

__all__ = [
    "to_tune",
    "param_space",
    "decode_trial",
    "trial_cell",
    "searched_values",
    "grid_size",
    "num_trials",
    "trial_resources",
    "check_resources",
]


def to_tune(dim: Dimension, *, exhaustive: bool = False) -> Any:
    """One dimension as a Tune sample object; `exhaustive` makes a choice a grid (sampler grid)."""
    from ray import tune  # imported here: loading and checking specs must not pay for Ray

    if dim.type in ("uniform", "loguniform", "int"):
        assert dim.low is not None and dim.high is not None  # the model requires both for these types
        low, high = dim.low, dim.high
        if dim.type == "uniform":
            return tune.uniform(low, high)
        if dim.type == "loguniform":
            return tune.loguniform(low, high)
        step = int(dim.step or 1)
        return tune.randint(int(low), int(high) + 1) if step == 1 else tune.qrandint(int(low), int(high), step)
    labels = [choice_label(v) for v in dim.values or ()]
    return tune.grid_search(labels) if exhaustive or dim.type == "grid" else tune.choice(labels)


def param_space(spec: StudySpec) -> dict[str, Any]:
    """Tune param_space: dotted search key -> sample object, plus `seed` (a grid when several)."""
    grid = spec.sampler.type == "grid"
    space = {key: to_tune(dim, exhaustive=grid) for key, dim in spec.search_space.items()}
    if len(spec.seeds) > 1:
        from ray import tune

        space[SEED_KEY] = tune.grid_search(list(spec.seeds))
    else:
        space[SEED_KEY] = spec.seeds[0]
    return space


def decode_trial(spec: StudySpec, config: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """A trial's Tune config -> (all config overrides for it, in order: spec overrides then sampled; seed).
    A grid of cells' `cell` is a label, not an override: `trial_cell` gives it."""
    sampled: dict[str, Any] = {}
    for key, dim in spec.search_space.items():
        if spec.cells is not None and key == CELL_DIM:
            continue
        value = config[key]
        if dim.values is not None:
            value = next(v for v in dim.values if same_label(choice_label(v), value))
        elif dim.type == "int":
            value = int(value)
        else:
            value = float(value)
        sampled[key] = value
    return {**spec.overrides, **sampled}, int(config[SEED_KEY])


def trial_cell(spec: StudySpec, config: Mapping[str, Any]) -> str | None:
    """The cell a trial of a grid of cells trains (None in a study without `cells`)."""
    return None if spec.cells is None else str(config[CELL_DIM])


def searched_values(spec: StudySpec, config: Mapping[str, Any]) -> dict[str, Any]:
    """A trial's value of each search dimension, by search key; a grid of cells' `cell` label too
    (what a leaderboard shows of a trial)."""
    overrides, _ = decode_trial(spec, config)
    out = {k: v for k, v in overrides.items() if k in spec.search_space}
    cell = trial_cell(spec, config)
    if cell is not None:
        out[CELL_DIM] = cell
    return out


def grid_size(spec: StudySpec) -> int:
    """Points in the grid (grid dimensions, choice ones too under sampler grid, and seeds); 1 if none."""
    grid = spec.sampler.type == "grid"
    sizes = [len(d.values or ()) for d in spec.search_space.values() if d.type == "grid" or (grid and d.values)]
    return math.prod(sizes) * len(spec.seeds)


def num_trials(spec: StudySpec) -> int:
    """Trials the study will run: num_samples, times the grid for sampler grid."""
    return spec.trials.num_samples * grid_size(spec)


def trial_resources(spec: StudySpec) -> dict[str, float]:
    """What one trial reserves in total: {"CPU": ..., "GPU": ...}."""
    res = spec.resources
    return {"CPU": res.workers_per_trial * res.cpus_per_worker, "GPU": res.workers_per_trial * res.gpus_per_worker}


def check_resources(spec: StudySpec, available: Mapping[str, float]) -> None:
    """Refuse a study whose single trial cannot fit `available` (e.g. `ray.cluster_resources()`).

    More concurrent trials than fit only queue, which is not an error. For an
    autoscaling cluster pass what it can grow to.
    """
    res, need = spec.resources, trial_resources(spec)
    for name, per_worker, field in (
        ("CPU", res.cpus_per_worker, "cpus_per_worker"),
        ("GPU", res.gpus_per_worker, "gpus_per_worker"),
    ):
        have = float(available.get(name, 0.0))
        if need[name] > have + 1e-9:
            raise UserError(
                f"{spec.source}: resources.workers_per_trial: {res.workers_per_trial} workers x {per_worker:g} "
                f"{name} ({field}) = {need[name]:g} {name} per trial, but the cluster has {have:g}"
            )
