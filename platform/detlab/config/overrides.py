"""The one override language: dotted keys into an mmcv `Config`.

`model.train_cfg.assigner.radius=0.6` sets an existing key; list items are
addressed by index (`data.train.pipeline.2.img_scale=(640,640)`). A key that
does not exist is an error naming the first missing component, never a silent
no-op, because a typo in a sweep would otherwise train the baseline N times.
`+model.foo=1` adds a key on purpose (as in Hydra); missing parent dicts are
created. Study search spaces, `--set` and ablation definitions all go through
`apply_overrides`.

Rules for the value (see `_replace`): a dict-valued key takes a whole dict
(which replaces it, it is not merged) or None, never a scalar; a tuple-valued
key given a list keeps being a tuple (and vice versa), since mmdet pipelines
test `isinstance(img_scale, tuple)`; any other value is taken as given.
"""

from __future__ import annotations

import copy
import gc
import os
import sys
import traceback
from collections.abc import Iterable, Mapping
from typing import Any

from mmcv import Config, ConfigDict

from detlab.config.literals import parse_value
from detlab.config.suggest import suggest
from detlab.errors import UserError

__all__ = [
    "OverrideError",
    "parse_override",
    "apply_overrides",
    "flatten_config",
    "load_config",
]

ADD_PREFIX = "+"


class OverrideError(UserError):
    """A bad override; keeps its parts so callers (the spec loader) can reword it."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source, self.key, self.problem = source, key, problem
        super().__init__(f"{source} {key}: {problem}" if source else f"{key}: {problem}")


class _Problem(Exception):
    """Internal: what is wrong with one override, without the source and key."""


def parse_override(text: str) -> tuple[str, Any]:
    """`"a.b=0.6"` -> `("a.b", 0.6)`; the value is a Python/YAML literal, a bare word a string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UserError(f"{text!r}: an override is KEY=VALUE, e.g. model.train_cfg.assigner.radius=0.6")
    return key, parse_value(raw)


def _split_key(key: str) -> tuple[bool, list[str]]:
    """`"+a.b.0"` -> `(True, ["a", "b", "0"])`: whether it adds, and its components."""
    adds = key.startswith(ADD_PREFIX)
    parts = key[len(ADD_PREFIX) :].split(".") if adds else key.split(".")
    if not all(part.strip() for part in parts):
        raise _Problem("empty component in a dotted key")
    return adds, [part.strip() for part in parts]


def apply_overrides(cfg: Config, overrides: Mapping[str, Any] | Iterable[str], *, source: str = "--set") -> Config:
    """Return a copy of `cfg` with each override applied in order; `cfg` is left as it was.

    `overrides` is a mapping of dotted key -> value (already typed), or a list of
    `KEY=VALUE` strings. Raises `OverrideError` (a `UserError`) naming `source`,
    the key and the problem.
    """
    if isinstance(overrides, str):
        raise TypeError("overrides must be a mapping or a list of 'KEY=VALUE' strings, not one string")
    pairs = overrides.items() if isinstance(overrides, Mapping) else map(parse_override, overrides)
    data = _plain(cfg._cfg_dict)
    for key, value in pairs:
        try:
            adds, parts = _split_key(key)
            _set(data, parts, [], value, adds)
        except _Problem as problem:
            raise OverrideError(source, key, str(problem)) from None
    new = copy.copy(cfg)
    object.__setattr__(new, "_cfg_dict", ConfigDict(data))  # Config.__setattr__ writes into the dict
    return new


