"""``SubPath``: a read-only ``Path`` attribute declared as "that folder / this name".

A run's files (sweep state, Optuna database, journal, server log) sit at fixed
places under a folder attribute. Declaring each as ``SubPath("folder", "name")``
keeps the layout in one readable table instead of one property per file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, overload


class SubPath:
    """``getattr(obj, base) / part / ...``; ``{name}`` in a part is filled from ``obj``'s attribute."""

    def __init__(self, base: str, *parts: str):
        self.base = base
        self.parts = parts

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> SubPath: ...
    @overload
    def __get__(self, obj: object, owner: type) -> Path: ...
    def __get__(self, obj: Any, owner: type) -> Path | SubPath:
        if obj is None:
            return self
        fields = _Attributes(obj)
        return Path(getattr(obj, self.base), *(part.format_map(fields) for part in self.parts))


class _Attributes(dict):
    def __init__(self, obj: object):
        super().__init__()
        self.obj = obj

    def __missing__(self, key: str) -> Any:
        return getattr(self.obj, key)
