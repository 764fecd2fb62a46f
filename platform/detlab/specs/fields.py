"""Dotted paths into a study spec, guided by its pydantic models.

`--set` edits the raw YAML before validation, so a field the file leaves at
its default (`sampler.seed`) can still be set, and a misspelt one is refused
with the valid names. Maps keyed by dotted config keys (`search_space`,
`overrides`) are matched on their longest existing key:
`search_space.model.train_cfg.assigner.radius.high` is field `high` of the
dimension `model.train_cfg.assigner.radius`.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from detlab.config.suggest import suggest

__all__ = ["SpecPathError", "set_field", "model_at", "close_matches"]

Kind = tuple[str, Any]  # ("model", cls) | ("map", value type) | ("list", item type) | ("value", None)


class SpecPathError(ValueError):
    """A dotted spec path that does not name a field; the message says what is wrong."""


def set_field(data: dict[str, Any], key: str, value: Any, model: type[BaseModel]) -> None:
    """Set `key` (dotted) to `value` in raw spec `data` shaped like `model`, creating sections."""
    parts = key.split(".")
    if not all(parts):
        raise SpecPathError("empty component in a dotted key")
    node: Any = data
    kind: Kind = ("model", model)
    done: list[str] = []
    i = 0
    while True:
        part, where = parts[i], ".".join(done)
        if kind[0] == "model":
            fields = kind[1].model_fields
            if part not in fields:
                raise SpecPathError(f"no field {part!r} {_under(where)}{close_matches(part, fields)}")
            child_key: Any = part
            child_kind, step = _kind(fields[part].annotation), 1
        elif kind[0] == "map":
            child_kind, rest = _kind(kind[1]), parts[i:]
            n = next((n for n in range(len(rest) - 1, 0, -1) if ".".join(rest[:n]) in node), None)
            if n is None or child_kind[0] == "value":
                if child_kind[0] == "model" and not isinstance(value, Mapping) and len(rest) > 1:
                    entry = ".".join(rest[:-1])
                    raise SpecPathError(f"no entry {entry!r} in {where}{close_matches(entry, node)}")
                node[".".join(rest)] = value
                return
            child_key, step = ".".join(rest[:n]), n
        elif kind[0] == "list":
            if not part.isdigit() or int(part) >= len(node):
                raise SpecPathError(f"{where} has {len(node)} items; {part!r} is not an index of it")
            child_key, child_kind, step = int(part), _kind(kind[1]), 1
        else:  # values are refused below, before the walk descends into one
            raise AssertionError(kind)
        i += step
        done.append(str(child_key))
        if i == len(parts):
            node[child_key] = value
            return
        if child_kind[0] == "value":
            raise SpecPathError(f"{'.'.join(done)} is a value, it has no field {parts[i]!r}")
        child = node[child_key] if isinstance(node, list) else node.get(child_key)
        if child is None and child_kind[0] in ("model", "map"):
            child = node[child_key] = {}
        if not isinstance(child, (dict, list)):
            raise SpecPathError(f"{'.'.join(done)} is {child!r} in the file, not a section")
        node, kind = child, child_kind


def model_at(loc: Iterable[Any], model: type[BaseModel]) -> type[BaseModel] | None:
    """The model that validates the value at pydantic error location `loc`, if one does."""
    kind: Kind = ("model", model)
    for part in loc:
        if kind[0] == "model" and part in kind[1].model_fields:
            kind = _kind(kind[1].model_fields[part].annotation)
        elif kind[0] in ("map", "list"):
            kind = _kind(kind[1])
        else:
            return None
    return kind[1] if kind[0] == "model" else None


def close_matches(word: str, choices: Iterable[Any]) -> str:
    """` (did you mean 'x'?)`, or ` (fields: a, b)` when nothing is close, or ``."""
    names = [str(c) for c in choices]
    close = suggest(word, names)
    if close:
        return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"
    return f" (valid: {', '.join(names)})" if names and len(names) <= 16 else ""


def _under(where: str) -> str:
    return f"in {where}" if where else "at the top level"


def _kind(annotation: Any) -> Kind:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        real = [a for a in args if a is not type(None)]
        return _kind(real[0]) if len(real) == 1 else ("value", None)
    if origin is typing.Annotated:
        return _kind(args[0])
    if origin is dict:
        return ("map", args[1])
    if origin is list:
        return ("list", args[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return ("model", annotation)
    return ("value", None)
