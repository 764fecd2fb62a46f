# CPU twin of refined_det_obb_r50_fpn_1x_dota_le90.py (and of its R101 and multi-scale
# variants): the same detector, assigner and augmentations, small enough to train on
# 2 CPU cores, on patches of `detlab data synth --dataset dota` split with
# `detlab data split --size 512 --gap 100`. Every deviation:
_base_ = ['./refined_det_obb_r50_fpn_1x_dota_le90.py']

data_root = 'data/synth_dota_split/'   # generated data (paper: DOTA v1.0 split 1024/200)
model = dict(
    # Light ResNet-18 (16 base channels), randomly initialised: no weights are downloaded.
    backbone=dict(depth=18, base_channels=16, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
    bbox_head=dict(in_channels=32, feat_channels=32),
    test_cfg=dict(nms_pre=500, max_per_img=300))
angle_version = 'le90'
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RResize', img_scale=(512, 512)),          # paper: 1024x1024 patches
    dict(type='RRandomFlip', flip_ratio=[0.25, 0.25, 0.25],
         direction=['horizontal', 'vertical', 'diagonal'], version=angle_version),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size_divisor=32),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels'])
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiScaleFlipAug', img_scale=(512, 512), flip=False, transforms=[
        dict(type='RResize'),
        dict(type='Normalize', **img_norm_cfg),
        dict(type='Pad', size_divisor=32),
        dict(type='DefaultFormatBundle'),
        dict(type='Collect', keys=['img'])
    ])
]
data = dict(
    samples_per_gpu=2,
    workers_per_gpu=1,
    train=dict(ann_file=data_root + 'trainval/annfiles/', img_prefix=data_root + 'trainval/images/',
               pipeline=train_pipeline),
    val=dict(ann_file=data_root + 'val/annfiles/', img_prefix=data_root + 'val/images/',
             pipeline=test_pipeline),
    test=dict(ann_file=data_root + 'val/annfiles/', img_prefix=data_root + 'val/images/',
              pipeline=test_pipeline))
# 12 epochs as in the paper, a short warm-up (paper: 500 iterations), and AdamW as in the HRSC2016
# twin: random initial weights (paper: SGD lr 0.0025, momentum 0.9, from ImageNet weights).
optimizer = dict(_delete_=True, type='AdamW', lr=0.001, weight_decay=0.0001)
lr_config = dict(warmup_iters=50, step=[8, 11])
runner = dict(max_epochs=12)
log_config = dict(interval=10)
