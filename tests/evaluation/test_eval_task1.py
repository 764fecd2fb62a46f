"""Task1 detection files: strict reading with file:line errors, exact round trip."""
from __future__ import annotations

import numpy as np
import pytest

from detlab.errors import UserError
from detlab.evaluation.task1 import (check_image_ids, read_task1_dir, read_task1_file,
                                     write_task1_dir)

GOOD = 'P0001 0.9 1 2 3 4 5 6 7 8\n'


@pytest.mark.parametrize('row, message', [
    ('P0001 0.9 1 2 3 4 5 6 7', 'expected 10 fields'),
    ('P0001 0.9 1 2 3 4 5 6 7 8 9', 'expected 10 fields'),
    ('P0001 high 1 2 3 4 5 6 7 8', "score is 'high', not a number"),
    ('P0001 0.9 1 2 3 4 5 six 7 8', "coordinate y3 is 'six'"),
    ('P0001 0.9 1 2 3 nan 5 6 7 8', 'not a finite number'),
    ('P0001 inf 1 2 3 4 5 6 7 8', 'score is .inf., not a finite number'),
])
def test_bad_row_names_file_and_line(tmp_path, row, message):
    path = tmp_path / 'Task1_plane.txt'
    path.write_text(GOOD + '\n' + row + '\n' + GOOD)
    with pytest.raises(UserError, match=message) as err:
        read_task1_file(path)
    assert str(err.value).startswith(f'{path}:3: ')


def test_empty_file_means_no_detections(tmp_path):
    path = tmp_path / 'Task1_plane.txt'
    path.write_text('')
    d = read_task1_file(path)
    assert len(d) == 0 and d.polys.shape == (0, 8) and d.scores.shape == (0,)


def test_not_utf8_is_an_error(tmp_path):
    path = tmp_path / 'Task1_plane.txt'
    path.write_bytes(b'\xff\xfe\x00garbage')
    with pytest.raises(UserError, match='not a text file'):
        read_task1_file(path)


def test_round_trip_is_exact_and_keeps_order(tmp_path):
    rng = np.random.default_rng(0)
    polys = rng.uniform(0, 4000, (50, 8))
    scores = rng.random(50)
    scores[3] = scores[7]  # ties keep file order
    ids = [f'P{i % 7:04d}' for i in range(50)]
    write_task1_dir(tmp_path, {'plane': (ids, scores, polys)}, ['plane', 'ship'])
    d = read_task1_file(tmp_path / 'Task1_plane.txt')
    assert d.image_ids == ids
    assert np.array_equal(d.scores, scores) and np.array_equal(d.polys, polys)
    assert d.lines.tolist() == list(range(1, 51))
    assert (tmp_path / 'Task1_ship.txt').read_text() == ''  # every class gets a file


def test_dir_reports_missing_classes_and_refuses_an_empty_dir(tmp_path):
    (tmp_path / 'Task1_plane.txt').write_text(GOOD)
    found, missing = read_task1_dir(tmp_path, ['plane', 'ship'])
    assert list(found) == ['plane'] and missing == ['ship']
    with pytest.raises(UserError, match='no detection files'):
        read_task1_dir(tmp_path, ['ship'])
    with pytest.raises(UserError, match='not a directory'):
        read_task1_dir(tmp_path / 'nope', ['ship'])


def test_unknown_image_is_an_error_at_its_line(tmp_path):
    path = tmp_path / 'Task1_plane.txt'
    path.write_text(GOOD + 'P0002 0.5 1 2 3 4 5 6 7 8\n')
    found, _ = read_task1_dir(tmp_path, ['plane'])
    check_image_ids(found, ['P0001', 'P0002'], 'labels')
    with pytest.raises(UserError, match=r"Task1_plane.txt:2: image 'P0002' has no annotation"):
        check_image_ids(found, ['P0001'], 'labels')
