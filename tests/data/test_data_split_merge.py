"""DOTA split (MMRotate img_split semantics) and merge back to a Task1 submission."""
from __future__ import annotations

import pickle
import zipfile

import cv2
import numpy as np
import pytest

from detlab.data import split as split_mod
from detlab.atomic import is_complete, partial_path
from detlab.data.merge import merge_detections, merge_to_submission, parse_patch_id
from detlab.data.split import SplitConfig, sliding_windows, split_dataset, window_iof
from detlab.errors import UserError
from detlab.evaluation.task1 import read_task1_dir, write_task1_dir
from refined_det.datasets.formats import (DOTA_CLASSES, AnnotationError, AnnotationWarning,
                                          DotaAnnotation, read_dota_dir, write_dota_label)

CFG = SplitConfig(size=512, gap=200)


def _box(x0, y0, x1, y1):
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def test_windows_follow_mmrotate():
    # 1000 px, window 512, step 312: starts 0, 312, and the last pulled back to 1000 - 512
    w = sliding_windows(1000, 400, CFG)
    assert w.tolist() == [[0, 0, 512, 512], [312, 0, 824, 512], [488, 0, 1000, 512]]
    # an image smaller than the window gives one (padded) window
    assert sliding_windows(300, 200, CFG).tolist() == [[0, 0, 512, 512]]
    ms = SplitConfig(size=1024, gap=500, rates=(0.5, 1.0, 1.5))
    assert ms.sizes_gaps() == [(2048, 1000), (1024, 500), (682, 333)]
    sizes = {int(x1 - x0) for x0, _, x1, _ in sliding_windows(3000, 3000, ms)}
    assert sizes == {2048, 1024, 682}


def _cut_scene(tmp_path, iof_thr=0.7):
    """A 1000x400 image whose first object crosses the window edges at x=488 and x=512."""
    src = tmp_path / 'src'
    (src / 'images').mkdir(parents=True)
    (src / 'labelTxt').mkdir()
    cv2.imwrite(str(src / 'images' / 'P9.png'), np.full((400, 1000, 3), 90, np.uint8))
    ann = DotaAnnotation(np.array([_box(480, 100, 540, 120), _box(100, 100, 130, 130)], float),
                         ['ship', 'plane'], [1, 0])
    write_dota_label(src / 'labelTxt' / 'P9.txt', ann)
    return src


def test_object_cut_by_a_patch_edge(tmp_path):
    src = _cut_scene(tmp_path)
    out = tmp_path / 'out'
    meta = split_dataset(src, out, CFG, workers=1, progress=False)
    assert is_complete(out) and meta['patches'] == 3
    anns = read_dota_dir(out / 'annfiles')
    assert sorted(anns) == ['P9__512__0___0', 'P9__512__312___0', 'P9__512__488___0']
    # window 0 holds 32/60 of the ship (< 0.7): dropped; the plane is wholly inside
    assert anns['P9__512__0___0'].labels == ['plane']
    assert anns['P9__512__0___0'].difficulty.tolist() == [0]
    # window 312..824 holds all of it: kept with its own difficult flag, shifted
    a = anns['P9__512__312___0']
    assert a.labels == ['ship'] and a.difficulty.tolist() == [1]
    np.testing.assert_array_equal(a.polys[0], _box(168, 100, 228, 120))
    # window 488..1000 holds 52/60 (>= 0.7): kept unclipped, flagged 2 as MMRotate does
    b = anns['P9__512__488___0']
    assert b.labels == ['ship'] and b.difficulty.tolist() == [2]
    np.testing.assert_array_equal(b.polys[0], _box(-8, 100, 52, 120))
    # patches are padded to the window size
    assert cv2.imread(str(out / 'images' / 'P9__512__0___0.png')).shape == (512, 512, 3)
    # with a lower threshold the 32/60 part is kept too, and flagged 2
    split_dataset(src, out, SplitConfig(size=512, gap=200, iof_thr=0.5), workers=1,
                  progress=False, overwrite=True)
    a0 = read_dota_dir(out / 'annfiles')['P9__512__0___0']
    assert a0.labels == ['ship', 'plane'] and a0.difficulty.tolist() == [2, 0]


def test_iof_of_rotated_object():
    diamond = np.array([[50, 0, 100, 50, 50, 100, 0, 50]], float)  # area 5000
    iof = window_iof(diamond, np.array([[0, 0, 50, 100], [0, 0, 200, 200], [300, 300, 400, 400]]))
    np.testing.assert_allclose(iof, [[0.5, 1.0, 0.0]])


def _patch_dets_from_split(annfiles):
    dets = {c: ([], [], []) for c in DOTA_CLASSES}
    for pid, ann in read_dota_dir(annfiles).items():
        for poly, name in zip(ann.polys, ann.labels):
            dets[name][0].append(pid)
            dets[name][1].append(1.0)
            dets[name][2].append(poly)
    return {c: (ids, np.array(s), np.array(p).reshape(-1, 8)) for c, (ids, s, p) in dets.items()}


def _as_sets(per_class):
    return {c: sorted(map(tuple, np.round(np.asarray(p), 3).tolist())) for c, (_, _, p) in per_class.items()}


