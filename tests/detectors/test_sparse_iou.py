"""Sparse rotated IoU: the same IoU matrix as mmrotate's dense one, hence the same labels.

Random cases (seeded) mix what could make the two differ: zero-width and
zero-height GTs (clamped to 1e-3 by both), GTs equal to an anchor (IoU 1, ties
between anchors and between duplicated GTs), GTs a hair apart from anchors,
GTs larger than the image or outside it, and invalid anchors. Every case checks
the matrix value for value, CLA's labels, and MaxIoU's labels (CrossGridAssigner
with cross_grid=False and mmdet's MaxIoUAssigner) on a 9-anchor grid.
"""
from __future__ import annotations

import math

import pytest
import torch
from mmdet.core import build_assigner
from mmrotate.core import build_prior_generator
from mmrotate.core.bbox.iou_calculators.rotate_iou2d_calculator import rbbox_overlaps

import refined_det.register  # noqa: F401  (registers the plugins)
from cla_helpers import grid_anchors, random_gts
from refined_det.assigners import SparseRBboxOverlaps2D, cross_grid_assign_full, sparse_rbbox_overlaps
from refined_det.assigners.sparse_iou import auto_rbbox_overlaps, candidate_pairs, overlaps_for_mode

PAD = (96, 128)
STRIDES = [8, 16, 32]
SIZES = [(math.ceil(PAD[0] / s), math.ceil(PAD[1] / s)) for s in STRIDES]
NUM_CASES = 120


def hard_gts(seed: int, anchors: torch.Tensor) -> torch.Tensor:
    """Random le90 GTs plus degenerate, tied, touching and out-of-image ones."""
    gen = torch.Generator().manual_seed(seed)
    n = 4 + seed % 9
    gts = [random_gts(gen, n, PAD, max_size=80.0 if seed % 2 else 200.0)]
    pick = torch.randint(0, anchors.shape[0], (4,), generator=gen)
    gts.append(anchors[pick[:2]])                                   # IoU exactly 1: ties
    flat = anchors[pick[2:]].clone()
    flat[0, 2] = 0.0                                                # zero width
    flat[1, 3] = 0.0                                                # zero height
    gts.append(flat)
    if seed % 3 == 0:
        gts.append(torch.tensor([[0.0, 0.0, 0.0, 0.0, 0.0]]))      # a point
        a = anchors[pick[0]].clone()
        a[0] += a[2] + 1e-3                                         # just right of an anchor
        gts.append(a[None])
    if seed % 4 == 0:
        gts.append(torch.tensor([[PAD[1] + 40.0, -30.0, 60.0, 20.0, 0.3],   # outside the image
                                 [PAD[1] / 2, PAD[0] / 2, 400.0, 300.0, -0.7]]))  # larger than it
    out = torch.cat(gts)
    if seed % 5 == 0:
        out = torch.cat([out, out[:3]])                             # duplicated GTs: ties across GTs
    return out


def nine_anchor_grid() -> torch.Tensor:
    gen = build_prior_generator(dict(type="RotatedAnchorGenerator", octave_base_scale=4,
                                     scales_per_octave=3, ratios=[1.0, 0.5, 2.0], strides=STRIDES))
    return torch.cat(gen.grid_priors(SIZES, device="cpu"))


def max_iou(iou_calculator: str, cross_grid_assigner: bool):
    cfg = dict(pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0, ignore_iof_thr=-1,
               iou_calculator=dict(type=iou_calculator))
    if cross_grid_assigner:
        mode = "sparse" if iou_calculator == "SparseRBboxOverlaps2D" else "dense"
        cfg.update(type="CrossGridAssigner", cross_grid=False, iou_mode=mode)
    else:
        cfg.update(type="MaxIoUAssigner")
    return build_assigner(cfg)


@pytest.mark.parametrize("seed", range(NUM_CASES))
def test_sparse_equals_dense_matrix_and_labels(seed):
    anchors = grid_anchors(SIZES, STRIDES)
    flat = torch.cat(anchors)
    gts = hard_gts(seed, flat)
    assert torch.equal(sparse_rbbox_overlaps(gts, flat), rbbox_overlaps(gts, flat))

    valid = None
    if seed % 2:
        gen = torch.Generator().manual_seed(1000 + seed)
        valid = [torch.rand(a.shape[0], generator=gen) > 0.1 for a in anchors]
    kwargs = dict(radius=0.3 + 0.1 * (seed % 5), num_neighbors=1 + seed % 3)
    sparse = cross_grid_assign_full(anchors, SIZES, STRIDES, gts, PAD, valid, iou_mode="sparse", **kwargs)
    dense = cross_grid_assign_full(anchors, SIZES, STRIDES, gts, PAD, valid, iou_mode="dense", **kwargs)
    for field in ("assigned", "maxiou_assigned", "max_overlaps", "argmax_overlaps"):
        assert torch.equal(getattr(sparse, field), getattr(dense, field)), field

    nine = nine_anchor_grid()
    assert torch.equal(sparse_rbbox_overlaps(gts, nine), rbbox_overlaps(gts, nine))
    gt_labels = torch.arange(gts.shape[0]) % 3
    for wrapped in (False, True):
        results = [max_iou(calc, wrapped).assign(nine, gts, gt_labels=gt_labels)
                   for calc in ("SparseRBboxOverlaps2D", "RBboxOverlaps2D")]
        sparse_run, dense_run = results
        for field in ("gt_inds", "max_overlaps", "labels"):
            assert torch.equal(getattr(sparse_run, field), getattr(dense_run, field)), field


