"""CLA: the pure assignment function and its registered assigner."""

from .cross_grid import QUIRKS, CrossGridResult, cross_grid_assign, cross_grid_assign_full
from .cross_grid_assigner import CrossGridAssigner
from .geometry import points_in_quads
from .grid_context import GridContext
from .sparse_iou import SparseRBboxOverlaps2D, sparse_rbbox_overlaps

__all__ = [
    "cross_grid_assign",
    "cross_grid_assign_full",
    "CrossGridResult",
    "CrossGridAssigner",
    "GridContext",
    "points_in_quads",
    "QUIRKS",
    "SparseRBboxOverlaps2D",
    "sparse_rbbox_overlaps",
]
