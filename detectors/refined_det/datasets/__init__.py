"""Datasets: strict DOTA/HRSC2016 loaders registered in mmrotate's ROTATED_DATASETS.

`import refined_det.register` (or of `.dota` / `.hrsc`) registers
`StrictDOTADataset` and `StrictHRSCDataset`; importing this package alone loads
no mmrotate, so the file formats in `refined_det.datasets.formats` stay light.
"""

from __future__ import annotations

import importlib

_CLASSES = {"StrictDOTADataset": ".dota", "StrictHRSCDataset": ".hrsc"}

__all__ = list(_CLASSES)


def __getattr__(name: str):
    if name in _CLASSES:
        return getattr(importlib.import_module(_CLASSES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
