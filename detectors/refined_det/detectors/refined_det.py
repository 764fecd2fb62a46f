"""``RefinedDet``: Rotated RetinaNet + FRHead's refine stage."""

from __future__ import annotations

from mmrotate.core import rbbox2result
from mmrotate.models.builder import ROTATED_DETECTORS
from mmrotate.models.detectors import RotatedBaseDetector, RotatedRetinaNet
from mmrotate.models.detectors.utils import AlignConvModule


@ROTATED_DETECTORS.register_module()
class RefinedDet(RotatedRetinaNet):
    """Refined-Det (Rao & Zhou, GRSL 2024) with every FRHead part switchable.

    Coarse stage: the head on FPN features (losses ``base.*``). Refine stage
    (``bbox_head.with_refine``): features enhanced by the head's attention
    (``x + x * a``), align conv (S2ANet's) sampling along the coarse boxes,
    the same head again, its outputs weighted by the 1x3/3x1 branch
    (``s + s * r``), trained with the coarse boxes as anchors (``refine.*``).
    Inference uses the refine stage's boxes when it is on.

    Args:
        align_conv_size: kernel of the align conv (3 in the paper's code).
    """

    def __init__(self, *args, align_conv_size: int = 3, **kwargs):
        # args/kwargs: RotatedSingleStageDetector's (backbone, neck, bbox_head, train_cfg, test_cfg, ...).
        super().__init__(*args, **kwargs)
        head = self.bbox_head
        if not hasattr(head, "with_refine"):
            raise ValueError(f"RefinedDet needs bbox_head type 'FRHead' (got {type(head).__name__})")
        self.align_conv = None
        if head.with_refine:
            self.align_conv = AlignConvModule(head.in_channels, list(head.grid_strides), align_conv_size)

    def _refined_outputs(self, feats):
        """Coarse outputs and, when the refine stage is on, its outputs and rois."""
        cls_score, bbox_pred, refine_cls, refine_reg, attention = self.bbox_head(feats)
        coarse = (cls_score, bbox_pred)
        if not self.bbox_head.with_refine:
            return coarse, None, None
        if self.bbox_head.with_attention:
            feats = tuple(x + x * a for x, a in zip(feats, attention))
        rois = self.bbox_head.refine_bboxes(cls_score, bbox_pred)
        cls_ref, bbox_ref, *_ = self.bbox_head(self.align_conv(feats, rois))
        if self.bbox_head.with_asym_convs:
            cls_ref = [s + s * r for s, r in zip(cls_ref, refine_cls)]
            bbox_ref = [b + b * r for b, r in zip(bbox_ref, refine_reg)]
        return coarse, (cls_ref, bbox_ref), rois

    def forward_train(self, img, img_metas, gt_bboxes, gt_labels, gt_bboxes_ignore=None):
        RotatedBaseDetector.forward_train(self, img, img_metas)  # records batch_input_shape
        coarse, refined, rois = self._refined_outputs(self.extract_feat(img))
        targets = (gt_bboxes, gt_labels, img_metas)
        losses = {
            f"base.{k}": v for k, v in self.bbox_head.loss(*coarse, *targets, gt_bboxes_ignore=gt_bboxes_ignore).items()
        }
        if refined is not None:
            refine_losses = self.bbox_head.loss(*refined, *targets, gt_bboxes_ignore=gt_bboxes_ignore, rois=rois)
            losses.update({f"refine.{k}": v for k, v in refine_losses.items()})
        return losses

    def simple_test(self, img, img_metas, rescale=False):
        coarse, refined, rois = self._refined_outputs(self.extract_feat(img))
        outs = coarse if refined is None else refined
        bbox_list = self.bbox_head.get_bboxes(*outs, img_metas, rescale=rescale, rois=rois)
        return [rbbox2result(boxes, labels, self.bbox_head.num_classes) for boxes, labels in bbox_list]

    def aug_test(self, imgs, img_metas, rescale=False):
        raise NotImplementedError("RefinedDet has no test-time augmentation (nor has the paper code)")

    def forward_dummy(self, img):
        coarse, refined, _ = self._refined_outputs(self.extract_feat(img))
        return coarse if refined is None else refined
