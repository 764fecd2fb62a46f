"""Synthetic datasets: real layouts, valid labels, byte-identical per seed, all or nothing."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from detlab.data import synth
from detlab.atomic import is_complete, partial_path, read_marker
from detlab.errors import UserError
from refined_det.datasets.formats import (DOTA_CLASSES, check_image, read_dota_dir,
                                          read_hrsc_split)


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob('*')) if p.is_file() and p.name != '.complete'}


def test_hrsc_layout_and_labels(hrsc_root):
    assert is_complete(hrsc_root) and read_marker(hrsc_root)['images'] == 10
    sets = {s: (hrsc_root / 'ImageSets' / f'{s}.txt').read_text().split()
            for s in ('train', 'val', 'trainval', 'test')}
    assert sorted(sets['trainval'] + sets['test']) == sorted(p.stem for p in (
        hrsc_root / 'FullDataSet' / 'AllImages').glob('*.bmp'))
    assert set(sets['trainval']) == set(sets['train']) | set(sets['val'])
    anns = {**read_hrsc_split(hrsc_root, 'trainval'), **read_hrsc_split(hrsc_root, 'test')}
    boxes = np.concatenate([a.rboxes for a in anns.values()])
    assert len(boxes) >= 10
    w, h, ang = boxes[:, 2], boxes[:, 3], boxes[:, 4]
    assert (w > h).all() and (w / h >= 3 - 1e-6).all() and (w / h <= 8 + 1e-6).all()
    assert ((w >= 40 - 1e-6) & (w <= 250 + 1e-6)).all()
    assert ((ang >= -np.pi / 2) & (ang < np.pi / 2)).all()
    for image_id, ann in anns.items():
        img = hrsc_root / 'FullDataSet' / 'AllImages' / f'{image_id}.bmp'
        assert check_image(img, decode=True) == (ann.width, ann.height)
        assert 800 <= ann.width <= 1000 and 500 <= ann.height <= 600
        p = ann.polys.reshape(-1, 4, 2)
        assert (p >= 0).all() and (p[..., 0] <= ann.width).all() and (p[..., 1] <= ann.height).all()


def test_dota_layout_and_labels(dota_root):
    anns = read_dota_dir(dota_root / 'labelTxt')
    assert list(anns) == ['P0000', 'P0001']
    labels = [l for a in anns.values() for l in a.labels]
    assert set(labels) == set(DOTA_CLASSES)
    assert labels.count('small-vehicle') > 20  # dense small objects
    assert any(a.difficult.any() for a in anns.values())
    header = (dota_root / 'labelTxt' / 'P0000.txt').read_text().splitlines()[:2]
    assert header[0] == 'imagesource:synthetic' and header[1].startswith('gsd:')
    for image_id, ann in anns.items():
        w, h = check_image(dota_root / 'images' / f'{image_id}.png', decode=True)
        assert 1000 <= min(w, h) and max(w, h) <= 1300
        assert ann.polys[:, 0::2].max() < w and ann.polys[:, 1::2].max() < h


def test_default_dota_images_are_large():
    img, ann = synth.render_dota(0, 0)
    assert 2000 <= min(img.shape[:2]) and max(img.shape[:2]) <= 4000 and len(ann) > 100


def test_same_seed_same_bytes_any_worker_count(tmp_path, hrsc_root):
    synth.synth_dataset('hrsc2016', tmp_path / 'a', images=10, seed=3, workers=2, progress=False)
    assert _digest(tmp_path / 'a') == _digest(hrsc_root)
    synth.synth_dataset('hrsc2016', tmp_path / 'b', images=10, seed=4, workers=1, progress=False)
    a, b = _digest(tmp_path / 'a'), _digest(tmp_path / 'b')
    images = [k for k in a if k.endswith('.bmp')]
    assert all(a[k] != b[k] for k in images)


def test_dota_deterministic_per_image():
    a, b, c = synth.render_dota(7, 1, (600, 700)), synth.render_dota(7, 1, (600, 700)), synth.render_dota(8, 1, (600, 700))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1].polys, b[1].polys)
    assert a[0].shape != c[0].shape or not np.array_equal(a[0], c[0])


def test_interrupted_synth_leaves_nothing_complete(tmp_path, monkeypatch):
    calls = []

    def failing_writer(path, ann):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-run
        return real(path, ann)

    from detlab.data.synth import write as writer  # where the dataset writer looks the function up

    real = writer.write_hrsc_xml
    monkeypatch.setattr(writer, 'write_hrsc_xml', failing_writer)
    out = tmp_path / 'hrsc'
    with pytest.raises(KeyboardInterrupt):
        synth.synth_dataset('hrsc2016', out, images=6, seed=0, workers=1, progress=False)
    assert not out.exists() and not partial_path(out).exists()
    # a run killed hard (no cleanup) leaves only `.hrsc.partial`, which the rerun removes
    partial_path(out).mkdir()
    (partial_path(out) / 'junk').write_text('x')
    monkeypatch.setattr(writer, 'write_hrsc_xml', real)
    synth.synth_dataset('hrsc2016', out, images=2, seed=0, workers=1, progress=False)
    assert is_complete(out) and not partial_path(out).exists()
    with pytest.raises(UserError, match='already exists'):
        synth.synth_dataset('hrsc2016', out, images=2, seed=0, workers=1, progress=False)
    synth.synth_dataset('hrsc2016', out, images=3, seed=0, workers=1, progress=False, overwrite=True)
    assert read_marker(out)['images'] == 3


def test_refuses_foreign_folders_and_bad_arguments(tmp_path):
    (tmp_path / 'mine').mkdir()
    (tmp_path / 'mine' / 'precious.txt').write_text('keep me')
    with pytest.raises(UserError, match='not written by detlab'):
        synth.synth_dataset('hrsc2016', tmp_path / 'mine', images=1, workers=1, progress=False)
    assert (tmp_path / 'mine' / 'precious.txt').exists()
    with pytest.raises(UserError, match='--dataset'):
        synth.synth_dataset('coco', tmp_path / 'x', images=1)
    with pytest.raises(UserError, match='--images'):
        synth.synth_dataset('dota', tmp_path / 'x', images=0)