def flatten_config(cfg: Config | Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted key -> leaf value, e.g. for MLflow params.

    Dicts and lists that hold dicts or lists are descended into (list items by
    index: `data.train.pipeline.2.type`); a list or tuple of plain values is one
    leaf (`...img_scale: (1024, 1024)`), the same key an override would use.
    Empty dicts and lists are leaves too, so no key disappears.
    """
    root = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    flat: dict[str, Any] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, Mapping) and node:
            items: Iterable[tuple[Any, Any]] = node.items()
        elif isinstance(node, (list, tuple)) and any(isinstance(v, (Mapping, list, tuple)) for v in node):
            items = enumerate(node)
        else:
            flat[path] = _plain(node)
            return
        for key, value in items:
            walk(value, f"{path}.{key}" if path else str(key))

    walk(root, prefix)
    return flat


def load_config(
    path: str | os.PathLike[str],
    overrides: Mapping[str, Any] | Iterable[str] = (),
    *,
    source: str = "--set",
    import_custom_modules: bool = True,
) -> Config:
    """`Config.fromfile(path)` then `apply_overrides`; a missing file (or `_base_`) is a UserError.

    `import_custom_modules=False` skips the config's `custom_imports`, for checks
    that only need the keys (no torch, no model registry).
    """
    if not os.path.isfile(path):
        raise UserError(f"{os.fspath(path)}: config file not found")
    check_syntax(path)
    try:
        cfg = Config.fromfile(os.fspath(path), import_custom_modules=import_custom_modules)
    except Exception as err:
        _release_temp_files(err)
        if isinstance(err, FileNotFoundError):  # a `_base_` file named by the config
            raise UserError(f"{os.fspath(path)}: {err}") from None
        if isinstance(
            err,
            (
                SyntaxError,
                NameError,
                TypeError,
                ValueError,
                KeyError,
                AttributeError,
                ImportError,
                UnicodeDecodeError,
                IndexError,
                ArithmeticError,
            ),
        ):
            first = (str(err).strip().splitlines() or [""])[0]
            raise UserError(f"{os.fspath(path)}: does not load: {type(err).__name__}: {first}") from None
        raise
    return apply_overrides(cfg, overrides, source=source)


def check_syntax(path: str | os.PathLike[str]) -> None:
    """A Python config that does not parse is `<file>:<line>: <what>` (mmcv's own message has no line)."""
    if not os.fspath(path).endswith(".py"):
        return
    with open(path, "rb") as f:
        source = f.read()
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError as err:
        line = source[: err.start].count(b"\n") + 1
        raise UserError(f"{os.fspath(path)}:{line}: not UTF-8 text ({err.reason})") from None
    try:
        compile(text, os.fspath(path), "exec", dont_inherit=True)
    except SyntaxError as err:
        raise UserError(f"{os.fspath(path)}:{err.lineno}: Python syntax error: {err.msg}") from None
    except ValueError as err:  # e.g. a NUL byte
        raise UserError(f"{os.fspath(path)}: not a Python file ({err})") from None


def _release_temp_files(err: BaseException) -> None:
    """Finalise, now and quietly, the temporary file mmcv leaves behind when a config fails to load.

    `Config.fromfile` copies the config into a NamedTemporaryFile inside a
    TemporaryDirectory; when the config raises, the directory is removed but the
    file object lives on in the traceback, and its finaliser (a failing unlink)
    runs at some later garbage collection. If that collection happens inside
    `ast.parse`, as Python 3.11's traceback printing calls it, CPython fails with
    "SystemError: AST constructor recursion depth mismatch".
    """
    hook = sys.unraisablehook

    def quiet(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, FileNotFoundError):
            hook(unraisable)

    sys.unraisablehook = quiet
    try:
        traceback.clear_frames(err.__traceback__)
        gc.collect()
    finally:
        sys.unraisablehook = hook


# ---------------------------------------------------------------- internals


def _set(node: Any, parts: list[str], done: list[str], value: Any, adds: bool) -> Any:
    """Set `parts` under `node` (reached through `done`) and return the node (new if a tuple)."""
    part, rest = parts[0], parts[1:]
    where = ".".join(done) or "the top level"
    here = done + [part]
    if isinstance(node, dict):
        if part not in node:
            if not adds:
                raise _Problem(f"no key {part!r} {_under(done)}{_hint(part, node)}")
            node[part] = _set({}, rest, here, value, adds) if rest else _plain(value)
        elif not rest and adds:
            raise _Problem(f"key {part!r} already exists {_under(done)}; drop the '{ADD_PREFIX}' to change it")
        else:
            node[part] = _set(node[part], rest, here, value, adds) if rest else _replace(node[part], value, here)
        return node
    if isinstance(node, (list, tuple)):
        index = _index(part, node, where)
        items = list(node)
        items[index] = _set(items[index], rest, here, value, adds) if rest else _replace(items[index], value, here)
        if isinstance(node, tuple):
            return type(node)(items)
        node[:] = items
        return node
    raise _Problem(f"{where} is {_describe(node)}, so it has no key {part!r}")


def _replace(old: Any, new: Any, path: list[str]) -> Any:
    """The value to store instead of `old`; refuses changes that are clearly wrong."""
    if isinstance(old, dict) and new is not None and not isinstance(new, Mapping):
        example = f" (e.g. {'.'.join(path)}.{next(iter(old))}=...)" if old else ""
        raise _Problem(
            f"is a dict, cannot set it to {_describe(new)}; set one of its keys{example} or give a whole dict"
        )
    if isinstance(old, tuple) and isinstance(new, list):
        return tuple(_plain(new))
    if isinstance(old, list) and isinstance(new, tuple):
        return list(_plain(new))
    return _plain(new)


def _under(done: list[str]) -> str:
    return "under " + ".".join(done) if done else "at the top level"


def _index(part: str, node: list[Any] | tuple[Any, ...], where: str) -> int:
    span = f"0..{len(node) - 1}" if node else "none, it is empty"
    if not part.isdigit():
        raise _Problem(f"{where} is a list; {part!r} is not an index (valid: {span}){_types(node)}")
    index = int(part)
    if index >= len(node):
        raise _Problem(f"index {index} out of range for {where} (valid: {span}){_types(node)}")
    return index


def _types(node: list[Any] | tuple[Any, ...]) -> str:
    """For lists of registry dicts (pipelines, hooks): which index is which type."""
    if node and all(isinstance(v, Mapping) and "type" in v for v in node):
        return " [" + ", ".join(f"{i}={v['type']}" for i, v in enumerate(node)) + "]"
    return ""


def _hint(part: str, node: Mapping[Any, Any]) -> str:
    keys = [str(k) for k in node]
    close = suggest(part, keys)
    if close:
        return " (did you mean " + " or ".join(repr(k) for k in close) + "?)"
    if keys and len(keys) <= 12:
        return " (keys: " + ", ".join(keys) + ")"
    return ""


def _describe(value: Any) -> str:
    if value is None:
        return "None"
    text = repr(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"a {type(value).__name__} ({text})"


def _plain(value: Any) -> Any:
    """A deep copy with ConfigDicts (and other mappings) turned into plain dicts."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return (
            type(value)(_plain(v) for v in value)
            if not hasattr(value, "_fields")
            else type(value)(*(_plain(v) for v in value))
        )
    return copy.deepcopy(value)
