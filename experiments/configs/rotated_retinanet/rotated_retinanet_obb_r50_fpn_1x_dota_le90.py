# Rotated RetinaNet, OBB, le90, DOTA v1.0, 1x: MMRotate's model-zoo baseline
# (68.42 mAP in its zoo). Everything is upstream's config except:
from refined_det.upstream import mmrotate_config

_base_ = [mmrotate_config('rotated_retinanet/rotated_retinanet_obb_r50_fpn_1x_dota_le90.py')]
custom_imports = dict(imports=['refined_det.register'], allow_failed_imports=False)

data_root = 'data/split_1024_dota1_0/'  # patches of `detlab data split` (as upstream's path)
# DEVIATION: RotatedRetinaHead -> CLARetinaHead (CPU-safe anchors, grid hook for CLA;
# identical outputs with MaxIoUAssigner).
model = dict(
    bbox_head=dict(type='CLARetinaHead'),
    # DEVIATION: RBboxOverlaps2D -> SparseRBboxOverlaps2D, the same IoU matrix (so the same
    # labels) with the exact rotated IoU computed only for anchor-GT pairs that can overlap.
    train_cfg=dict(assigner=dict(iou_calculator=dict(type='SparseRBboxOverlaps2D'))))
# DEVIATION: strict annotation validation (DOTADataset subclass).
data = dict(
    train=dict(type='StrictDOTADataset', ann_file=data_root + 'trainval/annfiles/',
               img_prefix=data_root + 'trainval/images/'),
    val=dict(type='StrictDOTADataset', ann_file=data_root + 'trainval/annfiles/',
             img_prefix=data_root + 'trainval/images/'),
    test=dict(type='StrictDOTADataset', ann_file=data_root + 'test/images/',
              img_prefix=data_root + 'test/images/'))
