"""DOTA Task1: ours against the devkit port, and the devkit's rules on hand-made cases."""
from __future__ import annotations

import numpy as np
import pytest

from detlab.errors import UserError
from detlab.evaluation import DOTA_V1_CLASSES, evaluate_dota
from detlab.evaluation import devkit_reference
from detlab.evaluation.synthetic import make_case


def box(x0, y0, x1, y1):
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def one_class(gt_boxes, difficult, det_rows, name='plane', image='img'):
    """gts/dets dicts for one image and one class; det_rows = [(score, poly), ...]."""
    gts = {image: (np.array(gt_boxes, float).reshape(-1, 8), [name] * len(gt_boxes),
                   np.array(difficult, bool))}
    dets = {name: ([image] * len(det_rows), np.array([s for s, _ in det_rows], float),
                   np.array([p for _, p in det_rows], float).reshape(-1, 8))}
    return gts, dets


def devkit_ap(gts, dets, name, metric='voc07', iou_thr=0.5):
    """The devkit port on in-memory records (the body of voc_eval)."""
    recs = {img: [{'name': n, 'difficult': int(d), 'bbox': [float(v) for v in p]}
                  for p, n, d in zip(*entry)] for img, entry in gts.items()}
    ids, scores, polys = dets.get(name, ([], [], np.zeros((0, 8))))
    lines = [' '.join([i, repr(float(s)), *map(repr, map(float, p))])
             for i, s, p in zip(ids, scores, polys)]
    return devkit_reference.voc_eval_records(recs, list(gts), lines, name, iou_thr,
                                             metric == 'voc07')[2]


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
@pytest.mark.parametrize('metric', ['voc07', 'voc12'])
def test_random_cases_equal_devkit_port(seed, metric, devkit_aps):
    case = make_case(seed, num_images=12, objects_per_image=(5, 25))
    ours = evaluate_dota(case.gts, case.dets, metric=metric)
    ref = devkit_aps(case, metric)
    got = np.array([ours.ap[c] for c in case.classes])
    no_gt = np.array([ours[c].num_gt == 0 for c in case.classes])
    assert no_gt[:2].all() and not no_gt[2:].any()
    has_det = np.array([ours[c].num_det > 0 for c in case.classes])
    assert not has_det[-2:].any() and has_det[:-2].all()
    assert (got[~no_gt & has_det] > 0.1).all()  # real matching happened
    if metric == 'voc12':  # the devkit gives NaN for classes without objects, we give 0
        assert np.isnan(ref[no_gt & has_det]).all()
        ref = np.where(no_gt & has_det, 0.0, ref)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    assert ours.mAP == pytest.approx(got.sum() / 15, abs=1e-15)


@pytest.mark.parametrize('iou_thr', [0.3, 0.7])
def test_other_thresholds_equal_devkit_port(iou_thr, devkit_aps):
    case = make_case(7, num_images=10)
    ours = evaluate_dota(case.gts, case.dets, iou_thr=iou_thr)
    np.testing.assert_allclose([ours.ap[c] for c in case.classes],
                               devkit_aps(case, 'voc07', iou_thr), rtol=0, atol=1e-12)


def test_exact_ties_on_integer_grid_equal_devkit_port():
    """Axis-aligned integer boxes: IoU exactly 0.5 and objects tied for the best IoU abound."""
    rng = np.random.default_rng(11)
    for _ in range(40):
        gt_boxes, diff, rows = [], [], []
        for _ in range(rng.integers(1, 8)):
            x, y = rng.integers(0, 6, 2) * 10 + 1000
            w, h = rng.choice([10, 20], 2)
            gt_boxes.append(box(x, y, x + w, y + h))
            diff.append(rng.random() < 0.2)
        for _ in range(rng.integers(1, 10)):
            x, y = rng.integers(0, 12, 2) * 5 + 1000
            w, h = rng.choice([10, 20], 2)
            rows.append((float(rng.integers(0, 5)) / 4, box(x, y, x + w, y + h)))
        gts, dets = one_class(gt_boxes, diff, rows)
        for metric in ('voc07', 'voc12'):
            ours = evaluate_dota(gts, dets, metric=metric, classes=['plane'])
            ref = devkit_ap(gts, dets, 'plane', metric)
            if np.isnan(ref):  # VOC12 without non-difficult objects: the devkit's NaN, our 0
                assert metric == 'voc12' and ours['plane'].num_gt == 0
                ref = 0.0
            assert ours.ap['plane'] == ref


