"""Running counts of positive anchors per GT, per FPN level.

CLA's claim is "more positives per object"; these totals let training log it
(``pos_per_gt/...``) without a device sync per image: counts stay tensors
until ``summary()`` is called.
"""

from __future__ import annotations

import torch


class AssignStats:
    """Totals since the last ``reset()``: GTs, step-A positives and final positives per level."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.num_gts = 0
        self.strides: tuple[int, ...] = ()
        self._maxiou: torch.Tensor | None = None
        self._final: torch.Tensor | None = None

    def add(self, result, num_gts: int, strides: tuple[int, ...] = ()) -> None:
        """Add one image's ``CrossGridResult``."""
        self._accumulate(result.maxiou_assigned, result.assigned, result.level_sizes, num_gts, strides)

    def add_maxiou_only(self, gt_inds: torch.Tensor, num_gts: int, grid=None) -> None:
        """Add one image assigned by plain MaxIoU (CLA off); per level when the grid is known."""
        if grid is None:
            self._accumulate(gt_inds, gt_inds, (gt_inds.numel(),), num_gts, ())
            return
        full = gt_inds.new_zeros(grid.inside_flags.shape)
        full[grid.inside_flags] = gt_inds
        self._accumulate(full, full, tuple(grid.level_sizes), num_gts, grid.strides)

    def _accumulate(self, maxiou, final, level_sizes, num_gts, strides) -> None:
        per_level = lambda t: torch.stack([(x > 0).sum() for x in torch.split(t, list(level_sizes))])
        a, b = per_level(maxiou), per_level(final)
        if self._maxiou is None or self._final is None or self._maxiou.shape != a.shape:
            self._maxiou, self._final = a, b
        else:
            self._maxiou, self._final = self._maxiou + a, self._final + b
        self.num_gts += int(num_gts)
        self.strides = tuple(strides) or self.strides

    def summary(self) -> dict[str, float]:
        """``{'pos_per_gt/maxiou': .., 'pos_per_gt/cla': .., 'pos_per_gt/cla/s8': .., ...}``."""
        if self._maxiou is None or self._final is None or self.num_gts == 0:
            return {}
        n = float(self.num_gts)
        maxiou, final = self._maxiou.double().cpu() / n, self._final.double().cpu() / n
        out = {"pos_per_gt/maxiou": float(maxiou.sum()), "pos_per_gt/cla": float(final.sum())}
        if len(self.strides) == maxiou.numel():
            for s, m, f in zip(self.strides, maxiou.tolist(), final.tolist()):
                out[f"pos_per_gt/maxiou/s{s}"] = m
                out[f"pos_per_gt/cla/s{s}"] = f
        return out
