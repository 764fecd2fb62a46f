"""The field reference of a spec, generated from its pydantic models (type, constraints, default,
description per field) as Markdown tables between two markers of a document: docs/studies.md
for study specs, docs/ablations.md for ablation definitions. A test keeps both current."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Sequence
from typing import Any, Literal, cast

import annotated_types
import yaml
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from detlab.specs.study import Dimension, Number, StrictSpec

__all__ = ["render_reference", "replace_reference"]


def render_reference(sections: Sequence[tuple[str, type[StrictSpec]]]) -> str:
    """One Markdown table per section, from the models' annotations, defaults and descriptions.
    The first section's model is the top level, whose `name` defaults to the file name."""
    out: list[str] = []
    for section, model in sections:
        out += [
            f"### `{section}`",
            "",
            (model.__doc__ or "").strip().splitlines()[0],
            "",
            "| field | type | default | description |",
            "|---|---|---|---|",
        ]
        for name, field in model.model_fields.items():
            kind = _type_name(field.annotation) + _constraints(field.metadata)
            if field.default is PydanticUndefined and field.default_factory is None:
                default = "required"
            else:
                value = field.get_default(call_default_factory=True)
                default = "see below" if isinstance(value, BaseModel) else f"`{_yaml(value)}`"
            if model is sections[0][1] and name == "name":
                default = "file name"
            out.append(f"| `{name}` | {kind} | {default} | {_cell(field.description or '')} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def replace_reference(doc: str, sections: Sequence[tuple[str, type[StrictSpec]]], begin: str, end: str) -> str:
    """`doc` with the text between `begin` and `end` replaced by `render_reference(sections)`."""
    head, found, rest = doc.partition(begin)
    _, found_end, tail = rest.partition(end)
    if not (found and found_end):
        raise ValueError(f"the document lacks the markers {begin!r} ... {end!r}")
    return f"{head}{begin}\n{render_reference(sections)}{end}{tail}"


def _type_name(annotation: Any) -> str:
    if annotation == Number:
        return "number"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        named = [_type_name(a) for a in args if a is not type(None)]
        return " or ".join(named) + (" or null" if type(None) in args else "")
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map: dotted key -> {_type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, StrictSpec):
        return "section" if annotation is not Dimension else "dimension"
    return "any" if annotation is Any else getattr(annotation, "__name__", str(annotation))


def _constraints(metadata: list[Any]) -> str:
    marks = {
        annotated_types.Ge: ">=",
        annotated_types.Gt: ">",
        annotated_types.Le: "<=",
        annotated_types.Lt: "<",
        annotated_types.MinLen: "length >=",
    }
    parts = []
    for item in metadata:
        for cls, sign in marks.items():
            if isinstance(item, cls):
                parts.append(f"{sign} {getattr(item, dataclasses.fields(cast(Any, item))[0].name)}")
    return f" ({', '.join(parts)})" if parts else ""


def _yaml(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
