# CPU twin of rotated_retinanet_obb_r50_fpn_6x_hrsc_rr_le90.py: the same
# detector, assigner and augmentations, made small enough to train on 2 CPU cores in
# seconds per iteration on `detlab data synth --dataset hrsc2016` output. Every deviation:
_base_ = ['./rotated_retinanet_obb_r50_fpn_6x_hrsc_rr_le90.py']

data_root = 'data/synth_hrsc2016/'     # generated data (paper: the HRSC2016 release)
model = dict(
    # Light ResNet-18 (16 base channels), randomly initialised: no weights are downloaded.
    backbone=dict(depth=18, base_channels=16, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
    bbox_head=dict(in_channels=32, feat_channels=32),
    test_cfg=dict(nms_pre=500, max_per_img=100))
angle_version = 'le90'
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RResize', img_scale=(400, 256)),          # paper: (800, 512)
    dict(type='RRandomFlip', flip_ratio=[0.25, 0.25, 0.25],
         direction=['horizontal', 'vertical', 'diagonal'], version=angle_version),
    dict(type='PolyRandomRotate', rotate_ratio=0.5, angles_range=180, auto_bound=False,
         rect_classes=[9, 11], version=angle_version),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size_divisor=32),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels'])
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiScaleFlipAug', img_scale=(400, 256), flip=False, transforms=[
        dict(type='RResize'),
        dict(type='Normalize', **img_norm_cfg),
        dict(type='Pad', size_divisor=32),
        dict(type='DefaultFormatBundle'),
        dict(type='Collect', keys=['img'])
    ])
]
data = dict(
    samples_per_gpu=4,                     # paper: 2 per GPU
    workers_per_gpu=1,
    train=dict(ann_file=data_root + 'ImageSets/trainval.txt',
               ann_subdir=data_root + 'FullDataSet/Annotations/',
               img_subdir=data_root + 'FullDataSet/AllImages/',
               img_prefix=data_root + 'FullDataSet/AllImages/', pipeline=train_pipeline),
    val=dict(ann_file=data_root + 'ImageSets/test.txt',
             ann_subdir=data_root + 'FullDataSet/Annotations/',
             img_subdir=data_root + 'FullDataSet/AllImages/',
             img_prefix=data_root + 'FullDataSet/AllImages/', pipeline=test_pipeline),
    test=dict(ann_file=data_root + 'ImageSets/test.txt',
              ann_subdir=data_root + 'FullDataSet/Annotations/',
              img_subdir=data_root + 'FullDataSet/AllImages/',
              img_prefix=data_root + 'FullDataSet/AllImages/', pipeline=test_pipeline))
# Short schedule with AdamW: the backbone starts from random weights (nothing is downloaded), where
# the paper's SGD (lr 0.0025 for 2 images, made for ImageNet weights) learns nothing in a CPU budget;
# AdamW reaches val mAP (VOC07) 0.3 on 240 synthetic images within the 15 CPU minutes
# (benchmarks/mini_hrsc_map.py). Paper: SGD lr 0.0025, momentum 0.9, 72 epochs, warm-up 500 iters.
optimizer = dict(_delete_=True, type='AdamW', lr=0.001, weight_decay=0.0001)
lr_config = dict(warmup_iters=50, step=[16, 22])
runner = dict(max_epochs=24)
evaluation = dict(interval=2)
checkpoint_config = dict(interval=2)
log_config = dict(interval=10)
