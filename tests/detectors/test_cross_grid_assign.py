"""cross_grid_assign: hand-worked cases (cells chosen, border rule, point-in-polygon
rule, max-IoU labels), the paper code's step A comparisons, bad input, and agreement
with a port of the paper's code on random inputs."""
from __future__ import annotations

import math

import pytest
import torch

from cla_helpers import grid_anchors, random_gts
from refined_det.assigners import cross_grid_assign, cross_grid_assign_full
from paper_code_cla_reference import paper_code_cla


def one_level(pad=(64, 64), stride=8, feat=None):
    feat = feat or (math.ceil(pad[0] / stride), math.ceil(pad[1] / stride))
    return grid_anchors([feat], [stride]), [feat], [stride], pad


def designed_iou(matrix):
    """An overlaps_fn returning a fixed (G, N) IoU matrix, to control step A by hand."""
    fixed = torch.tensor(matrix, dtype=torch.float32)
    return lambda gts, anchors: fixed.clone()


def iou_rows(num_anchors, entries):
    """(G, N) zero matrix with the given {(gt, anchor): iou} entries."""
    num_gts = 1 + max(g for g, _ in entries)
    m = [[0.0] * num_anchors for _ in range(num_gts)]
    for (g, a), v in entries.items():
        m[g][a] = v
    return m


def cell(x, y, fw=8):
    return y * fw + x


def positives(labels):
    return {int(i): int(labels[i]) for i in torch.nonzero(labels > 0).flatten()}


# ---------------------------------------------------------------- layout assumption
def test_anchor_points_sit_on_cell_corners():
    anchors, feats, strides, _ = one_level()
    a = anchors[0]
    assert a.shape == (64, 5)
    # cell (x=3, y=5) -> flat index 5*8+3, centre (24, 40), 4s x 4s, angle 0
    assert a[cell(3, 5)].tolist() == [24.0, 40.0, 32.0, 32.0, 0.0]


# ---------------------------------------------------------------- step B by hand
# GT centre (26, 29) on a 64x64 pad, stride 8: g = (3.25, 3.625); fractions
# left .25, up .625, right (8-3.25) .75, bottom (8-3.625) .375.
GT_A = [[26.0, 29.0, 40.0, 30.0, 0.0]]      # spans x [6, 46], y [14, 44]


@pytest.mark.parametrize("k, radius, expected_cells", [
    (1, 0.5, [(3, 3)]),                                  # centre only
    (2, 0.5, [(3, 3), (2, 3)]),                          # nearest side: left (.25)
    (3, 0.5, [(3, 3), (2, 3), (3, 4)]),                  # left .25 and bottom .375 < .5
    (3, 0.3, [(3, 3), (2, 3)]),                          # bottom .375 >= .3
    (3, 0.7, [(3, 3), (2, 3), (3, 2), (3, 4)]),          # up .625 < .7 too; right .75 not
])
def test_cells_chosen_for_k_and_radius(k, radius, expected_cells):
    anchors, feats, strides, pad = one_level()
    gts = torch.tensor(GT_A)
    iou = designed_iou(iou_rows(64, {(0, cell(3, 3)): 0.6}))
    res = cross_grid_assign_full(anchors, feats, strides, gts, pad, radius=radius,
                                 num_neighbors=k, overlaps_fn=iou)
    assert positives(res.maxiou_assigned) == {cell(3, 3): 1}
    assert positives(res.assigned) == {cell(x, y): 1 for x, y in expected_cells}


def test_left_neighbour_is_the_farther_cell_with_corner_anchor_points():
    # frac .25 < r: the paper code picks floor(3.25 - 0.5) = 2, i.e. the anchor point at x=16,
    # 10 px from the centre, not x=32 (6 px away).
    anchors, feats, strides, pad = one_level()
    iou = designed_iou(iou_rows(64, {(0, cell(3, 3)): 0.6}))
    labels = cross_grid_assign(anchors, feats, strides, torch.tensor(GT_A), pad)  # real IoU
    res = cross_grid_assign_full(anchors, feats, strides, torch.tensor(GT_A), pad, overlaps_fn=iou)
    assert cell(2, 3) in positives(res.assigned)
    assert cell(4, 3) not in positives(res.assigned)
    assert labels.shape == (64,)


