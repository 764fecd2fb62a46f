"""Every config in experiments/configs loads and builds; paper configs keep the paper's
values; each _mini twin runs forward/backward on CPU; bad overrides are errors."""
from __future__ import annotations

import glob
import os.path as osp

import pytest
import torch
from mmcv import Config

import refined_det.register  # noqa: F401  (registers the plugins)
from detlab.errors import UserError
from detlab.training.driver.setup import prepare_config
from mmrotate.models import build_detector

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(REPO, "experiments/configs/**/*.py"), recursive=True))
MINIS = [c for c in CONFIGS if c.endswith("_mini.py")]
PAPER = [c for c in CONFIGS if not c.endswith("_mini.py")]


def name(path):
    return osp.basename(path)


def test_every_paper_config_has_a_mini_twin():
    stems = {name(m)[:-len("_mini.py")] for m in MINIS}
    # R101 and multi-scale variants share the R50 config's twin (see docs/configs.md).
    for paper in PAPER:
        base = name(paper)[:-3].replace("_r101_", "_r50_").replace("_ms_rr_", "_")
        assert base in stems, f"{name(paper)} has no _mini twin"


@pytest.mark.parametrize("path", CONFIGS, ids=name)
def test_config_builds(path):
    cfg = Config.fromfile(path)
    model = build_detector(cfg.model)          # no weights are loaded at build time
    assert model.bbox_head.num_classes == (1 if "hrsc" in path else 15)


def test_refined_det_hrsc_keeps_the_paper_settings():
    cfg = Config.fromfile(osp.join(REPO, "experiments/configs/refined_det/"
                                         "refined_det_obb_r50_fpn_6x_hrsc_rr_le90.py"))
    head, assigner = cfg.model.bbox_head, cfg.model.train_cfg.assigner
    assert (cfg.model.type, head.type, head.stacked_convs) == ("RefinedDet", "FRHead", 2)
    assert dict(head.anchor_generator) == dict(type="RotatedAnchorGenerator", scales=[4],
                                               ratios=[1.0], strides=[8, 16, 32, 64, 128])
    assert dict(head.loss_bbox) == dict(type="SmoothL1Loss", beta=0.11, loss_weight=1.0)
    assert (assigner.type, assigner.radius, assigner.num_neighbors) == ("CrossGridAssigner", 0.5, 3)
    assert (assigner.pos_iou_thr, assigner.neg_iou_thr, assigner.min_pos_iou) == (0.5, 0.4, 0)
    assert cfg.model.backbone.depth == 50
    assert cfg.model.backbone.init_cfg.checkpoint == "torchvision://resnet50"
    assert cfg.data.train.pipeline[2] == dict(type="RResize", img_scale=(800, 512))
    assert [t["type"] for t in cfg.data.train.pipeline][3:5] == ["RRandomFlip", "PolyRandomRotate"]
    assert (cfg.optimizer.lr, cfg.runner.max_epochs, cfg.lr_config.step) == (0.0025, 72, [48, 66])
    assert cfg.model.test_cfg.nms.iou_thr == 0.1


def test_refined_det_dota_keeps_the_paper_settings():
    cfg = Config.fromfile(osp.join(REPO, "experiments/configs/refined_det/"
                                         "refined_det_obb_r50_fpn_1x_dota_le90.py"))
    assert cfg.model.bbox_head.num_classes == 15 and cfg.model.bbox_head.stacked_convs == 2
    assert cfg.data.train.pipeline[2] == dict(type="RResize", img_scale=(1024, 1024))
    assert (cfg.optimizer.lr, cfg.runner.max_epochs) == (0.0025, 12)


@pytest.mark.parametrize("path", MINIS, ids=name)
def test_mini_forward_backward_on_cpu(path):
    torch.manual_seed(0)
    cfg = Config.fromfile(path)
    model = build_detector(cfg.model)
    model.init_weights()
    model.train()
    img = torch.randn(2, 3, 128, 160)
    metas = [dict(img_shape=(128, 160, 3), pad_shape=(128, 160, 3), ori_shape=(128, 160, 3),
                  scale_factor=1.0, flip=False)] * 2
    gts = [torch.tensor([[60.0, 50.0, 70.0, 20.0, 0.4]]), torch.tensor([[90.0, 70.0, 40.0, 30.0, -1.0]])]
    losses = model(img, metas, gt_bboxes=gts, gt_labels=[torch.tensor([0]), torch.tensor([0])],
                   return_loss=True)
    loss, log_vars = model._parse_losses(losses)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad and p.grad is not None]
    assert torch.isfinite(loss) and len(grads) > 0
    if cfg.model.type == "RefinedDet":
        assert {"base.loss_cls", "base.loss_bbox", "refine.loss_cls", "refine.loss_bbox"} <= set(log_vars)
    model.eval()
    with torch.no_grad():
        dets = model.simple_test(img, metas)
    assert len(dets) == 2 and dets[0][0].shape[1] == 6


