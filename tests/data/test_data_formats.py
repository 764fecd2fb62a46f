"""DOTA/HRSC readers and writers: round trips and every malformed-input case of issue 4."""
from __future__ import annotations

import numpy as np
import pytest

from refined_det.datasets.formats import (DOTA_CLASSES, AnnotationError, AnnotationWarning,
                                          DotaAnnotation, HrscAnnotation, check_image,
                                          read_dota_dir, read_dota_label, read_hrsc_split,
                                          read_hrsc_xml, write_dota_label, write_hrsc_xml)

ROW = '10 10 40 10 40 30 10 30 plane 0'


def _label(tmp_path, text, name='P0001.txt'):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_dota_classes_in_standard_order():
    assert DOTA_CLASSES[0] == 'plane' and DOTA_CLASSES[-1] == 'helicopter' and len(DOTA_CLASSES) == 15
    assert DOTA_CLASSES[4:7] == ('small-vehicle', 'large-vehicle', 'ship')


def test_dota_round_trip(tmp_path):
    ann = DotaAnnotation(np.array([[1054.3, 1028, 1063, 1011.25, 1111, 1040, 1112, 1062],
                                   [807, 331, 800, 324, 817, 309, 823.5, 316]]),
                         ['ship', 'harbor'], [1, 0], 'GoogleEarth', 0.146)
    path = tmp_path / 'P0001.txt'
    write_dota_label(path, ann)
    text = path.read_text().splitlines()
    assert text[:2] == ['imagesource:GoogleEarth', 'gsd:0.146']
    assert text[2] == '1054.3 1028 1063 1011.25 1111 1040 1112 1062 ship 1'
    back = read_dota_label(path)
    np.testing.assert_array_equal(back.polys, ann.polys)
    assert back.labels == ann.labels and back.difficult.tolist() == [True, False]
    assert (back.imagesource, back.gsd) == ('GoogleEarth', 0.146)
    assert read_dota_dir(tmp_path)['P0001'].labels == ['ship', 'harbor']


def test_dota_devkit_conventions(tmp_path):
    """No difficult flag means 0; gsd:null is allowed; blank lines are skipped; flag 2 is difficult."""
    path = _label(tmp_path, 'imagesource:GoogleEarth\ngsd:null\n\n'
                  '10 10 40 10 40 30 10 30 plane\n10 10 40 10 40 30 10 30 ship 2\n')
    ann = read_dota_label(path)
    assert ann.gsd is None and ann.difficulty.tolist() == [0, 2] and ann.difficult.tolist() == [False, True]


def test_empty_label_file_is_an_image_without_objects(tmp_path):
    assert len(read_dota_label(_label(tmp_path, ''))) == 0
    assert len(read_dota_label(_label(tmp_path, 'imagesource:GoogleEarth\ngsd:0.2\n'))) == 0


@pytest.mark.parametrize('row, message', [
    ('10 10 40 10 40 30 10 plane 0', ':3: expected 8 coordinates before the class name, got 7'),
    ('10 10 abc 10 40 30 10 30 plane 0', ":3: coordinate 3 is 'abc', not a number"),
    ('10 10 40 nan 40 30 10 30 plane 0', ":3: coordinate 4 is 'nan', not a finite number"),
    ('10 10 40 10 40 30 10 inf plane 0', ":3: coordinate 8 is 'inf', not a finite number"),
    ('10 10 40 10 40 30 10 30 car 0', ":3: unknown class 'car'"),
    ('10 10 40 10 40 30 10 30 plane x', ":3: difficult flag is 'x', not 0, 1 or 2"),
    ('10 10 40 10 40 30 10 30 plane 0 extra', ':3: expected "x1 y1 x2 y2 x3 y3 x4 y4 class difficult", got 11'),
])
def test_bad_dota_rows_are_one_line_errors(tmp_path, row, message):
    path = _label(tmp_path, f'imagesource:GoogleEarth\ngsd:0.2\n{row}\n')
    with pytest.raises(AnnotationError) as err:
        read_dota_label(path)
    assert str(err.value) == f'{path}{message}' or str(err.value).startswith(f'{path}{message}')
    assert '\n' not in str(err.value)


def test_degenerate_polygon_is_skipped_with_a_warning(tmp_path):
    path = _label(tmp_path, f'{ROW}\n5 5 5 5 9 9 9 9 ship 0\n')
    with pytest.warns(AnnotationWarning, match=rf'{path}:2: degenerate polygon'):
        ann = read_dota_label(path)
    assert ann.labels == ['plane']
    with pytest.raises(AnnotationError, match=':2: degenerate polygon'):
        read_dota_label(path, degenerate='error')
    assert len(read_dota_label(path, degenerate='keep')) == 2