def test_cases_hit_ties_and_degenerate_boxes():
    """The random cases really contain what the equality test claims to cover."""
    anchors = torch.cat(grid_anchors(SIZES, STRIDES))
    tied = degenerate = 0
    for seed in range(NUM_CASES):
        gts = hard_gts(seed, anchors)
        iou = rbbox_overlaps(gts, anchors)
        best = iou.max(dim=1, keepdim=True).values
        tied += int(((iou == best) & (best > 0)).sum(dim=1).gt(1).any())
        degenerate += int((gts[:, 2:4] == 0).any(dim=1).sum())
    assert tied >= NUM_CASES // 2 and degenerate >= 2 * NUM_CASES


def test_sparse_runs_the_kernel_on_few_pairs_at_full_size():
    """1024x1024, 100 GTs, 21,824 anchors: the circle test keeps a small share of the pairs."""
    sizes = [(1024 // s, 1024 // s) for s in (8, 16, 32, 64, 128)]
    anchors = torch.cat(grid_anchors(sizes, [8, 16, 32, 64, 128]))
    gts = random_gts(torch.Generator().manual_seed(0), 100, (1024, 1024), max_size=200.0)
    i, j = candidate_pairs(gts, anchors)
    assert 0 < i.numel() < 0.05 * gts.shape[0] * anchors.shape[0]
    # every pair with a non-zero IoU is a candidate
    dense = rbbox_overlaps(gts, anchors)
    nonzero = set(map(tuple, torch.nonzero(dense).tolist()))
    assert nonzero <= set(zip(i.tolist(), j.tolist()))


def test_iou_mode_picks_the_calculator():
    from mmrotate.core.bbox.iou_calculators import RBboxOverlaps2D

    auto = overlaps_for_mode(RBboxOverlaps2D(), "auto")
    forced = overlaps_for_mode(RBboxOverlaps2D(), "sparse")
    assert type(auto) is SparseRBboxOverlaps2D and auto.cuda == "dense"
    assert type(forced) is SparseRBboxOverlaps2D and forced.cuda == "sparse"
    assert type(overlaps_for_mode(SparseRBboxOverlaps2D(), "dense")) is RBboxOverlaps2D
    assert type(max_iou("RBboxOverlaps2D", True).iou_calculator) is RBboxOverlaps2D
    default = build_assigner(dict(type="CrossGridAssigner"))
    assert default.iou_mode == "auto" and repr(default.iou_calculator) == "SparseRBboxOverlaps2D(cuda='dense')"
    with pytest.raises(ValueError, match="iou_mode must be one of"):
        build_assigner(dict(type="CrossGridAssigner", iou_mode="approx"))
    with pytest.raises(ValueError, match="set iou_mode='dense'"):
        overlaps_for_mode(object(), "sparse")
    with pytest.raises(ValueError, match="SparseRBboxOverlaps2D cuda must be one of"):
        SparseRBboxOverlaps2D(cuda="fast")


@pytest.mark.parametrize("seed", range(0, NUM_CASES, 10))
def test_auto_mode_on_the_cpu_is_the_sparse_path(seed):
    """'auto' (the default) on CPU tensors: the same matrix and labels as 'sparse' and 'dense'."""
    anchors = grid_anchors(SIZES, STRIDES)
    flat = torch.cat(anchors)
    gts = hard_gts(seed, flat)
    assert torch.equal(auto_rbbox_overlaps(gts, flat), sparse_rbbox_overlaps(gts, flat))
    assert torch.equal(SparseRBboxOverlaps2D()(gts, flat), rbbox_overlaps(gts, flat))
    runs = [cross_grid_assign_full(anchors, SIZES, STRIDES, gts, PAD, iou_mode=m) for m in ("auto", "dense")]
    assert torch.equal(runs[0].assigned, runs[1].assigned)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_auto_mode_on_cuda_is_mmrotates_dense_kernel():
    """On CUDA tensors 'auto' and the calculator's default run mmrotate's dense kernel, value for value."""
    anchors = [a.cuda() for a in grid_anchors(SIZES, STRIDES)]
    flat = torch.cat(anchors)
    gts = hard_gts(3, flat.cpu()).cuda()
    dense = rbbox_overlaps(gts, flat)
    assert torch.equal(auto_rbbox_overlaps(gts, flat), dense)
    assert torch.equal(SparseRBboxOverlaps2D()(gts, flat), dense)
    runs = [cross_grid_assign_full(anchors, SIZES, STRIDES, gts, PAD, iou_mode=m) for m in ("auto", "dense")]
    assert torch.equal(runs[0].assigned, runs[1].assigned)
