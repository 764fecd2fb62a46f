"""Point-in-rotated-box test in plain torch.

mmcv's ``points_in_polygons`` (used by the paper's code) has no CPU kernel, so
CLA could not train on a CPU-only machine. This is the same test, vectorised,
identical on CPU and CUDA.
"""

from __future__ import annotations

import torch


def points_in_quads(points: torch.Tensor, quads: torch.Tensor) -> torch.Tensor:
    """Which points lie strictly inside which convex quadrilaterals.

    Args:
        points: ``(P, 2)`` x, y.
        quads: ``(Q, 8)`` corners ``x0 y0 x1 y1 x2 y2 x3 y3`` in order (either
            orientation), as ``mmrotate.core.obb2poly`` returns them.

    Returns:
        ``(P, Q)`` bool. A point is inside when it is on the same side of all
        four edges; points exactly on an outline count as outside (the paper code
        leaves them undefined).
    """
    if points.numel() == 0 or quads.numel() == 0:
        return points.new_zeros((points.shape[0], quads.shape[0]), dtype=torch.bool)
    corners = quads.reshape(-1, 4, 2)  # (Q, 4, 2)
    edges = corners.roll(-1, dims=1) - corners  # (Q, 4, 2)
    rel = points[:, None, None, :] - corners[None]  # (P, Q, 4, 2)
    cross = edges[None, ..., 0] * rel[..., 1] - edges[None, ..., 1] * rel[..., 0]
    return (cross > 0).all(-1) | (cross < 0).all(-1)
