"""CLA: the pure assignment function and its registered assigner."""
from .cross_grid import QUIRKS, CrossGridResult, cross_grid_assign, cross_grid_assign_full
from .cross_grid_assigner import CrossGridAssigner
from .geometry import points_in_quads
from .grid_context import GridContext

__all__ = ["cross_grid_assign", "cross_grid_assign_full", "CrossGridResult", "CrossGridAssigner",
           "GridContext", "points_in_quads", "QUIRKS"]