def test_two_objects_three_detections_by_hand():
    gts, dets = one_class(
        [box(0, 0, 10, 10), box(100, 100, 110, 110)], [False, False],
        [(0.9, box(1, 0, 11, 10)),        # IoU 90/110 with object 1: TP
         (0.8, box(1, 1, 11, 11)),        # object 1 again (IoU 81/119): duplicate, FP
         (0.7, box(100, 101, 110, 111))])  # IoU 90/110 with object 2: TP
    r = evaluate_dota(gts, dets, classes=['plane'])
    # recall .5 .5 1, precision 1 .5 2/3 -> VOC07 (6 + 5 * 2/3) / 11, area .5 + .5 * 2/3
    assert r.ap['plane'] == pytest.approx((6 + 5 * 2 / 3) / 11, abs=1e-12)
    np.testing.assert_allclose(r['plane'].recall, [0.5, 0.5, 1.0])
    r12 = evaluate_dota(gts, dets, classes=['plane'], metric='voc12')
    assert r12.ap['plane'] == pytest.approx(0.5 + 0.5 * 2 / 3, abs=1e-12)


def test_match_needs_iou_strictly_above_threshold():
    gt = [box(0, 0, 10, 10)]
    exactly_half = box(0, 0, 10, 20)  # IoU 100/200 = 0.5 exactly
    just_above = box(0, 0, 10, 19.99)
    gts, dets = one_class(gt, [False], [(0.9, exactly_half)])
    assert evaluate_dota(gts, dets, classes=['plane']).ap['plane'] == 0.0
    gts, dets = one_class(gt, [False], [(0.9, just_above)])
    assert evaluate_dota(gts, dets, classes=['plane']).ap['plane'] == pytest.approx(1.0)
    # the same pair at a lower threshold matches
    gts, dets = one_class(gt, [False], [(0.9, exactly_half)])
    assert evaluate_dota(gts, dets, iou_thr=0.49, classes=['plane']).ap['plane'] == pytest.approx(1.0)


def test_difficult_objects_are_neither_counted_nor_penalised():
    easy, hard = box(0, 0, 10, 10), box(50, 50, 60, 60)
    rows = [(0.9, box(50, 50, 60, 60)),   # on the difficult object: ignored
            (0.8, box(50, 51, 60, 61)),   # again on it: still ignored, not a duplicate FP
            (0.7, box(0, 0, 10, 10))]     # on the easy one: TP
    gts, dets = one_class([easy, hard], [False, True], rows)
    r = evaluate_dota(gts, dets, classes=['plane'])
    assert r['plane'].num_gt == 1 and r['plane'].num_difficult == 1
    assert r.ap['plane'] == pytest.approx(1.0)  # one TP, no FP, one object to find
    np.testing.assert_allclose(r['plane'].precision, [0.0, 0.0, 1.0])
    # the same detections with the object not difficult: 2 objects, one duplicate FP
    gts, dets = one_class([easy, hard], [False, False], rows)
    r = evaluate_dota(gts, dets, classes=['plane'])
    np.testing.assert_allclose(r['plane'].recall, [0.5, 0.5, 1.0])


def test_detection_best_on_difficult_is_ignored_even_if_it_overlaps_an_easy_object():
    # the devkit looks only at the best object: a detection whose best is difficult is ignored
    easy, hard = box(0, 0, 10, 10), box(4, 0, 14, 10)
    gts, dets = one_class([easy, hard], [False, True], [(0.9, box(3, 0, 13, 10))])
    r = evaluate_dota(gts, dets, classes=['plane'])
    assert r.ap['plane'] == 0.0 and r['plane'].precision.tolist() == [0.0]
    assert devkit_ap(gts, dets, 'plane') == 0.0


def test_classes_without_objects_or_detections_count_zero_in_the_map():
    gts = {'a': (np.array([box(0, 0, 10, 10)], float), ['plane'], np.array([False]))}
    dets = {'plane': (['a'], np.array([0.5]), np.array([box(0, 0, 10, 10)], float)),
            'ship': (['a'], np.array([0.5]), np.array([box(50, 50, 60, 60)], float))}
    r = evaluate_dota(gts, dets)
    assert r.ap['plane'] == pytest.approx(1.0)
    assert r.ap['ship'] == 0.0 and r['ship'].num_gt == 0  # detections, no objects
    assert r.ap['helicopter'] == 0.0 and r['helicopter'].num_det == 0
    assert r.mAP == pytest.approx(1 / 15)  # all 15 classes, as the devkit
    d = r.to_dict()
    assert list(d['AP']) == list(DOTA_V1_CLASSES)
    assert d['metric'] == 'voc07' and d['iou_thr'] == 0.5
    assert d['num_gt']['plane'] == 1 and d['num_det']['ship'] == 1