@pytest.mark.parametrize("switch", ["with_attention", "with_asym_convs", "with_refine"])
def test_frhead_switches_are_config_values(switch):
    path = osp.join(REPO, "experiments/configs/refined_det/refined_det_obb_r50_fpn_6x_hrsc_rr_le90_mini.py")
    cfg = prepare_config(path, [f"model.bbox_head.{switch}=False"], device="cpu")
    model = build_detector(cfg.model)
    assert getattr(model.bbox_head, switch) is False
    if switch == "with_refine":
        assert model.align_conv is None
    else:
        assert not hasattr(model.bbox_head, "sigmoid_conv" if switch == "with_attention" else "conv_1_3")


@pytest.mark.parametrize("switches", [(True, True, False), (False, True, True), (True, False, True), (False, False, False)],
                         ids=lambda s: "asym={}-attention={}-refine={}".format(*s))
def test_every_parameter_is_in_the_loss(switches):
    """What DistributedDataParallel needs (2-worker trials of frhead_hrsc_smoke once failed with
    refine off): each built parameter gets a gradient, whatever the FRHead switches."""
    asym, attention, refine = switches
    path = osp.join(REPO, "experiments/configs/refined_det/refined_det_obb_r50_fpn_6x_hrsc_rr_le90_mini.py")
    cfg = prepare_config(path, [f"model.bbox_head.with_asym_convs={asym}", f"model.bbox_head.with_attention={attention}",
                                f"model.bbox_head.with_refine={refine}"], device="cpu")
    torch.manual_seed(0)
    model = build_detector(cfg.model)
    model.init_weights()
    model.train()
    metas = [dict(img_shape=(128, 160, 3), pad_shape=(128, 160, 3), ori_shape=(128, 160, 3),
                  scale_factor=1.0, flip=False)] * 2
    gts = [torch.tensor([[60.0, 50.0, 70.0, 20.0, 0.4]]), torch.tensor([[90.0, 70.0, 40.0, 30.0, -1.0]])]
    losses = model(torch.randn(2, 3, 128, 160), metas, gt_bboxes=gts,
                   gt_labels=[torch.tensor([0]), torch.tensor([0])], return_loss=True)
    model._parse_losses(losses)[0].backward()
    unused = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not unused, unused
    head = model.bbox_head
    assert (head.with_asym_convs, head.with_attention) == (asym and refine, attention and refine)
    assert hasattr(head, "conv_1_3") == (asym and refine) and hasattr(head, "sigmoid_conv") == (attention and refine)


def test_unknown_config_key_is_a_one_line_error():
    path = osp.join(REPO, "experiments/configs/refined_det/refined_det_obb_r50_fpn_6x_hrsc_rr_le90_mini.py")
    with pytest.raises(UserError) as err:
        prepare_config(path, ["model.train_cfg.assigner.radus=0.6"])
    assert "radus" in str(err.value) and "radius" in str(err.value) and "\n" not in str(err.value)


def test_paper_single_component_variants_are_override_sets():
    from detlab.config.variants import load_variant, variant_table
    names = sorted(variant_table())
    assert len(names) == 4
    for variant in names:
        cfg = load_variant(variant)
        model = build_detector(cfg.model)
        assigner = cfg.model.train_cfg.assigner
        if "_cla_" in variant:      # seed: RotatedRetinaNet + CLA, one anchor per cell, L1 loss
            assert (cfg.model.type, assigner.type, assigner.cross_grid) == ("RotatedRetinaNet",
                                                                          "CrossGridAssigner", True)
            assert model.bbox_head.anchor_generator.num_base_anchors == [1] * 5
            assert cfg.model.bbox_head.stacked_convs == 4
        else:                       # seed: RefinedDet with MaxIoUAssigner, L1 loss
            assert (cfg.model.type, assigner.cross_grid) == ("RefinedDet", False)
        assert cfg.model.bbox_head.loss_bbox.type == "L1Loss"
