"""Label-assignment diagnostics: positives per GT per FPN level (MaxIoU vs CLA) and the
assigned-cells picture, from a config and its dataset (no training)."""

from detlab.diagnostics.ablation import Diagnostics, diagnose
from detlab.diagnostics.positives import Series, count_positives, featmap_sizes, per_level_table
from detlab.diagnostics.samples import Sample, load_samples

__all__ = [
    "Diagnostics",
    "diagnose",
    "Series",
    "count_positives",
    "featmap_sizes",
    "per_level_table",
    "Sample",
    "load_samples",
]