def test_equal_scores_keep_the_devkit_order():
    # two detections with the same score on one object: which one is the TP decides the AP
    gts, dets = one_class([box(0, 0, 10, 10), box(20, 0, 30, 10)], [False, False],
                          [(0.5, box(40, 0, 50, 10)), (0.5, box(0, 0, 10, 10)),
                           (0.5, box(60, 0, 70, 10)), (0.5, box(20, 0, 30, 10))])
    for metric in ('voc07', 'voc12'):
        ours = evaluate_dota(gts, dets, classes=['plane'], metric=metric).ap['plane']
        assert ours == devkit_ap(gts, dets, 'plane', metric)


def test_bad_inputs_are_user_errors():
    gts, dets = one_class([box(0, 0, 10, 10)], [False], [(0.5, box(0, 0, 10, 10))])
    with pytest.raises(UserError, match="image 'nope'"):
        evaluate_dota(gts, {'plane': (['nope'], [0.5], [box(0, 0, 1, 1)])}, classes=['plane'])
    with pytest.raises(UserError, match='not evaluated: plain'):
        evaluate_dota(gts, {'plain': dets['plane']}, classes=['plane'])
    with pytest.raises(UserError, match='metric'):
        evaluate_dota(gts, dets, metric='coco', classes=['plane'])
    with pytest.raises(UserError, match=r'\(N, 8\)'):
        evaluate_dota(gts, {'plane': (['img'], [0.5], [[0, 0, 1, 1]])}, classes=['plane'])
    with pytest.raises(UserError, match='NaN'):
        evaluate_dota(gts, {'plane': (['img'], [np.nan], [box(0, 0, 1, 1)])}, classes=['plane'])


def test_degenerate_and_self_intersecting_quads_equal_devkit_port():
    """Tiny integer quads: zero-area polygons (IoU 0/0 in the devkit), bow-ties, collinear
    points. Whatever the devkit's arithmetic makes of them, we make the same."""
    rng = np.random.default_rng(12)
    for _ in range(60):
        n = int(rng.integers(1, 6))
        gt = rng.integers(0, 4, (n, 8)).astype(float)
        rows = [(float(rng.integers(0, 4)), rng.integers(0, 4, 8).astype(float))
                for _ in range(rng.integers(1, 8))]
        gts, dets = one_class(gt, rng.random(n) < 0.2, rows)
        for metric in ('voc07', 'voc12'):
            ours = evaluate_dota(gts, dets, metric=metric, iou_thr=0.3, classes=['plane'])
            ref = devkit_ap(gts, dets, 'plane', metric, iou_thr=0.3)
            if np.isnan(ref):
                assert metric == 'voc12' and ours['plane'].num_gt == 0
                ref = 0.0
            assert ours.ap['plane'] == ref


def test_zero_union_pair_is_decided_as_the_devkit_decides():
    # zero-area bow-tie objects: for the 5th detection and the first object the union is 0,
    # our IoU inf, the devkit's -4.5e15 (rounding), so the devkit does not match them
    gt = [[3, 1, 0, 1, 1, 2, 2, 0], [0, 2, 3, 2, 1, 3, 2, 1], [1, 2, 1, 2, 2, 3, 1, 1],
          [1, 2, 2, 3, 2, 3, 2, 1]]
    rows = [(0.0, [2, 0, 1, 0, 1, 1, 3, 1]), (0.0, [1, 3, 1, 3, 2, 3, 1, 2]),
            (1.0, [2, 1, 1, 0, 2, 2, 0, 2]), (0.0, [3, 1, 1, 2, 2, 2, 0, 3]),
            (2.0, [2, 0, 2, 1, 2, 1, 3, 1]), (0.0, [3, 2, 2, 1, 0, 0, 2, 0])]
    gts, dets = one_class(gt, [False] * 4, rows)
    for thr in (0.3, 0.5):
        ours = evaluate_dota(gts, dets, iou_thr=thr, classes=['plane']).ap['plane']
        assert ours == devkit_ap(gts, dets, 'plane', iou_thr=thr)


def test_evaluate_by_dataset_name():
    from detlab.evaluation import evaluate
    case = make_case(5, num_images=4)
    assert evaluate('dota', case.gts, case.dets).to_dict() == \
        evaluate_dota(case.gts, case.dets).to_dict()
    with pytest.raises(ValueError, match='dataset must be'):
        evaluate('coco', case.gts, case.dets)
