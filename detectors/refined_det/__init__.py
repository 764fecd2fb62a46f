"""refined_det: MMRotate 0.x plugins for Refined-Det (CLA + FRHead).

``import refined_det.register`` registers ``CrossGridAssigner``,
``SparseRBboxOverlaps2D``, ``CLARetinaHead``, ``FRHead``, ``RefinedDet`` and the
strict datasets in mmrotate's registries; configs do it with
``custom_imports = dict(imports=['refined_det.register'])``.

Importing the package itself loads nothing heavy (no torch, mmcv or mmrotate),
so the annotation readers in ``refined_det.datasets.formats`` serve the
evaluator and the data tools without the detector stack. The names below load
their subpackage on first use (PEP 562). No CUDA is needed to import or train.
"""

from __future__ import annotations

import importlib

_SUBPACKAGES = ("assigners", "datasets", "dense_heads", "detectors")
_FROM_ASSIGNERS = ("CrossGridAssigner", "cross_grid_assign")

__all__ = [*_FROM_ASSIGNERS, *_SUBPACKAGES]


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    if name in _FROM_ASSIGNERS:
        return getattr(importlib.import_module(".assigners", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