def test_no_positive_at_a_level_means_no_cross_grid_cells():
    anchors, feats, strides, pad = one_level()
    iou = designed_iou(iou_rows(64, {(0, 0): 0.3}))   # best IoU .3: step 4 makes anchor 0 positive
    res = cross_grid_assign_full(anchors, feats, strides, torch.tensor(GT_A), pad,
                                 overlaps_fn=iou)
    # GT 0 is "present" through anchor 0, so its cells around (26, 29) are added.
    assert set(positives(res.assigned)) == {0, cell(3, 3), cell(2, 3), cell(3, 4)}
    zero = designed_iou([[0.0] * 64])
    res = cross_grid_assign_full(anchors, feats, strides, torch.tensor(GT_A), pad, overlaps_fn=zero)
    assert positives(res.assigned) == {}                  # nothing > min_pos_iou = 0: no present GT
    assert bool((res.assigned == 0).all())


def test_border_guard_needs_coordinate_above_one():
    # centre x = 6: g = .75, frac .75 < r = .9 but g <= 1 -> no left cell.
    anchors, feats, strides, pad = one_level()
    gts = torch.tensor([[6.0, 29.0, 14.0, 40.0, 0.0]])   # x [-1, 13], y [9, 49]
    iou = designed_iou(iou_rows(64, {(0, cell(0, 3)): 0.6}))
    res = cross_grid_assign_full(anchors, feats, strides, gts, pad, radius=0.9, overlaps_fn=iou)
    # up: .625 < .9, g=3.625 > 1 -> (0, 2); bottom: 4.375 -> .375 -> (0, 4); right 7.25 -> .25 -> (1, 3)
    assert positives(res.assigned) == {cell(0, 3): 1, cell(0, 2): 1, cell(0, 4): 1, cell(1, 3): 1}


def test_grid_scale_and_border_use_w_div_stride_not_feature_width():
    # pad W=68: W//s = 8 but the feature map is 9 wide. Centre x = 65:
    # paper code: g = 65/68*8 = 7.647 -> cell 7 (cx/s would give 8); right distance
    # 8 - 7.647 < 1 -> no right cell although column 8 exists.
    pad, stride = (64, 68), 8
    anchors, feats, strides, _ = one_level(pad, stride)
    assert feats == [(8, 9)]
    gts = torch.tensor([[65.0, 29.0, 30.0, 30.0, 0.0]])   # x [50, 80], y [14, 44]
    iou = designed_iou(iou_rows(72, {(0, 3 * 9 + 7): 0.6}))
    res = cross_grid_assign_full(anchors, feats, strides, gts, pad, overlaps_fn=iou)
    # up .625 no; bottom 4.375 -> .375 -> (7, 4); left .647 no.
    assert positives(res.assigned) == {3 * 9 + 7: 1, 4 * 9 + 7: 1}


