"""Study spec file -> validated `StudySpec`, or one line per problem naming file and field.

Everything here runs before Ray, Optuna or MLflow are touched: a bad spec must
fail before any trial starts and leave no MLflow run behind. The base config is
read with `Config.fromfile` (its `custom_imports` skipped), never built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from mmcv import Config
from pydantic import ValidationError

from detlab.config import OverrideError, apply_overrides, load_config, parse_override, yaml_load
from detlab.config.schedule import check_schedule
from detlab.errors import UserError
from detlab.specs.fields import SpecPathError, close_matches, model_at, set_field
from detlab.specs.study import StudySpec

__all__ = ["load_spec", "parse_spec", "check_against_config", "find_root"]


def load_spec(path: str | Path, sets: Sequence[str] = (), *, root: str | Path | None = None) -> StudySpec:
    """Read `path`, apply `--set KEY=VALUE` edits to spec fields, validate, check the base config.

    `root` is the folder relative paths in the spec start from; by default the
    nearest folder above the spec file that holds a pyproject.toml.
    """
    source = str(path)
    data = read_spec_file(Path(path), source)
    for text in sets:
        try:
            key, value = parse_override(text)
            set_field(data, key, value, StudySpec)
        except (UserError, SpecPathError) as err:
            key = text.partition("=")[0].strip()
            raise UserError(f"{source}: --set {key}: {err}") from None
    data.setdefault("name", Path(path).stem)
    spec = parse_spec(data, source)
    spec._root = Path(root).resolve() if root is not None else find_root(Path(path))
    check_against_config(spec)
    return spec


def parse_spec(data: Mapping[str, Any], source: str = "<spec>") -> StudySpec:
    """Validate raw spec data; pydantic's report becomes one line per problem, first problem first."""
    try:
        spec = StudySpec.model_validate(data)
    except ValidationError as err:
        raise UserError("\n".join(condense_errors(err, source))) from None
    spec._source = source
    return spec


def check_against_config(spec: StudySpec) -> Config:
    """Every override and search key must exist in the base config; returns the config with overrides.

    Each search dimension is tried with each of its candidate values (both
    bounds, or every listed value) so a dict-valued key set to a number is
    caught here too. With ASHA and no `max_t`, `max_t` is taken from the
    config's schedule.
    """
    src, base = spec.source, spec.base_config
    path = spec.resolve(base)
    if not path.is_file():
        raise UserError(f"{src}: base_config: no such file {base} (relative to {spec.root})")
    try:
        cfg = load_config(path, import_custom_modules=False)
    except UserError as err:
        raise UserError(f"{src}: base_config: {err}") from None
    except Exception as err:  # noqa: BLE001 - a config file is Python: any error can come out of it
        first = (str(err).splitlines() or [""])[0]
        raise UserError(f"{src}: base_config: {base} does not load: {type(err).__name__}: {first}") from None
    try:
        cfg = apply_overrides(cfg, spec.overrides, source="")
    except OverrideError as err:
        raise UserError(f"{src}: overrides.{err.key}: {base}: {err.problem}") from None
    try:
        check_schedule(cfg, source="")
    except UserError as err:
        raise UserError(f"{src}: overrides.{err}") from None
    for key, dim in spec.search_space.items():
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


def find_root(spec_path: Path) -> Path:
    """The nearest folder at or above the spec's folder that holds a pyproject.toml, else the spec's folder."""
    folder = spec_path.resolve().parent
    return next((p for p in (folder, *folder.parents) if (p / "pyproject.toml").is_file()), folder)


def read_spec_file(path: Path, source: str) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"{source}: no such file")
    try:
        data = yaml_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise UserError(f"{source}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise UserError(f"{source}: not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise UserError(f"{source}: a study spec is a mapping of fields, got {type(data).__name__}")
    return data


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


def condense_errors(err: ValidationError, source: str, model: type = StudySpec) -> list[str]:
    """One line per problem of `err` (a validation of `model`), unknown fields first."""
    lines: list[str] = []
    # Unknown fields first: a misspelt field also shows up as a missing one, and the
    # misspelling is the problem to fix.
    items = sorted(err.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
    for item in items:
        loc = tuple(item["loc"])
        where = ".".join(str(p) for p in loc)
        kind, msg, given = item["type"], item["msg"], item.get("input")
        if kind == "extra_forbidden":
            parent = model_at(loc[:-1], model)
            msg = "unknown field" + (close_matches(str(loc[-1]), parent.model_fields) if parent else "")
        elif kind == "missing":
            msg = "required field is missing"
        elif kind in ("model_type", "dict_type", "model_attributes_type"):
            msg = f"expected a section (a mapping), got {given!r}"
        elif kind == "value_error":
            msg = msg.removeprefix("Value error, ")
        else:
            msg = f"{msg[:1].lower()}{msg[1:]}, got {given!r}"
        line = f"{source}: {where}: {msg}" if where else f"{source}: {msg}"
        if line not in lines:
            lines.append(line)
    return lines
