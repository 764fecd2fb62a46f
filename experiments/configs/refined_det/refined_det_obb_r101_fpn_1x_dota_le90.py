# Refined-Det R101-FPN on DOTA v1.0 (paper repository: refined_det_obb_r101_fpn_1x_dota_le90.py).
_base_ = ['./refined_det_obb_r50_fpn_1x_dota_le90.py']

model = dict(
    backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