def test_point_in_any_present_polygon_and_max_iou_label():
    anchors, feats, strides, pad = one_level()
    gts = torch.tensor([
        [26.0, 29.0, 10.0, 8.0, 0.0],    # GT0: x [21, 31], y [25, 33]
        [38.0, 20.0, 30.0, 14.0, 0.0],   # GT1: x [23, 53], y [13, 27]
    ])
    iou = designed_iou(iou_rows(64, {(0, cell(3, 3)): 0.6, (1, cell(0, 5)): 0.7,
                                     (1, cell(5, 2)): 0.1}))
    res = cross_grid_assign_full(anchors, feats, strides, gts, pad, overlaps_fn=iou)
    # GT0 cells: centre (3,3) point (24,24) lies in GT1 only -> kept (any polygon);
    # left (2,3) point (16,24) in neither -> dropped; bottom (3,4) point (24,32) in GT0 -> kept,
    # labelled with its max-IoU GT (all IoUs 0 -> argmax GT0) although IoU <= neg_iou_thr.
    # GT1 cells (g = 4.75, 2.5): centre (4,2) -> point (32,16) in GT1, label = argmax GT0 (IoU 0);
    # right (5,2) -> point (40,16), label GT1 (its IoU .1 with GT1 is the max).
    assert positives(res.assigned) == {
        cell(3, 3): 1, cell(3, 4): 1, cell(4, 2): 1, cell(5, 2): 2, cell(0, 5): 2}
    assert int(res.assigned[cell(2, 3)]) == 0


def test_gt_centre_outside_padded_image_is_left_out_of_step_b():
    anchors, feats, strides, pad = one_level()
    gts = torch.tensor([[70.0, 29.0, 30.0, 30.0, 0.0]])  # centre beyond W = 64
    iou = designed_iou(iou_rows(64, {(0, cell(7, 3)): 0.6}))
    res = cross_grid_assign_full(anchors, feats, strides, gts, pad, overlaps_fn=iou)
    assert positives(res.assigned) == {cell(7, 3): 1}


# ---------------------------------------------------------------- step A comparisons
def test_step_a_uses_the_seed_comparisons():
    anchors, feats, strides, pad = one_level((64, 64), 32)        # 2x2 grid, 4 anchors
    far_away = torch.tensor([[1000.0, 1000.0, 4, 4, 0]] * 3)       # centres outside: no step B
    iou = designed_iou([
        [0.4, 0.5, 0.3, 0.0],
        [0.2, 0.5, 0.45, 0.0],
        [0.0, 0.0, 0.0, 0.0],
    ])
    res = cross_grid_assign_full(anchors, feats, strides, far_away, pad, overlaps_fn=iou)
    # a0: max .4 <= neg .4 -> 0 (mmdet: < .4 -> ignore); a1: .5 is not > .5, but it is the
    # best of GT0 and of GT1 -> GT1 (later GT wins); a2: .45 -> ignore; a3: 0 -> background.
    assert res.maxiou_assigned.tolist() == [0, 2, -1, 0]
    assert torch.equal(res.assigned, res.maxiou_assigned)


def test_step_a_positive_needs_strictly_greater_than_pos_thr():
    anchors, feats, strides, pad = one_level((64, 64), 32)
    far_away = torch.tensor([[1000.0, 1000.0, 4, 4, 0]])
    res = cross_grid_assign_full(anchors, feats, strides, far_away, pad,
                                 overlaps_fn=designed_iou([[0.51, 0.5, 0.0, 0.0]]))
    assert res.maxiou_assigned.tolist() == [1, -1, 0, 0]


def test_exact_ties_all_become_positive():
    anchors, feats, strides, pad = one_level((64, 64), 32)
    far_away = torch.tensor([[1000.0, 1000.0, 4, 4, 0]])
    res = cross_grid_assign_full(anchors, feats, strides, far_away, pad,
                                 overlaps_fn=designed_iou([[0.3, 0.3, 0.3, 0.1]]))
    assert res.maxiou_assigned.tolist() == [1, 1, 1, 0]


# ---------------------------------------------------------------- edge cases
def test_no_gts_gives_background_and_invalid_gives_ignore(level_setup):
    pad, strides, sizes = level_setup
    anchors = grid_anchors(sizes, strides)
    valid = [torch.ones(a.shape[0], dtype=torch.bool) for a in anchors]
    valid[0][:5] = False
    labels = cross_grid_assign(anchors, sizes, strides, torch.zeros((0, 5)), pad, valid)
    assert labels.shape == (sum(a.shape[0] for a in anchors),)
    assert labels[:5].tolist() == [-1] * 5
    assert bool((labels[5:] == 0).all())


