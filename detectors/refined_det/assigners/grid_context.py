"""What a grid-aware assigner needs beyond anchors and GTs, handed over by the head."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class GridContext:
    """The full anchor grid of one image, so CLA can map cells to anchors.

    mmrotate's heads hand assigners only the anchors that pass
    ``rotated_anchor_inside_flags``; CLA needs the whole per-level grid.
    """

    flat_anchors: torch.Tensor  # (N, 5) all anchors (or refined rois), levels concatenated
    inside_flags: torch.Tensor  # (N,) bool: the anchors the head passed to ``assign``
    featmap_sizes: tuple[tuple[int, int], ...]
    strides: tuple[int, ...]
    pad_shape: tuple[int, int]

    @property
    def level_sizes(self) -> list[int]:
        return [h * w for h, w in self.featmap_sizes]

    def per_level(self, flat: torch.Tensor) -> list[torch.Tensor]:
        return list(torch.split(flat, self.level_sizes, dim=0))
