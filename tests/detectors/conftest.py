"""Fixtures of the refined_det tests."""
import math

import pytest


@pytest.fixture
def level_setup():
    """A 5-level grid for a padded 160x224 input (ceil division, as FPN with Pad(32))."""
    pad = (160, 224)
    strides = [8, 16, 32, 64, 128]
    sizes = [(math.ceil(pad[0] / s), math.ceil(pad[1] / s)) for s in strides]
    return pad, strides, sizes