def test_unreadable_label_files(tmp_path):
    with pytest.raises(AnnotationError, match='no such file'):
        read_dota_label(tmp_path / 'absent.txt')
    binary = tmp_path / 'bin.txt'
    binary.write_bytes(b'\xff\xfe\x00\x81garbage')
    with pytest.raises(AnnotationError, match='not a text file'):
        read_dota_label(binary)
    (tmp_path / 'empty_dir').mkdir()
    with pytest.raises(AnnotationError, match='no label files'):
        read_dota_dir(tmp_path / 'empty_dir')


def test_writer_refuses_what_the_reader_refuses(tmp_path):
    with pytest.raises(AnnotationError):
        write_dota_label(tmp_path / 'x.txt', DotaAnnotation(np.full((1, 8), np.nan), ['plane'], [0]))
    with pytest.raises(AnnotationError):
        write_dota_label(tmp_path / 'x.txt', DotaAnnotation(np.ones((1, 8)), ['car'], [0]))


def _hrsc(tmp_path):
    ann = HrscAnnotation('100000001', 800, 600, [[100, 200, 150, 30, 0.3], [400, 300, 60.5, 10, -1.2]],
                         [False, True], headers=[[171, 222], [412, 245]])
    path = tmp_path / '100000001.xml'
    write_hrsc_xml(path, ann)
    return path, ann


def test_hrsc_round_trip(tmp_path):
    path, ann = _hrsc(tmp_path)
    back = read_hrsc_xml(path)
    np.testing.assert_array_equal(back.rboxes, ann.rboxes)
    assert back.difficult.tolist() == [False, True] and (back.width, back.height) == (800, 600)
    assert back.class_ids == ['100000001'] * 2
    np.testing.assert_allclose(back.polys[0, :2], [100 - 75 * np.cos(.3) + 15 * np.sin(.3),
                                                   200 - 75 * np.sin(.3) - 15 * np.cos(.3)])


@pytest.mark.parametrize('field', ['mbox_cx', 'mbox_w', 'mbox_ang', 'difficult', 'Img_SizeWidth'])
def test_hrsc_missing_field_names_it(tmp_path, field):
    path, _ = _hrsc(tmp_path)
    text = path.read_text()
    start = text.index(f'<{field}>')
    path.write_text(text[:start] + text[text.index(f'</{field}>') + len(field) + 3:])
    with pytest.raises(AnnotationError, match=rf'^{path}: field {field}: missing'):
        read_hrsc_xml(path)


@pytest.mark.parametrize('old, new, message', [
    ('<mbox_w>150</mbox_w>', '<mbox_w>abc</mbox_w>', "field mbox_w: 'abc' is not a finite number"),
    ('<mbox_cy>200</mbox_cy>', '<mbox_cy>nan</mbox_cy>', "field mbox_cy: 'nan' is not a finite number"),
    ('<mbox_h>30</mbox_h>', '<mbox_h>0</mbox_h>', 'degenerate box'),
    ('<difficult>0</difficult>', '<difficult>yes</difficult>', "field difficult: 'yes'"),
])
def test_hrsc_bad_values(tmp_path, old, new, message):
    path, _ = _hrsc(tmp_path)
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(AnnotationError, match=message):
        read_hrsc_xml(path)


def test_hrsc_malformed_xml_names_the_line(tmp_path):
    path, _ = _hrsc(tmp_path)
    path.write_text(path.read_text()[:300])
    with pytest.raises(AnnotationError, match=rf'^{path}:\d+: malformed XML'):
        read_hrsc_xml(path)


def test_hrsc_split_reader_and_absent_image(hrsc_root, tmp_path):
    anns = read_hrsc_split(hrsc_root, 'trainval')
    listed = (hrsc_root / 'ImageSets' / 'trainval.txt').read_text().split()
    assert list(anns) == listed and all(a.rboxes.shape[1] == 5 for a in anns.values())
    import shutil
    root = tmp_path / 'hrsc'
    shutil.copytree(hrsc_root, root)
    (root / 'FullDataSet' / 'AllImages' / f'{listed[1]}.bmp').unlink()
    with pytest.raises(AnnotationError, match=rf'trainval.txt:2: image {listed[1]!r} listed but .* is absent'):
        read_hrsc_split(root, 'trainval')


def test_check_image_catches_truncation(hrsc_root, dota_root, tmp_path):
    for src in [next((hrsc_root / 'FullDataSet' / 'AllImages').iterdir()),
                next((dota_root / 'images').iterdir())]:
        assert check_image(src)[0] > 0
        cut = tmp_path / src.name
        cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
        with pytest.raises(AnnotationError, match=rf'^{cut}: .*truncated'):
            check_image(cut)
    junk = tmp_path / 'junk.png'
    junk.write_bytes(b'not an image at all')
    with pytest.raises(AnnotationError, match='unreadable'):
        check_image(junk)
    with pytest.raises(AnnotationError, match='absent'):
        check_image(tmp_path / 'none.png')
