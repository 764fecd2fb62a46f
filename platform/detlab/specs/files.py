"""The one lifecycle of a spec file, for study specs and ablation definitions alike: read the YAML
strictly, apply `--set FIELD=VALUE` edits to its fields, validate it with its model, and turn every
problem into one line naming the file and the field (unknown fields first, with the close names)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from detlab.config import load_config, parse_override, yaml_load
from detlab.errors import UserError
from detlab.specs.fields import SpecPathError, close_matches, model_at, set_field
from detlab.specs.study import SpecFile

__all__ = ["load_spec_file", "validate_spec", "read_spec_file", "condense_errors", "find_root", "load_base_config"]


S = TypeVar("S", bound=SpecFile)

KIND = {"StudySpec": "a study spec", "AblationSpec": "an ablation definition"}


def load_spec_file(path: str | Path, sets: Sequence[str], model: type[S], *, root: str | Path | None = None) -> S:
    """Read `path`, apply `--set FIELD=VALUE` edits, validate as `model` (`name` defaults to the file
    name); relative paths in it start from `root`, by default the nearest folder with a pyproject.toml."""
    source = str(path)
    data = read_spec_file(Path(path), source, KIND.get(model.__name__, "a spec"))
    for text in sets:
        try:
            key, value = parse_override(text)
            set_field(data, key, value, model)
        except (UserError, SpecPathError) as err:
            raise UserError(f"{source}: --set {text.partition('=')[0].strip()}: {err}") from None
    data.setdefault("name", Path(path).stem)
    spec = validate_spec(data, source, model)
    spec._root = Path(root).resolve() if root is not None else find_root(Path(path))
    return spec


def validate_spec(data: Mapping[str, Any], source: str, model: type[S]) -> S:
    """`data` as a `model`; pydantic's report becomes one line per problem, the first problem first."""
    try:
        spec = model.model_validate(data)
    except ValidationError as err:
        raise UserError("\n".join(condense_errors(err, source, model))) from None
    spec._source = source
    return spec


def find_root(spec_path: Path) -> Path:
    """The nearest folder at or above the spec's folder that holds a pyproject.toml, else the spec's folder."""
    folder = spec_path.resolve().parent
    return next((p for p in (folder, *folder.parents) if (p / "pyproject.toml").is_file()), folder)


def read_spec_file(path: Path, source: str, what: str = "a study spec") -> dict[str, Any]:
    """The YAML mapping in `path`; one line naming `source` when it is absent, not UTF-8, not YAML or
    not a mapping (`what` names the kind of file in that line)."""
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
        raise UserError(f"{source}: {what} is a mapping of fields, got {type(data).__name__}")
    return data


def condense_errors(err: ValidationError, source: str, model: type[BaseModel]) -> list[str]:
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


def load_base_config(spec: SpecFile, base: str, where: str) -> Any:
    """The base config ``base`` of a spec (relative to its root), read but not built (its
    `custom_imports` skipped); a missing or broken file is one line naming ``where``."""
    path = spec.resolve(base)
    if not path.is_file():
        raise UserError(f"{where}: base_config: no such file {base} (relative to {spec.root})")
    try:
        return load_config(path, import_custom_modules=False)
    except UserError as err:
        raise UserError(f"{where}: base_config: {err}") from None
    except Exception as err:  # noqa: BLE001 - a config file is Python: any error can come out of it
        first = (str(err).splitlines() or [""])[0]
        raise UserError(f"{where}: base_config: {base} does not load: {type(err).__name__}: {first}") from None
