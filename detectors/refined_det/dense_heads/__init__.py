"""Rotated anchor heads that feed CLA the anchor grid and run on CPU."""

from .cla_retina_head import CLARetinaHead
from .fr_head import FRHead
from .grid_assign_mixin import GridAssignMixin

__all__ = ["CLARetinaHead", "FRHead", "GridAssignMixin"]
