"""CrossGridAssigner inside the heads: same labels as the pure function, CLA off equals
mmdet's MaxIoUAssigner, and misuse fails with a clear message."""
from __future__ import annotations

import math

import pytest
import torch
from mmcv import ConfigDict
from mmdet.core import build_assigner
from mmrotate.models import build_head

from cla_helpers import grid_anchors, random_gts
from refined_det.assigners import cross_grid_assign

STRIDES = [8, 16, 32, 64, 128]


def head_cfg(assigner, head_type="CLARetinaHead", **anchor):
    anchor = anchor or dict(scales=[4], ratios=[1.0])
    return dict(
        type=head_type, num_classes=2, in_channels=8, feat_channels=8, stacked_convs=1,
        assign_by_circumhbbox=None,
        anchor_generator=dict(type="RotatedAnchorGenerator", strides=STRIDES, **anchor),
        bbox_coder=dict(type="DeltaXYWHAOBBoxCoder", angle_range="le90", norm_factor=None,
                        edge_swap=True, proj_xy=True, target_means=(0.0,) * 5, target_stds=(1.0,) * 5),
        train_cfg=ConfigDict(assigner=assigner, allowed_border=-1, pos_weight=-1, debug=False))


CLA = dict(type="CrossGridAssigner", pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0,
           ignore_iof_thr=-1, iou_calculator=dict(type="RBboxOverlaps2D"))


def targets(head, gts, pad=(160, 224)):
    sizes = [(math.ceil(pad[0] / s), math.ceil(pad[1] / s)) for s in STRIDES]
    meta = dict(img_shape=(*pad, 3), pad_shape=(*pad, 3))
    anchors, valid = head.get_anchors(sizes, [meta], device="cpu")
    labels, *_ = head.get_targets(anchors, valid, [gts], [meta],
                                  gt_labels_list=[torch.zeros(len(gts), dtype=torch.long)])
    return torch.cat([l.flatten() for l in labels]), sizes


@pytest.mark.parametrize("k", [1, 2, 3])
def test_head_targets_follow_cross_grid_assign(k):
    import refined_det.register  # noqa: F401  (registers the plugins)
    head = build_head(head_cfg(dict(CLA, num_neighbors=k, radius=0.6)))
    gts = random_gts(torch.Generator().manual_seed(k), 12, (160, 224))
    labels, sizes = targets(head, gts)
    expected = cross_grid_assign(grid_anchors(sizes, STRIDES), sizes, STRIDES, gts, (160, 224),
                                 radius=0.6, num_neighbors=k)
    # head labels: class 0 for positives, num_classes (2) for background and ignored.
    assert torch.equal(labels == 0, expected > 0)
    assert int((labels == 0).sum()) > 0
    assert head.assigner.stats.summary()["pos_per_gt/cla"] >= head.assigner.stats.summary()["pos_per_gt/maxiou"]


def test_cla_off_equals_mmdet_max_iou_assigner():
    import refined_det.register  # noqa: F401  (registers the plugins)
    gts = random_gts(torch.Generator().manual_seed(5), 10, (160, 224))
    off = build_head(head_cfg(dict(CLA, cross_grid=False)))
    plain = build_head(head_cfg(dict(CLA, type="MaxIoUAssigner")))
    a, _ = targets(off, gts)
    b, _ = targets(plain, gts)
    assert torch.equal(a, b)
    cla, _ = targets(build_head(head_cfg(CLA)), gts)
    assert not torch.equal(a, cla)


def test_cla_needs_one_anchor_per_cell():
    import refined_det.register  # noqa: F401  (registers the plugins)
    with pytest.raises(ValueError, match="one anchor per grid cell"):
        build_head(head_cfg(CLA, octave_base_scale=4, scales_per_octave=3, ratios=[1.0, 0.5, 2.0]))


def test_cla_with_an_upstream_head_says_which_head_to_use():
    import refined_det.register  # noqa: F401  (registers the plugins)
    head = build_head(head_cfg(CLA, head_type="RotatedRetinaHead"))
    gts = torch.tensor([[50.0, 60.0, 40.0, 20.0, 0.2]])
    with pytest.raises(RuntimeError, match="CLARetinaHead or FRHead"):
        head._get_targets_single(torch.zeros((4, 5)), torch.ones(4, dtype=torch.bool), gts, None,
                                 torch.zeros(1, dtype=torch.long),
                                 dict(img_shape=(64, 64, 3), pad_shape=(64, 64, 3)))


@pytest.mark.parametrize("bad, message", [
    (dict(num_neighbors=5), "num_neighbors must be 1, 2 or 3"),
    (dict(radius=1.5), r"radius must be in the open interval \(0, 1\)"),
    (dict(k2_min_scope="image"), "k2_min_scope must be one of"),
])
def test_bad_assigner_config_fails_at_build(bad, message):
    import refined_det.register  # noqa: F401  (registers the plugins)
    with pytest.raises(ValueError, match=message):
        build_assigner(dict(CLA, **bad))
