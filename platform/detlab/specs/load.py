"""Study spec file -> validated `StudySpec`, or one line per problem naming file and field.

Everything here runs before Ray, Optuna or MLflow are touched: a bad spec must
fail before any trial starts and leave no MLflow run behind. The base config is
read with `Config.fromfile` (its `custom_imports` skipped), never built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mmcv import Config

from detlab.config import OverrideError, apply_overrides
from detlab.config.schedule import check_schedule
from detlab.errors import UserError
from detlab.specs.files import load_base_config, load_spec_file, validate_spec
from detlab.specs.study import StudySpec

__all__ = ["load_spec", "parse_spec", "check_against_config"]


def load_spec(path: str | Path, sets: Sequence[str] = (), *, root: str | Path | None = None) -> StudySpec:
    """Read `path`, apply `--set KEY=VALUE` edits to spec fields, validate, check the base config.

    `root` is the folder relative paths in the spec start from; by default the
    nearest folder above the spec file that holds a pyproject.toml.
    """
    spec = load_spec_file(path, sets, StudySpec, root=root)
    check_against_config(spec)
    return spec


def parse_spec(data: Mapping[str, Any], source: str = "<spec>") -> StudySpec:
    """Validate raw spec data; pydantic's report becomes one line per problem, first problem first."""
    return validate_spec(data, source, StudySpec)


def check_against_config(spec: StudySpec) -> Config:
    """Every override and search key must exist in the base config; returns the config with overrides.

    Each search dimension is tried with each of its candidate values (both
    bounds, or every listed value) so a dict-valued key set to a number is
    caught here too. With ASHA and no `max_t`, `max_t` is taken from the
    config's schedule.
    """
    src, base = spec.source, spec.base_config
    cfg = load_base_config(spec, base, src)
    try:
        cfg = apply_overrides(cfg, spec.overrides, source="")
    except OverrideError as err:
        raise UserError(f"{src}: overrides.{err.key}: {base}: {err.problem}") from None
    try:
        check_schedule(cfg, source="")
    except UserError as err:
        raise UserError(f"{src}: overrides.{err}") from None
    for key, dim in spec.search_space.items():
        if spec.cells is not None:
            break  # a grid of cells: each cell's overrides were checked against its own config
        for value in dim.candidates():
            try:
                apply_overrides(cfg, {key: value}, source="")
            except OverrideError as err:
                raise UserError(f"{src}: search_space.{key}: {base}: {err.problem}") from None
    if spec.confirm is not None:
        _check_confirm(spec, cfg)
    _fill_max_t(spec, cfg)
    return cfg


def _check_confirm(spec: StudySpec, cfg: Config) -> None:
    """The confirmation's overrides and baseline must name keys of the base config, like the search's."""
    confirm, src, base = spec.confirm, spec.source, spec.base_config
    assert confirm is not None
    for field, values in (("overrides", confirm.overrides), ("baseline", confirm.baseline_for(spec.search_space))):
        for key, value in values.items():
            try:
                apply_overrides(cfg, {key: value}, source="")
            except OverrideError as err:
                raise UserError(f"{src}: confirm.{field}.{key}: {base}: {err.problem}") from None


def _fill_max_t(spec: StudySpec, cfg: Config) -> None:
    sched = spec.scheduler
    if sched.type != "asha" or sched.max_t is not None:
        return
    runner, evaluation = cfg.get("runner") or {}, cfg.get("evaluation") or {}
    epochs, interval = runner.get("max_epochs"), evaluation.get("interval", 1)
    if not (isinstance(epochs, int) and isinstance(interval, int) and interval >= 1 and epochs >= interval):
        raise UserError(
            f"{spec.source}: scheduler.max_t: give it; {spec.base_config} has no usable "
            f"runner.max_epochs ({epochs!r}) and evaluation.interval ({interval!r})"
        )
    max_t = epochs // interval
    if sched.grace_period > max_t:
        raise UserError(
            f"{spec.source}: scheduler.grace_period: {sched.grace_period} exceeds the "
            f"{max_t} evaluations of {spec.base_config}"
        )
    sched.max_t = max_t
