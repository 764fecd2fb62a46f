"""refined_det: MMRotate 0.x plugins for Refined-Det (CLA + FRHead).

Importing this package registers ``CrossGridAssigner``, ``CLARetinaHead``,
``FRHead`` and ``RefinedDet`` (and the strict datasets) in mmrotate's
registries; configs do it with ``custom_imports = dict(imports=['refined_det'])``.
No CUDA is needed to import or train.
"""
from . import assigners, datasets, dense_heads, detectors  # noqa: F401  (registration)
from .assigners import CrossGridAssigner, cross_grid_assign

__all__ = ["CrossGridAssigner", "cross_grid_assign", "assigners", "datasets", "dense_heads", "detectors"]
