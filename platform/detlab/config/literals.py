"""Text -> Python values, the same way for `--set` values and study YAML files.

PyYAML implements YAML 1.1, which has two traps for experiment settings:
`on`/`off`/`yes`/`no` become booleans and `1e-3` (no dot) stays a string, so
a learning rate written the natural way would silently be text. Our loader
keeps only `true`/`false` as booleans, reads `1e-3` as a float and does not
turn dates into `datetime` objects.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import yaml

__all__ = ["parse_value", "yaml_load"]

_BOOL_TAG = "tag:yaml.org,2002:bool"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_DROPPED = {_BOOL_TAG, _FLOAT_TAG, _TIMESTAMP_TAG}

# YAML 1.2 core-schema floats: a dot or an exponent (or both), plus inf/nan.
_FLOAT_RE = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and floats, and no timestamps."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver(_FLOAT_TAG, _FLOAT_RE, list("-+0123456789."))


def yaml_load(text: str) -> Any:
    """Parse YAML text with the loader above (raises yaml.YAMLError)."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def parse_value(text: str) -> Any:
    """Parse the right-hand side of `key=value`.

    A Python literal first (so `(640, 640)` stays a tuple and `None` is None),
    then YAML (`null`, `true`, `[a, b]`, `{type: X}`); anything else, and any
    text that YAML would only read as a plain string, is kept verbatim.
    An empty value is the empty string.
    """
    stripped = text.strip()
    if not stripped:
        return ""
    try:
        return ast.literal_eval(stripped)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    try:
        value = yaml_load(stripped)
    except yaml.YAMLError:
        return stripped
    return stripped if isinstance(value, str) else value
