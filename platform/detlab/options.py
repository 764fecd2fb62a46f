"""One options dataclass filled from another object's attributes of the same names.

The commands fill their options from argparse's namespace this way, and the
ablation runner fills the sweep runner's options from its own, so a field
added to both is passed on without a second list of ``name=source.name``.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def options_of(cls: type[T], source: object, **given: Any) -> T:
    """``cls`` (a dataclass) from ``source``'s attributes named like its fields, then ``given``."""
    taken = {f.name: getattr(source, f.name) for f in fields(cls) if hasattr(source, f.name)}  # type: ignore[arg-type]
    return cls(**{**taken, **given})
