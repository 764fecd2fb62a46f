# Refined-Det R101-FPN on HRSC2016 (paper repository: refined_det_obb_r101_fpn_6x_hrsc_rr_le90.py).
_base_ = ['./refined_det_obb_r50_fpn_6x_hrsc_rr_le90.py']

model = dict(
    backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
