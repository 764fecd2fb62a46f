"""Detectors of Refined-Det."""

from .refined_det import RefinedDet

__all__ = ["RefinedDet"]
