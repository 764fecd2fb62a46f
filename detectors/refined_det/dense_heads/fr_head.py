"""``FRHead``: the feature-refinement head of Refined-Det."""

from __future__ import annotations

import warnings

import torch.nn as nn
from mmrotate.models.builder import ROTATED_HEADS

from .cla_retina_head import CLARetinaHead


@ROTATED_HEADS.register_module()
class FRHead(CLARetinaHead):
    """Rotated RetinaNet head plus FRHead's extra branches (one anchor per cell).

    Per level it returns ``(cls_score, bbox_pred, refine_cls, refine_reg, attention)``:

    * ``cls_score``, ``bbox_pred``: RetinaNet's ``stacked_convs`` towers (coarse stage; the
      detector runs the same head again on align-conv features for the refine stage);
    * ``refine_cls``, ``refine_reg`` (``with_asym_convs``): a 1x3 then 3x1 conv on the level's
      feature, then 1x1 convs; the detector weights the refined outputs by them
      (``s + s * r``). ``None`` when off;
    * ``attention`` (``with_attention``): ``sigmoid(conv1x1(cls_score))``, one channel; the
      detector enhances the features before align conv (``x + x * a``). ``None`` when off.

    Args:
        with_asym_convs: build and use the 1x3/3x1 branch.
        with_attention: build and use the classification-guided attention.
        with_refine: run the refine stage (align conv + second pass) in ``RefinedDet``;
            with it off the detector is a Rotated RetinaNet with this head, and the two
            switches above are off too (their branches feed only the refine stage).
    """

    def __init__(
        self, *args, with_asym_convs: bool = True, with_attention: bool = True, with_refine: bool = True, **kwargs
    ):
        self.with_refine = bool(with_refine)
        # The 1x3/3x1 branch and the attention feed only the refine stage: without it they
        # would be weights outside the loss, which DistributedDataParallel refuses ("parameters
        # that were not used in producing loss"). So they are built only with the refine stage.
        if not self.with_refine and (with_asym_convs or with_attention):
            warnings.warn(
                "FRHead: with_refine=False, so with_asym_convs and with_attention have no "
                "effect (they feed only the refine stage) and are not built",
                stacklevel=2,
            )
        self.with_asym_convs = bool(with_asym_convs) and self.with_refine
        self.with_attention = bool(with_attention) and self.with_refine
        super().__init__(*args, **kwargs)

    def _init_layers(self):
        super()._init_layers()
        out_cls = self.num_anchors * self.cls_out_channels
        if self.with_asym_convs:
            # The paper code feeds these feat_channels-wide 1x1 convs with in_channels-wide
            # features; that only works when the two are equal (256 in its configs).
            if self.in_channels != self.feat_channels:
                raise ValueError(
                    f"FRHead with_asym_convs needs in_channels == feat_channels "
                    f"(got {self.in_channels} and {self.feat_channels})"
                )
            self.conv_1_3 = nn.Conv2d(self.in_channels, self.in_channels, (1, 3), padding=(0, 1))
            self.conv_3_1 = nn.Conv2d(self.in_channels, self.in_channels, (3, 1), padding=(1, 0))
            self.cls_score_refine_conv = nn.Conv2d(self.feat_channels, out_cls, 1)
            self.bbox_pred_refine_conv = nn.Conv2d(self.feat_channels, self.num_anchors * 5, 1)
        if self.with_attention:
            self.sigmoid_conv = nn.Conv2d(out_cls, 1, 1)

    def forward_single(self, x):
        cls_score, bbox_pred = super().forward_single(x)
        refine_cls = refine_reg = attention = None
        if self.with_asym_convs:
            # The paper code computes this identical feature twice (for cls and reg); once is enough.
            feat = self.conv_3_1(self.conv_1_3(x))
            refine_cls = self.cls_score_refine_conv(feat)
            refine_reg = self.bbox_pred_refine_conv(feat)
        if self.with_attention:
            attention = self.sigmoid_conv(cls_score).sigmoid()
        return cls_score, bbox_pred, refine_cls, refine_reg, attention
