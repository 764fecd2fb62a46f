# Refined-Det R101-FPN on multi-scale split DOTA v1.0 (paper repository:
# refined_det_obb_r101_fpn_1x_dota_ms_rr_le90.py: despite "rr" in its name, its random
# rotation is commented out, kept so here). Patches from `detlab data split --rates 0.5 1.0 1.5`.
_base_ = ['./refined_det_obb_r101_fpn_1x_dota_le90.py']

data_root = 'data/split_ms_dota/'
data = dict(
    train=dict(ann_file=data_root + 'trainval/annfiles/', img_prefix=data_root + 'trainval/images/'),
    val=dict(ann_file=data_root + 'trainval/annfiles/', img_prefix=data_root + 'trainval/images/'),
    test=dict(ann_file=data_root + 'test/images/', img_prefix=data_root + 'test/images/'))
