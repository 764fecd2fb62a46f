# Rotated RetinaNet, OBB, le90, HRSC2016, 6x with random rotation: MMRotate's model-zoo
# baseline (84.80 AP50 VOC07 in its zoo). Everything is upstream's config except:
from refined_det.upstream import mmrotate_config

_base_ = [mmrotate_config('rotated_retinanet/rotated_retinanet_obb_r50_fpn_6x_hrsc_rr_le90.py')]
custom_imports = dict(imports=['refined_det.register'], allow_failed_imports=False)

data_root = 'data/hrsc2016/'  # DEVIATION: our data location (upstream: data/hrsc/)
model = dict(
    # DEVIATION: RotatedRetinaHead -> CLARetinaHead, the same head with CPU-safe anchor
    # generation (mmrotate 0.3.4 requests anchors on CUDA) and the grid hook CLA uses.
    # With MaxIoUAssigner it computes exactly what RotatedRetinaHead does.
    bbox_head=dict(type='CLARetinaHead'),
    # DEVIATION: RBboxOverlaps2D -> SparseRBboxOverlaps2D, the same IoU matrix (so the same
    # labels) with the exact rotated IoU computed only for anchor-GT pairs that can overlap.
    train_cfg=dict(assigner=dict(iou_calculator=dict(type='SparseRBboxOverlaps2D'))))
# DEVIATION: StrictHRSCDataset = HRSCDataset with strict annotation validation.
data = dict(
    train=dict(type='StrictHRSCDataset', ann_file=data_root + 'ImageSets/trainval.txt',
               ann_subdir=data_root + 'FullDataSet/Annotations/',
               img_subdir=data_root + 'FullDataSet/AllImages/',
               img_prefix=data_root + 'FullDataSet/AllImages/'),
    val=dict(type='StrictHRSCDataset', ann_file=data_root + 'ImageSets/test.txt',
             ann_subdir=data_root + 'FullDataSet/Annotations/',
             img_subdir=data_root + 'FullDataSet/AllImages/',
             img_prefix=data_root + 'FullDataSet/AllImages/'),
    test=dict(type='StrictHRSCDataset', ann_file=data_root + 'ImageSets/test.txt',
              ann_subdir=data_root + 'FullDataSet/Annotations/',
              img_subdir=data_root + 'FullDataSet/AllImages/',
              img_prefix=data_root + 'FullDataSet/AllImages/'))
