"""Datasets: strict DOTA/HRSC2016 loaders registered in mmrotate's ROTATED_DATASETS.

`import refined_det.datasets` registers `StrictDOTADataset` and `StrictHRSCDataset`;
the file formats themselves live in `refined_det.datasets.formats`.
"""
from .dota import StrictDOTADataset
from .hrsc import StrictHRSCDataset

__all__ = ['StrictDOTADataset', 'StrictHRSCDataset']
