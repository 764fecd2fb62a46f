"""`detlab evaluate` end to end on files in tmp_path."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from detlab.cli import main
from detlab.evaluation import DOTA_V1_CLASSES, evaluate_dota
from detlab.evaluation.synthetic import make_case, write_case


def run_cli(capsys, *args):
    code = main(['evaluate', *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_dota_json_equals_api_and_devkit_port(tmp_path, capsys, devkit_aps):
    case = make_case(21, num_images=8)
    label_dir, det_dir, _ = write_case(tmp_path, case)
    out_dir = tmp_path / 'out'
    code, out, err = run_cli(capsys, '--dataset', 'dota', '--ann-dir', label_dir,
                             '--det-dir', det_dir, '--out', out_dir)
    assert code == 0, err
    summary = json.loads(out)
    assert list(summary['AP']) == list(DOTA_V1_CLASSES)
    api = evaluate_dota(case.gts, case.dets).to_dict()
    assert summary['AP'] == api['AP'] and summary['mAP'] == api['mAP']
    np.testing.assert_allclose(list(summary['AP'].values()), devkit_aps(case), atol=1e-12)
    assert summary['num_images'] == 8 and summary['metric'] == 'voc07'
    assert json.loads((out_dir / 'eval.json').read_text()) == summary
    pngs = sorted(p.name for p in out_dir.glob('pr_*.png'))
    assert len(pngs) == 15 and 'pr_small-vehicle.png' in pngs
    assert (out_dir / 'pr_plane.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert not list(out_dir.glob('.*tmp'))  # no temp files left behind


def test_dota_voc12_and_threshold_options(tmp_path, capsys):
    case = make_case(22, num_images=5)
    label_dir, det_dir, imageset = write_case(tmp_path, case)
    code, out, _ = run_cli(capsys, '--dataset', 'dota', '--ann-dir', label_dir, '--det-dir',
                           det_dir, '--metric', 'voc12', '--iou-thr', '0.7',
                           '--image-set', imageset)
    assert code == 0
    summary = json.loads(out)
    api = evaluate_dota(case.gts, case.dets, iou_thr=0.7, metric='voc12').to_dict()
    assert summary['AP'] == api['AP']
    assert summary['metric'] == 'voc12' and summary['iou_thr'] == 0.7


def test_bad_task1_row_exits_2_naming_file_and_line(tmp_path, capsys):
    case = make_case(23, num_images=3)
    label_dir, det_dir, _ = write_case(tmp_path, case)
    path = tmp_path / 'Task1' / 'Task1_bridge.txt'
    lines = path.read_text().splitlines()
    lines.insert(1, 'P0001 0.5 1 2 3 4 5 6 7')
    path.write_text('\n'.join(lines) + '\n')
    code, out, err = run_cli(capsys, '--dataset', 'dota', '--ann-dir', label_dir,
                             '--det-dir', det_dir)
    assert code == 2 and out == ''
    assert f'{path}:2: expected 10 fields' in err


def test_missing_class_file_warns_and_counts_no_detections(tmp_path, capsys):
    case = make_case(24, num_images=3)
    label_dir, det_dir, _ = write_case(tmp_path, case)
    (tmp_path / 'Task1' / 'Task1_plane.txt').unlink()
    code, out, err = run_cli(capsys, '--dataset', 'dota', '--ann-dir', label_dir,
                             '--det-dir', det_dir)
    assert code == 0 and 'no Task1 file for plane' in err
    assert json.loads(out)['num_det']['plane'] == 0


def _hrsc_xml(objects):
    objs = ''.join(
        f'<HRSC_Object><Class_ID>100000001</Class_ID><difficult>{d}</difficult>'
        f'<mbox_cx>{cx}</mbox_cx><mbox_cy>{cy}</mbox_cy><mbox_w>{w}</mbox_w>'
        f'<mbox_h>{h}</mbox_h><mbox_ang>{a}</mbox_ang></HRSC_Object>'
        for cx, cy, w, h, a, d in objects)
    return (f'<HRSC_Image><Img_SizeWidth>800</Img_SizeWidth><Img_SizeHeight>600'
            f'</Img_SizeHeight><HRSC_Objects>{objs}</HRSC_Objects></HRSC_Image>')


def test_hrsc_reports_named_metrics(tmp_path, capsys):
    ann = tmp_path / 'Annotations'
    ann.mkdir()
    # two ships; angle pi/2 turns a 100 x 20 box into 20 wide, 100 tall
    (ann / '100000001.xml').write_text(_hrsc_xml([(100, 100, 100, 20, 0.0, 0),
                                                  (400, 300, 100, 20, math.pi / 2, 1)]))
    det = tmp_path / 'det'
    det.mkdir()
    (det / 'Task1_ship.txt').write_text(
        '100000001 0.9 50 90 150 90 150 110 50 110\n'       # ship 1 exactly: IoU 1
        '100000001 0.8 390 250 410 250 410 331 390 331\n'   # ship 2, 81 of 100 long: IoU .81
        '100000001 0.7 600 500 650 500 650 550 600 550\n')  # nothing there: FP
    code, out, err = run_cli(capsys, '--dataset', 'hrsc2016', '--ann-dir', ann,
                             '--det-dir', det)
    assert code == 0, err
    s = json.loads(out)
    assert s['num_gt'] == {'ship': 2}  # difficult ships count, as in mmrotate
    # at IoU .5 both ships found by the top two: AP 1 in both metrics
    assert s['AP50_voc07'] == pytest.approx(1.0) and s['AP50_voc12'] == pytest.approx(1.0)
    assert s['mAP'] == s['AP50_voc07'] and s['AP'] == {'ship': s['mAP']}
    # IoU .5-.8: both found; .85-.95: only ship 1 (recall .5, precision 1)
    per_thr = s['AP50_95_per_thr']
    assert [per_thr[k] for k in ('AP50', 'AP80')] == [pytest.approx(1.0)] * 2
    half = 6 / 11  # VOC07 with recall .5 at precision 1
    assert per_thr['AP85'] == pytest.approx(half) and per_thr['AP95'] == pytest.approx(half)
    assert s['AP50_95'] == pytest.approx((7 * 1.0 + 3 * half) / 10)