def test_invalid_anchors_are_never_assigned(level_setup):
    pad, strides, sizes = level_setup
    anchors = grid_anchors(sizes, strides)
    gts = torch.tensor([[100.0, 80.0, 60.0, 20.0, 0.3]])
    full = cross_grid_assign(anchors, sizes, strides, gts, pad)
    valid = [torch.ones(a.shape[0], dtype=torch.bool) for a in anchors]
    first_pos = int(torch.nonzero(full > 0)[0])
    valid[0][first_pos] = False
    masked = cross_grid_assign(anchors, sizes, strides, gts, pad, valid)
    assert int(masked[first_pos]) == -1
    assert int((masked > 0).sum()) >= 1


def test_gts_at_the_border_do_not_crash(level_setup):
    pad, strides, sizes = level_setup
    anchors = grid_anchors(sizes, strides)
    h, w = pad
    gts = torch.tensor([[0.0, 0.0, 30, 10, 0.0], [w - 0.01, h - 0.01, 50, 20, 1.0],
                        [w / 2, 0.5, 80, 8, -0.7], [w + 5, h / 2, 40, 40, 0.0]])
    labels = cross_grid_assign(anchors, sizes, strides, gts, pad)
    assert labels.shape[0] == sum(a.shape[0] for a in anchors)
    assert set(labels.unique().tolist()) <= {-1, 0, 1, 2, 3, 4}
    assert torch.equal(labels, paper_code_cla(anchors, sizes, strides, gts, pad))


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, message", [
    (dict(num_neighbors=0), "num_neighbors must be 1, 2 or 3"),
    (dict(num_neighbors=4), "num_neighbors must be 1, 2 or 3"),
    (dict(radius=0.0), "radius must be in the open interval (0, 1)"),
    (dict(radius=1.0), "radius must be in the open interval (0, 1)"),
    (dict(radius=-0.2), "radius must be in the open interval (0, 1)"),
    (dict(neg_iou_thr=0.6), "must not exceed pos_iou_thr"),
])
def test_bad_options_are_rejected(kwargs, message):
    anchors, feats, strides, pad = one_level()
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cross_grid_assign(anchors, feats, strides, torch.tensor(GT_A), pad, **kwargs)


def test_boxes_of_the_wrong_shape_or_not_le90_are_rejected():
    anchors, feats, strides, pad = one_level()
    with pytest.raises(ValueError, match=r"gt_bboxes must be \(G, 5\) le90"):
        cross_grid_assign(anchors, feats, strides, torch.zeros((2, 4)), pad)
    with pytest.raises(ValueError, match="not le90"):
        cross_grid_assign(anchors, feats, strides, torch.tensor([[10.0, 10, 5, 5, 2.5]]), pad)


def test_more_than_one_anchor_per_cell_is_rejected():
    from mmrotate.core import build_prior_generator
    gen = build_prior_generator(dict(type="RotatedAnchorGenerator", octave_base_scale=4,
                                     scales_per_octave=3, ratios=[1.0, 0.5, 2.0], strides=[8]))
    anchors = gen.grid_priors([(8, 8)], device="cpu")
    with pytest.raises(ValueError, match="exactly one anchor per grid cell"):
        cross_grid_assign(anchors, [(8, 8)], [8], torch.tensor(GT_A), (64, 64))


