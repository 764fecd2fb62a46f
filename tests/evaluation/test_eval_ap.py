"""AP arithmetic: hand-worked cases, and the devkit's own `voc_ap` on random PR curves."""
from __future__ import annotations

import numpy as np
import pytest

from detlab.evaluation import precision_recall, voc07_ap, voc12_ap
from detlab.evaluation.devkit_reference import voc_ap


def test_two_objects_three_detections_by_hand():
    # by falling score: TP, FP, TP; 2 objects -> recall .5 .5 1, precision 1 .5 2/3
    rec, prec = precision_recall([1, 0, 1], [0, 1, 0], npos=2)
    np.testing.assert_allclose(rec, [0.5, 0.5, 1.0])
    np.testing.assert_allclose(prec, [1.0, 0.5, 2 / 3])
    # VOC07: thresholds 0 .. .5 (6 of them) see precision 1; .6 .. 1 (5) see 2/3
    assert voc07_ap(rec, prec) == pytest.approx((6 * 1 + 5 * 2 / 3) / 11, abs=1e-12)
    # area: recall 0->.5 at precision 1, .5->1 at the envelope 2/3
    assert voc12_ap(rec, prec) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3, abs=1e-12)


def test_first_detection_false():
    # FP, TP, TP with 4 objects: recall 0 .25 .5, precision 0 .5 2/3
    rec, prec = precision_recall([0, 1, 1], [1, 0, 0], npos=4)
    # VOC07: t=0 .. .5 -> max precision at recall >= t = 2/3 (6 bins), rest 0
    assert voc07_ap(rec, prec) == pytest.approx(6 * (2 / 3) / 11, abs=1e-12)
    # area: envelope 2/3 over recall 0 -> .5
    assert voc12_ap(rec, prec) == pytest.approx(0.5 * 2 / 3, abs=1e-12)


def test_recall_of_exactly_three_tenths_misses_the_03_bin():
    # np.arange(0, 1.1, .1)[3] is 0.30000000000000004 > 3/10: the devkit quirk we keep
    tp = [1, 1, 1, 0, 1]
    fp = [0, 0, 0, 1, 0]
    rec, prec = precision_recall(tp, fp, npos=10)
    # bins 0, .1, .2 see precision 1; bins .3 and .4 only see recall .4 at precision 4/5
    expected = (3 * 1.0 + 2 * 0.8) / 11
    assert voc07_ap(rec, prec) == pytest.approx(expected, abs=1e-12)
    assert voc07_ap(rec, prec) == voc_ap(rec, prec, use_07_metric=True)


def test_class_without_objects_or_detections():
    rec, prec = precision_recall([0, 0], [1, 1], npos=0)
    assert np.isnan(rec).all()
    assert voc07_ap(rec, prec) == 0.0  # NaN recall reaches no bin: the devkit's own result
    with np.errstate(invalid='ignore'):
        assert np.isnan(voc_ap(rec, prec, use_07_metric=False))  # the devkit: NaN
    assert voc12_ap(rec, prec) == 0.0  # ours: 0, so the mAP stays a number
    rec, prec = precision_recall([], [], npos=3)
    assert voc07_ap(rec, prec) == 0.0 and voc12_ap(rec, prec) == 0.0


@pytest.mark.parametrize('seed', range(5))
def test_bitwise_equal_to_devkit_voc_ap(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    tp = (rng.random(n) < rng.random()).astype(float)
    npos = int(tp.sum() + rng.integers(0, 20)) or 1
    rec, prec = precision_recall(tp, 1 - tp, npos)
    assert voc07_ap(rec, prec) == voc_ap(rec, prec, use_07_metric=True)
    assert voc12_ap(rec, prec) == voc_ap(rec, prec, use_07_metric=False)
