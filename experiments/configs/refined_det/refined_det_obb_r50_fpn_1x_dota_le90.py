# Refined-Det (CLA + FRHead), R50-FPN, DOTA v1.0, 1x, le90: the paper repository's
# configs/refined_det/dota/refined_det_obb_r50_fpn_1x_dota_le90.py. Dataset, schedule and
# runtime are MMRotate's Rotated RetinaNet DOTA le90 config (inherited through our baseline),
# whose train pipeline (three-way flip) is the paper's too.
_base_ = ['../rotated_retinanet/rotated_retinanet_obb_r50_fpn_1x_dota_le90.py']

model = dict(
    type='RefinedDet',
    bbox_head=dict(
        type='FRHead',
        stacked_convs=2,
        with_attention=True,
        with_asym_convs=True,
        with_refine=True,
        anchor_generator=dict(
            _delete_=True,
            type='RotatedAnchorGenerator',
            scales=[4],
            ratios=[1.0],
            strides=[8, 16, 32, 64, 128]),
        loss_bbox=dict(type='SmoothL1Loss', beta=0.11, loss_weight=1.0)),
    train_cfg=dict(
        assigner=dict(
            type='CrossGridAssigner',
            cross_grid=True,
            radius=0.5,
            num_neighbors=3,
            pos_iou_thr=0.5,
            neg_iou_thr=0.4,
            min_pos_iou=0)))
