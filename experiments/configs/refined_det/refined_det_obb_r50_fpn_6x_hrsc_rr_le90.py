# Refined-Det (CLA + FRHead), R50-FPN, HRSC2016, 6x with random rotation, le90:
# the paper repository's configs/refined_det/hrsc/refined_det_obb_r50_fpn_6x_hrsc_rr_le90.py
# (90.50 AP50 VOC07 in the paper). Its dataset, pipelines, schedule and runtime are
# MMRotate's Rotated RetinaNet HRSC rr config, inherited through our baseline config.
# Ablation switches (all searchable with --set): model.train_cfg.assigner.cross_grid /
# radius / num_neighbors, model.bbox_head.with_attention / with_asym_convs / with_refine /
# stacked_convs.
_base_ = ['../rotated_retinanet/rotated_retinanet_obb_r50_fpn_6x_hrsc_rr_le90.py']

model = dict(
    type='RefinedDet',
    bbox_head=dict(
        type='FRHead',
        stacked_convs=2,
        with_attention=True,     # classification-guided attention before align conv
        with_asym_convs=True,    # 1x3 / 3x1 branch weighting the refined outputs
        with_refine=True,        # align conv + second pass (refine.* losses)
        # CLA needs one anchor per cell.
        anchor_generator=dict(
            _delete_=True,
            type='RotatedAnchorGenerator',
            scales=[4],
            ratios=[1.0],
            strides=[8, 16, 32, 64, 128]),
        loss_bbox=dict(type='SmoothL1Loss', beta=0.11, loss_weight=1.0)),
    train_cfg=dict(
        assigner=dict(
            # The paper code's `CLA` (radius hard-coded 0.5, k=3 by commented-out code).
            type='CrossGridAssigner',
            cross_grid=True,
            radius=0.5,
            num_neighbors=3,
            pos_iou_thr=0.5,
            neg_iou_thr=0.4,
            min_pos_iou=0)))