def test_split_merge_round_trip_gives_the_original_boxes(dota_root, tmp_path):
    split_dataset(dota_root, tmp_path / 'split', CFG, workers=2, progress=False)
    patch_dets = _patch_dets_from_split(tmp_path / 'split' / 'annfiles')
    write_task1_dir(tmp_path / 'patch_task1', patch_dets, DOTA_CLASSES)
    meta = merge_to_submission(tmp_path / 'patch_task1', tmp_path / 'sub', progress=False)
    assert is_complete(tmp_path / 'sub') and meta['zip'] == 'sub.zip'
    merged, missing = read_task1_dir(tmp_path / 'sub', DOTA_CLASSES)
    assert not missing
    gt = read_dota_dir(dota_root / 'labelTxt')
    for name in DOTA_CLASSES:
        got = sorted(zip(merged[name].image_ids, map(tuple, merged[name].polys.round(3).tolist())))
        want = sorted((i, tuple(p)) for i, a in gt.items()
                      for p, l in zip(a.polys.round(3).tolist(), a.labels) if l == name)
        assert got == want, name
    from detlab.evaluation.dota import evaluate_dota
    # the devkit counts a class whose objects are all difficult with AP 0: leave those out
    scored = [c for c in DOTA_CLASSES
              if any(l == c and not d for a in gt.values() for l, d in zip(a.labels, a.difficult))]
    assert len(scored) >= 12
    result = evaluate_dota({i: (a.polys, a.labels, a.difficult) for i, a in gt.items()},
                           {c: merged[c].as_tuple() for c in scored}, classes=scored)
    assert result.mAP == pytest.approx(1.0)
    assert all(r.ap == pytest.approx(1.0) and r.num_gt > 0 for r in result.classes)
    with zipfile.ZipFile(tmp_path / 'sub' / 'sub.zip') as z:
        assert sorted(z.namelist()) == sorted(f'Task1_{c}.txt' for c in DOTA_CLASSES)
        assert z.read('Task1_plane.txt') == (tmp_path / 'sub' / 'Task1_plane.txt').read_bytes()


def test_merge_suppresses_overlapping_duplicates_and_keeps_the_best():
    a = np.array(_box(10, 10, 50, 30), float)
    dets = {'ship': (['P1__512__0___0', 'P1__512__312___0', 'P1__512__312___0', 'P2__512__0___0'],
                     np.array([0.9, 0.8, 0.7, 0.5]),
                     np.stack([a + np.tile([312, 0], 4), a, a + 100, a]))}
    ids, scores, polys = merge_detections(dets)['ship']
    assert ids == ['P1', 'P1', 'P2'] and scores.tolist() == [0.9, 0.7, 0.5]
    np.testing.assert_array_equal(polys[0], a + np.tile([312, 0], 4))
    assert parse_patch_id('P0001__1024__824___0') == ('P0001', 824, 0)
    with pytest.raises(UserError, match='not a patch id'):
        parse_patch_id('P0001')


def test_merge_from_results_pickle(tmp_path):
    split = tmp_path / 'split'
    (split / 'annfiles').mkdir(parents=True)
    for pid in ('P1__512__0___0', 'P1__512__312___0'):
        (split / 'annfiles' / f'{pid}.txt').write_text('')
    box = np.array([[40.0, 20.0, 40.0, 20.0, 0.0, 0.9]])
    results = [[box if c == 'plane' else np.zeros((0, 6)) for c in DOTA_CLASSES],
               [box - [[312, 0, 0, 0, 0, 0.1]] if c == 'plane' else np.zeros((0, 6)) for c in DOTA_CLASSES]]
    pkl = tmp_path / 'results.pkl'
    pkl.write_bytes(pickle.dumps(results))
    merge_to_submission(pkl, tmp_path / 'sub', split_dir=split, progress=False)
    dets, _ = read_task1_dir(tmp_path / 'sub', DOTA_CLASSES)
    assert dets['plane'].image_ids == ['P1'] and dets['plane'].scores.tolist() == [0.9]
    np.testing.assert_allclose(dets['plane'].polys[0], _box(20, 10, 60, 30))
    with pytest.raises(UserError, match='--split-dir'):
        merge_to_submission(pkl, tmp_path / 'sub2', progress=False)


def test_interrupted_split_leaves_nothing_complete(tmp_path, monkeypatch):
    src = _cut_scene(tmp_path)
    calls = []

    def failing(path, patch):
        calls.append(path)
        if len(calls) == 2:
            raise OSError('disk full')
        cv2.imwrite(str(path), patch)

    monkeypatch.setattr(split_mod, 'imwrite', failing)
    out = tmp_path / 'out'
    with pytest.raises(OSError, match='disk full'):
        split_dataset(src, out, CFG, workers=1, progress=False)
    assert not out.exists() and not partial_path(out).exists()


def test_split_bad_inputs(tmp_path):
    src = _cut_scene(tmp_path)
    img = src / 'images' / 'P9.png'
    data = img.read_bytes()
    img.write_bytes(data[: len(data) // 2])
    with pytest.raises(AnnotationError, match=rf'^{img}: .*truncated'):
        split_dataset(src, tmp_path / 'o1', CFG, workers=1, progress=False)
    img.write_bytes(data)
    (src / 'labelTxt' / 'P9.txt').write_text('1 2 3 4 5 6 7 ship 0\n')
    with pytest.raises(AnnotationError, match='P9.txt:1: expected 8 coordinates'):
        split_dataset(src, tmp_path / 'o2', CFG, workers=1, progress=False)
    assert not (tmp_path / 'o2').exists()
    (src / 'labelTxt' / 'P9.txt').unlink()
    (src / 'labelTxt' / 'orphan.txt').write_text('')
    with pytest.warns(AnnotationWarning) as record:
        meta = split_dataset(src, tmp_path / 'o3', CFG, workers=1, progress=False)
    messages = ' '.join(str(w.message) for w in record)
    assert 'P9.txt: absent' in messages and 'orphan.txt: label file without an image' in messages
    assert meta['patch_objects'] == 0
    with pytest.raises(UserError, match='no images folder'):
        split_dataset(tmp_path / 'nothing', tmp_path / 'o4', CFG)
    with pytest.raises(UserError, match='gap'):
        SplitConfig(size=512, gap=600)