# ---------------------------------------------------------------- against the paper code
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_matches_the_paper_code_on_random_inputs(seed, k):
    gen = torch.Generator().manual_seed(1000 * k + seed)
    pad = [(160, 224), (100, 140), (256, 256)][seed % 3]       # 100x140: W, H not multiples of s
    strides = [8, 16, 32, 64, 128]
    sizes = [(math.ceil(pad[0] / s), math.ceil(pad[1] / s)) for s in strides]
    anchors = grid_anchors(sizes, strides)
    gts = random_gts(gen, int(torch.randint(1, 25, (1,), generator=gen)), pad)
    valid = None
    if seed % 2:
        valid = [torch.rand(a.shape[0], generator=gen) > 0.1 for a in anchors]
    radius = [0.5, 0.3, 0.75, 0.5, 0.6, 0.45][seed]
    ours = cross_grid_assign(anchors, sizes, strides, gts, pad, valid, radius=radius, num_neighbors=k)
    theirs = paper_code_cla(anchors, sizes, strides, gts, pad, valid, radius=radius, num_neighbors=k)
    assert torch.equal(ours, theirs)
    assert int((ours > 0).sum()) > 0


def test_cla_adds_positives_over_maxiou_on_random_inputs(level_setup):
    pad, strides, sizes = level_setup
    anchors = grid_anchors(sizes, strides)
    gen = torch.Generator().manual_seed(7)
    gts = random_gts(gen, 15, pad)
    res = cross_grid_assign_full(anchors, sizes, strides, gts, pad)
    assert int((res.assigned > 0).sum()) > int((res.maxiou_assigned > 0).sum())
    # CLA only ever turns anchors positive; it never removes a step-A positive.
    assert bool((res.assigned[res.maxiou_assigned > 0] > 0).all())


def test_k2_per_gt_minimum_option_differs_from_seed_default():
    anchors, feats, strides, pad = one_level()
    # Two GTs: GT0 nearest side left (.25), GT1 nearest side bottom (.375 > .25).
    gts = torch.tensor([[26.0, 29.0, 40.0, 30.0, 0.0], [43.0, 13.0, 24.0, 20.0, 0.0]])
    iou = designed_iou(iou_rows(64, {(0, cell(3, 3)): 0.6, (1, cell(5, 1)): 0.6}))
    seed_like = cross_grid_assign_full(anchors, feats, strides, gts, pad, num_neighbors=2,
                                       overlaps_fn=iou)
    per_gt = cross_grid_assign_full(anchors, feats, strides, gts, pad, num_neighbors=2,
                                    overlaps_fn=iou, k2_min_scope="gt")
    # GT1: g = (5.375, 1.625); fractions left .375, up .625, right .625, bottom .375.
    # Level-wide min is GT0's .25, so the paper code gives GT1 no extra cell; per GT it gains
    # left (4,1) and bottom (5,2) (both .375).
    assert set(positives(per_gt.assigned)) - set(positives(seed_like.assigned)) == {cell(4, 1), cell(5, 2)}


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cpu_and_cuda_agree(level_setup):
    """For the same IoU matrix CUDA gives the CPU's labels. The two devices' IoU differ in the last
    float bits (up to 3e-7 on an H200), which can move step A's exact-equality ties between mirror-image
    anchors (mmdet's gt_max_assign_all rule; docs/clusters.md "Run on an H200"), so the IoU itself is
    compared within a tolerance."""
    from mmrotate.core.bbox import rbbox_overlaps

    pad, strides, sizes = level_setup
    gen = torch.Generator().manual_seed(3)
    gts = random_gts(gen, 30, pad)
    cpu_anchors, cuda_anchors = grid_anchors(sizes, strides), grid_anchors(sizes, strides, "cuda")
    for k in (1, 2, 3):
        cpu = cross_grid_assign_full(cpu_anchors, sizes, strides, gts, pad, num_neighbors=k)
        cuda = cross_grid_assign_full(cuda_anchors, sizes, strides, gts.cuda(), pad, num_neighbors=k)
        same_iou = cross_grid_assign_full(cpu_anchors, sizes, strides, gts, pad, num_neighbors=k,
                                          overlaps_fn=lambda g, a: rbbox_overlaps(g.cuda(), a.cuda()).cpu())
        assert torch.equal(same_iou.assigned, cuda.assigned.cpu())
        assert torch.allclose(cpu.max_overlaps, cuda.max_overlaps.cpu(), rtol=0, atol=1e-5)
