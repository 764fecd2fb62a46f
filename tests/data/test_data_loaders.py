"""StrictDOTADataset / StrictHRSCDataset built from mmcv config dicts, as training builds them."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import refined_det.register  # noqa: F401  (registers the plugins and strict datasets)
from detlab.data.split import SplitConfig, split_dataset
from refined_det.datasets.formats import (DOTA_CLASSES, AnnotationError, AnnotationWarning,
                                          read_dota_dir, read_hrsc_xml)

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True)]


def _build(**cfg):
    from mmrotate.datasets import build_dataset
    return build_dataset(dict(pipeline=PIPELINE, **cfg))


def _hrsc_cfg(root, split='trainval', **kw):
    return dict(type='StrictHRSCDataset', ann_file=str(root / 'ImageSets' / f'{split}.txt'),
                ann_subdir=str(root / 'FullDataSet' / 'Annotations'),
                img_subdir=str(root / 'FullDataSet' / 'AllImages'),
                img_prefix=str(root / 'FullDataSet' / 'AllImages'), version='le90', **kw)


def _is_le90(boxes):
    return ((boxes[:, 2] >= boxes[:, 3]) & (boxes[:, 4] >= -np.pi / 2) & (boxes[:, 4] < np.pi / 2)).all()


def test_hrsc_loader_gives_le90_boxes(hrsc_root):
    ds = _build(**_hrsc_cfg(hrsc_root))
    ids = (hrsc_root / 'ImageSets' / 'trainval.txt').read_text().split()
    assert len(ds) == len(ids) and ds.CLASSES == ('ship',)
    sample = ds[0]
    ann = read_hrsc_xml(hrsc_root / 'FullDataSet' / 'Annotations' / f'{ds.data_infos[0]["filename"][:-4]}.xml')
    np.testing.assert_allclose(sample['gt_bboxes'], ann.rboxes, rtol=1e-6, atol=1e-4)
    assert sample['img'].shape == (ann.height, ann.width, 3) and _is_le90(sample['gt_bboxes'])
    assert (sample['gt_labels'] == 0).all()
    oc = _build(**{**_hrsc_cfg(hrsc_root), 'version': 'oc'})
    assert oc[0]['gt_bboxes'].shape == sample['gt_bboxes'].shape


def test_hrsc_relative_ann_subdir_works(hrsc_root, monkeypatch):
    """mmrotate joins ann_subdir under img_prefix (open-mmlab/mmrotate#1004); we fall back."""
    monkeypatch.chdir(hrsc_root.parent)
    name = hrsc_root.name
    ds = _build(type='StrictHRSCDataset', ann_file=f'{name}/ImageSets/test.txt',
                ann_subdir=f'{name}/FullDataSet/Annotations/', img_subdir=f'{name}/FullDataSet/AllImages/',
                img_prefix=f'{name}/FullDataSet/AllImages/', version='le90')
    assert len(ds) == len((hrsc_root / 'ImageSets' / 'test.txt').read_text().split())


def test_hrsc_loader_bad_inputs(hrsc_root, tmp_path):
    root = tmp_path / 'hrsc'
    shutil.copytree(hrsc_root, root)
    ids = (root / 'ImageSets' / 'trainval.txt').read_text().split()
    img = root / 'FullDataSet' / 'AllImages' / f'{ids[2]}.bmp'
    data = img.read_bytes()
    img.write_bytes(data[: len(data) // 3])
    with pytest.raises(AnnotationError, match=rf'{img}: truncated'):
        _build(**_hrsc_cfg(root))
    img.unlink()
    with pytest.raises(AnnotationError, match=rf'trainval.txt:3: image {ids[2]!r} listed but .* is absent'):
        _build(**_hrsc_cfg(root))
    img.write_bytes(data)
    xml = root / 'FullDataSet' / 'Annotations' / f'{ids[0]}.xml'
    text = xml.read_text()
    xml.write_text(text.replace('<Img_SizeWidth>', '<Img_SizeWidth>1', 1))
    with pytest.raises(AnnotationError, match='field Img_SizeWidth/Img_SizeHeight'):
        _build(**_hrsc_cfg(root))
    xml.write_text(text.replace('<mbox_ang>', '<mbox_angle>').replace('</mbox_ang>', '</mbox_angle>'))
    with pytest.raises(AnnotationError, match=rf'{xml}: field mbox_ang: missing'):
        _build(**_hrsc_cfg(root))


@pytest.fixture(scope='module')
def dota_split(dota_root, tmp_path_factory):
    out = tmp_path_factory.mktemp('split') / 'trainval'
    split_dataset(dota_root, out, SplitConfig(size=512, gap=200), workers=1, progress=False)
    return out


def _dota_cfg(split, **kw):
    return dict(type='StrictDOTADataset', ann_file=str(split / 'annfiles'),
                img_prefix=str(split / 'images'), version='le90', **kw)


def test_dota_loader_gives_le90_boxes(dota_split):
    with pytest.warns(AnnotationWarning, match='empty label files skipped') if any(
            p.stat().st_size == 0 for p in (dota_split / 'annfiles').iterdir()) else _nothing():
        ds = _build(**_dota_cfg(dota_split))
    assert ds.CLASSES == DOTA_CLASSES
    assert ds.img_ids == sorted(ds.img_ids) and len(ds.img_ids) == len(ds)
    i = max(range(len(ds)), key=lambda k: len(ds.data_infos[k]['ann']['labels']))
    sample = ds[i]
    boxes = sample['gt_bboxes']
    assert len(boxes) > 5 and _is_le90(boxes) and sample['img'].shape == (512, 512, 3)
    anns = read_dota_dir(dota_split / 'annfiles')[ds.img_ids[i]]
    np.testing.assert_allclose(ds.data_infos[i]['ann']['polygons'], anns.polys, atol=1e-3)
    from mmrotate.core import poly2obb_np
    np.testing.assert_allclose(boxes[0], poly2obb_np(anns.polys[0].astype(np.float32), 'le90'), atol=1e-4)
    assert [DOTA_CLASSES[k] for k in sample['gt_labels']] == anns.labels
    # difficulty threshold as mmrotate: drop flags above it (here the cut objects, flag 2)
    strict = _build(**_dota_cfg(dota_split, difficulty=1, test_mode=True))
    total = sum(len(info['ann']['labels']) for info in strict.data_infos)
    all_objects = sum(len(a) for a in read_dota_dir(dota_split / 'annfiles').values())
    cut = sum(int((a.difficulty == 2).sum()) for a in read_dota_dir(dota_split / 'annfiles').values())
    assert cut > 0 and total == all_objects - cut


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_dota_loader_test_phase_and_bad_inputs(dota_split, tmp_path):
    test = _build(type='StrictDOTADataset', ann_file=str(dota_split / 'images'),
                  img_prefix=str(dota_split / 'images'), test_mode=True)
    assert len(test) == len(list((dota_split / 'images').iterdir()))
    split = tmp_path / 'split'
    shutil.copytree(dota_split, split)
    label = sorted((split / 'annfiles').iterdir())[0]
    label.write_text('1 2 3 4 5 6 7 8 truck 0\n')
    with pytest.raises(AnnotationError, match=rf"{label}:1: unknown class 'truck'"):
        _build(**_dota_cfg(split))
    label.write_text('0 0 10 0 10 10 0 10 plane 0\n0 0 1 0 1 1 0 1 ship 0\n')
    image = split / 'images' / f'{label.stem}.png'
    with pytest.warns(AnnotationWarning, match='1 objects with a side under 2 px skipped'):
        ds = _build(**_dota_cfg(split, test_mode=True))
    assert ds.data_infos[0]['ann']['labels'].tolist() == [0]
    label.write_text('')  # an empty label file: legal, dropped for training as mmrotate does
    n = len(list((split / 'annfiles').iterdir()))
    with pytest.warns(AnnotationWarning, match='1 empty label files skipped'):
        assert len(_build(**_dota_cfg(split, test_mode=True))) == n - 1
    kept = _build(**_dota_cfg(split, test_mode=True, filter_empty_gt=False))
    assert len(kept) == n and kept.data_infos[0]['ann']['labels'].size == 0
    label.write_text('0 0 10 0 10 10 0 10 plane 0\n')
    image.unlink()
    with pytest.raises(AnnotationError, match=rf'{image}: image file is absent'):
        _build(**_dota_cfg(split))
    with pytest.raises(AnnotationError, match='not a directory'):
        _build(**_dota_cfg(split / 'nope'))
