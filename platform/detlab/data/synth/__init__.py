"""Synthetic HRSC2016 and DOTA v1.0 datasets, in the real on-disk formats.

No real imagery can be downloaded here, yet training, splitting, merging and
evaluation need data a small detector can learn. Each class gets its own shape,
colour and texture on a cluttered background (colour fields, blobs, roads,
noise), and the label is the tight rotated box of what was drawn. Image `i` of
seed `s` is drawn from `default_rng([s, i, dataset])` alone, so the output is
byte-identical for a seed whatever the number of workers.

`draw` (the drawing kit), `shapes` (how each class looks), `render` (whole images),
`write` (the dataset on disk).
"""

from detlab.data.synth.render import (
    DATASETS,
    dota_image_id,
    hrsc_image_id,
    hrsc_split_of,
    render_dota,
    render_hrsc,
)
from detlab.data.synth.write import synth_dataset
from refined_det.datasets.formats import write_dota_label, write_hrsc_xml

__all__ = [
    "DATASETS",
    "dota_image_id",
    "hrsc_image_id",
    "hrsc_split_of",
    "render_dota",
    "render_hrsc",
    "synth_dataset",
    "write_dota_label",
    "write_hrsc_xml",
]
