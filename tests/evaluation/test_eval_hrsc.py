"""HRSC2016: mmrotate's rules and numbers (AP50 VOC07/VOC12, AP50:95), and the converter."""
from __future__ import annotations

import types

import numpy as np
import pytest

from detlab.evaluation import HRSC_IOU_THRS, evaluate_hrsc, quad_iou

mmrotate_eval = pytest.importorskip('mmrotate.core.evaluation.eval_map')
from detlab.evaluation.convert import mmrotate_results_to_dets  # noqa: E402


def box(x0, y0, x1, y1):
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def rbox_corners(rb):
    """Independent corners of (cx, cy, w, h, a): rotate the centred w x h rectangle by a."""
    cx, cy, w, h, a = rb
    local = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (local @ rot.T + [cx, cy]).reshape(8)


def random_hrsc(seed, images=30):
    rng = np.random.default_rng(seed)
    gt_rb, det_rb = [], []
    for _ in range(images):
        n = int(rng.integers(0, 5))
        g = np.stack([rng.uniform(100, 700, n), rng.uniform(100, 500, n), rng.uniform(60, 300, n),
                      rng.uniform(15, 50, n), rng.uniform(-np.pi / 2, np.pi / 2, n)], 1)
        d = np.repeat(g, rng.integers(0, 3, n), axis=0)  # misses and duplicates
        d = d + rng.normal(0, 1, d.shape) * [3, 3, 6, 2, 0.02]
        fp = np.stack([rng.uniform(100, 700, 2), rng.uniform(100, 500, 2), [120, 80], [30, 20],
                       [0.3, -1.0]], 1)
        d = np.concatenate([d, fp])
        d = np.concatenate([d, rng.random((len(d), 1))], 1)
        gt_rb.append(g)
        det_rb.append(d)
    return gt_rb, det_rb


class _InlinePool:
    """mmrotate's eval_rbbox_map spawns processes; run its per-image work inline instead."""

    def __init__(self, *_):
        pass

    def starmap(self, func, args):
        return [func(*a) for a in args]

    def close(self):
        pass


@pytest.mark.parametrize('seed', [0, 1])
def test_equals_mmrotate_eval_rbbox_map(seed, monkeypatch):
    monkeypatch.setattr(mmrotate_eval, 'get_context',
                        lambda _method: types.SimpleNamespace(Pool=_InlinePool))
    gt_rb, det_rb = random_hrsc(seed)
    ids = [f'{100000000 + i}' for i in range(len(gt_rb))]
    annotations = [{'bboxes': g.astype(np.float32), 'labels': np.zeros(len(g), np.int64),
                    'bboxes_ignore': np.zeros((0, 5), np.float32),
                    'labels_ignore': np.zeros(0, np.int64)} for g in gt_rb]
    results = [[d.astype(np.float32)] for d in det_rb]

    def mmrotate_map(thr, voc07):
        return mmrotate_eval.eval_rbbox_map(results, annotations, iou_thr=thr,
                                            use_07_metric=voc07, logger='silent')[0]

    gts = {i: (np.array([rbox_corners(r) for r in g]).reshape(-1, 8), ['ship'] * len(g),
               np.zeros(len(g), bool)) for i, g in zip(ids, gt_rb)}
    dets = mmrotate_results_to_dets([[d] for d in det_rb], ids, ['ship'])
    ours = evaluate_hrsc(gts, dets).to_dict()
    assert 0.2 < ours['AP50_voc07'] < 0.99  # a case with misses and false positives
    # mmrotate computes IoUs and APs in float32
    assert ours['AP50_voc07'] == pytest.approx(mmrotate_map(0.5, True), abs=1e-5)
    assert ours['AP50_voc12'] == pytest.approx(mmrotate_map(0.5, False), abs=1e-5)
    mean = np.mean([mmrotate_map(t, True) for t in HRSC_IOU_THRS])  # HRSCDataset.evaluate's mAP
    assert ours['AP50_95'] == pytest.approx(mean, abs=1e-5)


def test_match_at_exactly_the_threshold_counts_for_hrsc():
    gts = {'a': (np.array([box(0, 0, 10, 10)], float), ['ship'], np.array([False]))}
    dets = {'ship': (['a'], np.array([0.9]), np.array([box(0, 0, 10, 20)], float))}  # IoU .5
    r = evaluate_hrsc(gts, dets)
    assert r.ap['ship'] == pytest.approx(1.0) and r.iou_rule == '>='


def test_difficult_ships_count_unless_asked_otherwise():
    gts = {'a': (np.array([box(0, 0, 10, 10), box(50, 0, 60, 10)], float), ['ship'] * 2,
                 np.array([False, True]))}
    dets = {'ship': (['a'], np.array([0.9]), np.array([box(0, 0, 10, 10)], float))}
    assert evaluate_hrsc(gts, dets)['ship'].num_gt == 2
    assert evaluate_hrsc(gts, dets).ap['ship'] == pytest.approx(6 / 11)
    ignoring = evaluate_hrsc(gts, dets, ignore_difficult=True)
    assert ignoring['ship'].num_gt == 1 and ignoring.ap['ship'] == pytest.approx(1.0)


def test_converter_gives_the_rotated_box_corners():
    rb = np.array([[100.0, 50.0, 40.0, 10.0, 0.3, 0.9], [10.0, 20.0, 8.0, 4.0, -1.2, 0.4]])
    dets = mmrotate_results_to_dets([[rb, np.zeros((0, 6))], [np.zeros((0, 6)), rb[:1]]],
                                    ['i0', 'i1'], ['ship', 'plane'])
    ids, scores, polys = dets['ship']
    assert ids == ['i0', 'i0'] and scores.tolist() == [0.9, 0.4]
    expected = np.array([rbox_corners(r[:5]) for r in rb])
    np.testing.assert_allclose(quad_iou(polys, expected), 1.0, atol=1e-12)
    assert dets['plane'][0] == ['i1']
    with pytest.raises(ValueError, match='class arrays'):
        mmrotate_results_to_dets([[rb]], ['i0'], ['ship', 'plane'])
