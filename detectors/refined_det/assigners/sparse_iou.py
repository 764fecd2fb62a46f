"""Rotated IoU of every box pair, computed exactly only where it can be non-zero.

Two rotated boxes can only intersect when their circumscribed circles do, and
when no edge direction of either box separates them (separating-axis test). At
1024x1024 with 100 GTs, about 2 % of the anchor-GT pairs pass both tests, yet
mmrotate's ``rbbox_overlaps`` runs mmcv's polygon-clipping kernel on all of
them (seconds per image on a CPU). Here the candidate pairs go through the same
kernel (``box_iou_rotated(..., aligned=True)``: the same per-pair function,
argument order and 1e-3 size clamp as ``rbbox_overlaps``), every other pair is
0, and the result is the same dense ``(rows, cols)`` matrix, value for value,
so assigners built on it give the same labels.

That pays on a CPU only. On a GPU the dense kernel is one launch over all pairs,
and the pruning costs more than it saves (an H200, ``benchmarks/assign.py --device
cuda``: the sparse path took 1.4-3.0x the dense time with one anchor per cell,
5x with nine). So the default, ``iou_mode='auto'``, runs the sparse path on CPU
tensors and mmrotate's dense ``rbbox_overlaps`` on CUDA tensors.
"""

from __future__ import annotations

import torch
from mmcv.ops import box_iou_rotated
from mmrotate.core.bbox.iou_calculators.builder import ROTATED_IOU_CALCULATORS
from mmrotate.core.bbox.iou_calculators.rotate_iou2d_calculator import RBboxOverlaps2D, rbbox_overlaps

IOU_MODES = ("auto", "sparse", "dense")
CUDA_PATHS = ("dense", "sparse")
# Added to the sum of the two radii, so pairs a hair apart (float32 rounding,
# the kernel's own epsilons) still get the exact kernel rather than a 0.
REACH_SLACK_PX = 1.0
# Rows per chunk of the centre-distance test keep its memory near 16 MB.
_PAIRS_PER_CHUNK = 1 << 22
_MIN_SIZE = 1e-3  # rbbox_overlaps clamps w and h to this before the kernel


