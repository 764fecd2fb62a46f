"""Small synthetic datasets shared by the data tests (written once per session, serially)."""
from __future__ import annotations

import warnings

import pytest


@pytest.fixture(scope='session')
def hrsc_root(tmp_path_factory):
    from detlab.data.synth import synth_dataset
    out = tmp_path_factory.mktemp('synth') / 'hrsc'
    synth_dataset('hrsc2016', out, images=10, seed=3, workers=1, progress=False)
    return out


@pytest.fixture(scope='session')
def dota_root(tmp_path_factory):
    """Two 1000-1300 px images: several 512-px patches each, every class present."""
    from detlab.data.synth import synth_dataset
    out = tmp_path_factory.mktemp('synth') / 'dota'
    synth_dataset('dota', out, images=2, seed=5, workers=1, progress=False, size_range=(1000, 1300))
    return out


@pytest.fixture(autouse=True)
def _quiet_third_party_warnings():
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', module='mmcv')
        warnings.filterwarnings('ignore', category=DeprecationWarning)
        yield
