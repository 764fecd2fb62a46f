"""Test helpers: anchor grids as mmrotate builds them, random le90 GTs."""
from __future__ import annotations

import math

import torch


def grid_anchors(featmap_sizes, strides, device="cpu"):
    """Per-level anchors of RotatedAnchorGenerator(scales=[4], ratios=[1.0]) via mmrotate itself."""
    import refined_det.register  # noqa: F401  (registers the plugins)
    from mmrotate.core import build_prior_generator

    gen = build_prior_generator(dict(type="RotatedAnchorGenerator", scales=[4], ratios=[1.0],
                                     strides=list(strides)))
    return gen.grid_priors([tuple(s) for s in featmap_sizes], device=device)


def random_gts(gen: torch.Generator, num: int, pad_shape, max_size=160.0):
    h, w = pad_shape
    cx = torch.rand(num, generator=gen) * w
    cy = torch.rand(num, generator=gen) * h
    bw = 4 + torch.rand(num, generator=gen) * max_size
    bh = bw * (0.15 + torch.rand(num, generator=gen) * 0.85)
    ang = (torch.rand(num, generator=gen) - 0.5) * math.pi * 0.999
    return torch.stack([cx, cy, bw, bh, ang], dim=1)