def candidate_pairs(boxes1: torch.Tensor, boxes2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices ``(i, j)`` of the pairs that may intersect: circumscribed circles overlap and
    no separating axis, each test with a slack so that only clearly disjoint pairs are dropped."""
    boxes1, boxes2 = boxes1.detach(), boxes2.detach()

    def centre_radius(boxes):
        wh = boxes[:, 2:4].clamp(min=_MIN_SIZE)
        return boxes[:, :2], 0.5 * torch.linalg.vector_norm(wh, dim=1)

    c1, r1 = centre_radius(boxes1)
    c2, r2 = centre_radius(boxes2)
    rows_per_chunk = max(1, _PAIRS_PER_CHUNK // max(1, boxes2.shape[0]))
    found_i, found_j = [], []
    for start in range(0, boxes1.shape[0], rows_per_chunk):
        stop = start + rows_per_chunk
        d2 = torch.cdist(c1[start:stop], c2, compute_mode="donot_use_mm_for_euclid_dist").square_()
        reach = r1[start:stop, None] + r2[None] + REACH_SLACK_PX
        reach = reach + reach * 1e-4
        i, j = torch.nonzero(d2 <= reach.square_(), as_tuple=True)
        found_i.append(i + start)
        found_j.append(j)
    i, j = torch.cat(found_i), torch.cat(found_j)
    keep = _overlap_on_every_axis(boxes1[i], boxes2[j])
    return i[keep], j[keep]


def _overlap_on_every_axis(b1: torch.Tensor, b2: torch.Tensor) -> torch.Tensor:
    """Row-aligned separating-axis test of rotated rectangles: False where an edge direction
    of either box separates them by more than the slack. Axes as mmcv's kernel builds the
    corners: w along (cos a, sin a), h along (-sin a, cos a)."""

    def half_axes(b):
        cos, sin = torch.cos(b[:, 4]), torch.sin(b[:, 4])
        half = b[:, 2:4].clamp(min=_MIN_SIZE) / 2
        return torch.stack([cos, sin], 1), torch.stack([-sin, cos], 1), half[:, 0], half[:, 1]

    u1, v1, w1, h1 = half_axes(b1)
    u2, v2, w2, h2 = half_axes(b2)
    centre = b2[:, :2] - b1[:, :2]
    keep = torch.ones(b1.shape[0], dtype=torch.bool, device=b1.device)
    for axis, (u, v, w, h), (ou, ov, ow, oh) in (
        (u1, (u1, v1, w1, h1), (u2, v2, w2, h2)),
        (v1, (u1, v1, w1, h1), (u2, v2, w2, h2)),
        (u2, (u2, v2, w2, h2), (u1, v1, w1, h1)),
        (v2, (u2, v2, w2, h2), (u1, v1, w1, h1)),
    ):
        own = w * (u * axis).sum(1).abs() + h * (v * axis).sum(1).abs()
        other = ow * (ou * axis).sum(1).abs() + oh * (ov * axis).sum(1).abs()
        reach = own + other + REACH_SLACK_PX
        keep &= (centre * axis).sum(1).abs() <= reach + reach * 1e-4
    return keep


def sparse_rbbox_overlaps(
    bboxes1: torch.Tensor, bboxes2: torch.Tensor, mode: str = "iou", is_aligned: bool = False
) -> torch.Tensor:
    """``rbbox_overlaps`` (le90 ``xywha`` boxes), with the kernel run on candidate pairs only."""
    rows, cols = bboxes1.shape[0], bboxes2.shape[0]
    if is_aligned or rows * cols == 0:
        return rbbox_overlaps(bboxes1, bboxes2, mode, is_aligned)
    assert mode in ("iou", "iof"), mode
    assert bboxes1.size(-1) == 5 and bboxes2.size(-1) == 5
    out = bboxes1.new_zeros((rows, cols))
    i, j = candidate_pairs(bboxes1, bboxes2)
    if i.numel():
        pairs1 = bboxes1.detach()[i]
        pairs2 = bboxes2.detach()[j]
        pairs1[:, 2:4].clamp_(min=_MIN_SIZE)
        pairs2[:, 2:4].clamp_(min=_MIN_SIZE)
        out[i, j] = box_iou_rotated(pairs1, pairs2, mode, aligned=True).to(out.dtype)
    return out


def auto_rbbox_overlaps(
    bboxes1: torch.Tensor, bboxes2: torch.Tensor, mode: str = "iou", is_aligned: bool = False
) -> torch.Tensor:
    """``iou_mode='auto'``: the sparse matrix for CPU tensors, mmrotate's dense one for CUDA tensors."""
    overlaps = rbbox_overlaps if bboxes1.is_cuda else sparse_rbbox_overlaps
    return overlaps(bboxes1, bboxes2, mode, is_aligned)


@ROTATED_IOU_CALCULATORS.register_module()
class SparseRBboxOverlaps2D(RBboxOverlaps2D):
    """``RBboxOverlaps2D`` computed sparsely: same matrix, exact IoU only for pairs that can overlap.

    Args:
        cuda: what runs on CUDA tensors: ``'dense'`` (default: mmrotate's kernel on every pair,
            the faster there) or ``'sparse'`` (the pruned path, as on the CPU).
    """

    def __init__(self, cuda: str = "dense"):
        if cuda not in CUDA_PATHS:
            raise ValueError(f"SparseRBboxOverlaps2D cuda must be one of {CUDA_PATHS} (got {cuda!r})")
        self.cuda = cuda

    def __call__(self, bboxes1, bboxes2, mode="iou", is_aligned=False, version="oc"):
        assert bboxes1.size(-1) in (0, 5, 6) and bboxes2.size(-1) in (0, 5, 6)
        if is_aligned:
            return super().__call__(bboxes1, bboxes2, mode, is_aligned, version)
        overlaps = auto_rbbox_overlaps if self.cuda == "dense" else sparse_rbbox_overlaps
        return overlaps(bboxes1[..., :5].contiguous(), bboxes2[..., :5].contiguous(), mode, is_aligned)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(cuda={self.cuda!r})"


def overlaps_for_mode(calculator, iou_mode: str):
    """The IoU calculator an assigner uses under ``iou_mode``: 'auto' (default: sparse on the CPU,
    dense on CUDA), 'sparse' (sparse on both) or 'dense' (upstream's ``RBboxOverlaps2D``).

    'auto' and 'sparse' swap mmrotate's ``RBboxOverlaps2D`` for its sparse twin;
    'dense' swaps it back (so a config can inherit a sparse calculator and still
    ask for dense). Any other calculator is kept under 'dense' and refused otherwise.
    """
    if iou_mode not in IOU_MODES:
        raise ValueError(f"iou_mode must be one of {IOU_MODES} (got {iou_mode!r})")
    rotated = type(calculator) in (RBboxOverlaps2D, SparseRBboxOverlaps2D)
    if iou_mode == "dense":
        return RBboxOverlaps2D() if rotated else calculator
    if not rotated:
        raise ValueError(
            f"iou_mode={iou_mode!r} computes mmrotate's rotated IoU; with iou_calculator "
            f"{type(calculator).__name__} set iou_mode='dense'"
        )
    return SparseRBboxOverlaps2D(cuda="sparse" if iou_mode == "sparse" else "dense")
