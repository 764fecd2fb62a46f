"""Class lists the evaluators default to."""

from __future__ import annotations

from refined_det.datasets.formats import DOTA_CLASSES

# DOTA v1.0, in the devkit's order (the order of the per-class table and of mmrotate's labels):
# the one list, kept beside the DOTA format reader (a light import: no torch, mmcv or mmrotate).
DOTA_V1_CLASSES: tuple[str, ...] = DOTA_CLASSES

# HRSC2016 evaluated as one class, as mmrotate's HRSCDataset (classwise=False) does.
HRSC_CLASSES: tuple[str, ...] = ("ship",)

# The thresholds of mmrotate 0.3.4's HRSCDataset.evaluate default, written as it writes them.
HRSC_IOU_THRS: tuple[float, ...] = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
