"""What a grid-aware assigner needs beyond anchors and GTs, handed over by the head."""

from __future__ import annotations

from collections.abc import Sequence
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

    @classmethod
    def whole(cls, anchors: Sequence[torch.Tensor], featmap_sizes, strides, pad_shape) -> GridContext:
        """Every anchor of the per-level ``anchors`` counted as inside (diagnostics, tests)."""
        flat = torch.cat(list(anchors))
        return cls(
            flat_anchors=flat,
            inside_flags=torch.ones(flat.shape[0], dtype=torch.bool, device=flat.device),
            featmap_sizes=tuple((int(h), int(w)) for h, w in featmap_sizes),
            strides=tuple(int(s) for s in strides),
            pad_shape=(int(pad_shape[0]), int(pad_shape[1])),
        )

    @property
    def level_sizes(self) -> list[int]:
        return [h * w for h, w in self.featmap_sizes]

    def per_level(self, flat: torch.Tensor) -> list[torch.Tensor]:
        return list(torch.split(flat, self.level_sizes, dim=0))
