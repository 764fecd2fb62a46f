"""``CLARetinaHead``: mmrotate's RotatedRetinaHead that runs on CPU and feeds CLA."""

from mmrotate.models.builder import ROTATED_HEADS
from mmrotate.models.dense_heads import RotatedRetinaHead

from .grid_assign_mixin import GridAssignMixin


@ROTATED_HEADS.register_module()
class CLARetinaHead(GridAssignMixin, RotatedRetinaHead):
    """RotatedRetinaHead + grid context for ``CrossGridAssigner`` + CPU-safe anchors.

    With any other assigner it computes exactly what ``RotatedRetinaHead`` does,
    so the plain Rotated RetinaNet baseline uses it too (to train on CPU).
    """
