"""DOTA Task1 evaluation: the devkit's algorithm (straight port) against ours, same files, one run.

    .venv/bin/python benchmarks/evaluate.py [--images 400] [--seed 0] [--metric voc07]

Generates a seeded DOTA-like case (50-100 objects per image, difficult objects,
non-rectangular quads, misses, duplicates, false positives), writes labelTxt and
Task1 files, then times
  reference: `devkit_reference.evaluate_task1`, the devkit's main() as written
             (re-reads every label file for each class, one Python polygon IoU per
             candidate pair);
  ours:      read the same files once, `evaluate_dota`.
and the same two with the files read beforehand (evaluation only). Prints the
times, their ratios and the largest per-class AP difference.

The devkit's `polyiou` is C++; our port of it is Python, so the reference's
time inside `iou_poly` is printed separately and the last column leaves it out:
a lower bound on the speed-up over the real devkit (whose C++ IoU calls cost
more than zero).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'platform'))

from detlab.evaluation import devkit_reference, evaluate_dota  # noqa: E402
from detlab.evaluation.synthetic import make_case, write_case  # noqa: E402
from detlab.evaluation.task1 import read_task1_dir  # noqa: E402


class _TimedIou:
    """Swaps devkit_reference.iou_poly for a wrapper that adds up its time and calls."""

    def __enter__(self):
        self.inner, self.seconds, self.calls = devkit_reference.iou_poly, 0.0, 0

        def timed(p, q):
            t = time.perf_counter()
            v = self.inner(p, q)
            self.seconds += time.perf_counter() - t
            self.calls += 1
            return v

        devkit_reference.iou_poly = timed
        return self

    def __exit__(self, *exc):
        devkit_reference.iou_poly = self.inner


def run_reference(label_dir: str, det_dir: str, imageset: str, classes, metric: str):
    """The devkit's main() as written: (seconds, seconds in iou_poly, calls, per-class APs)."""
    with _TimedIou() as iou:
        t = time.perf_counter()
        _, aps = devkit_reference.evaluate_task1(
            os.path.join(det_dir, 'Task1_{:s}.txt'), os.path.join(label_dir, '{:s}.txt'),
            imageset, list(classes), use_07_metric=metric == 'voc07')
        total = time.perf_counter() - t
    return total, iou.seconds, iou.calls, np.array(aps)


def run_reference_in_memory(label_dir: str, det_dir: str, classes, metric: str, image_ids):
    """The devkit's voc_eval body only, files read beforehand: (seconds, seconds in iou_poly)."""
    recs = {i: devkit_reference.parse_gt(os.path.join(label_dir, f'{i}.txt')) for i in image_ids}
    det_lines = {}
    for c in classes:
        with open(os.path.join(det_dir, f'Task1_{c}.txt')) as f:
            det_lines[c] = f.readlines()
    with _TimedIou() as iou:
        t = time.perf_counter()
        for c in classes:
            devkit_reference.voc_eval_records(recs, list(image_ids), det_lines[c], c, 0.5,
                                              metric == 'voc07')
        total = time.perf_counter() - t
    return total, iou.seconds


def run_ours(label_dir: str, det_dir: str, classes, metric: str, repeat: int):
    """Best of `repeat` runs: (seconds from files, seconds of evaluate_dota alone, APs)."""
    runs = [_run_ours_once(label_dir, det_dir, classes, metric) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs), runs[0][2]


def _run_ours_once(label_dir: str, det_dir: str, classes, metric: str):
    from detlab.evaluation.gt_sources import load_dota_gts

    t = time.perf_counter()
    gts = load_dota_gts(label_dir, classes)
    found, _ = read_task1_dir(det_dir, classes)
    dets = {name: d.as_tuple() for name, d in found.items()}
    t_eval = time.perf_counter()
    result = evaluate_dota(gts, dets, metric=metric, classes=classes)
    end = time.perf_counter()
    return end - t, end - t_eval, np.array([result.ap[c] for c in classes])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--images', type=int, default=400, help='number of images (default 400)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--metric', choices=['voc07', 'voc12'], default='voc07')
    parser.add_argument('--repeat', type=int, default=3,
                        help='ours is timed best of REPEAT runs (the reference once: it is slow)')
    args = parser.parse_args(argv)

    case = make_case(args.seed, num_images=args.images, objects_per_image=(50, 100))
    classes = case.classes
    n_gt = sum(len(g[0]) for g in case.gts.values())
    n_diff = sum(int(np.sum(g[2])) for g in case.gts.values())
    n_det = sum(len(d[0]) for d in case.dets.values())
    print(f'case: {args.images} images, {n_gt} objects ({n_diff} difficult), {n_det} detections, '
          f'{len(classes)} classes, seed {args.seed}, {args.metric}')
    from detlab.evaluation import gt_sources
    gt_sources._formats()  # import the readers (and mmrotate behind them) before timing
    with tempfile.TemporaryDirectory() as root:
        label_dir, det_dir, imageset = write_case(root, case)
        ours_total, ours_eval, ours_aps = run_ours(label_dir, det_dir, classes, args.metric,
                                                   args.repeat)
        ref_total, ref_iou, ref_calls, ref_aps = run_reference(label_dir, det_dir, imageset,
                                                               classes, args.metric)
        ref_eval, ref_eval_iou = run_reference_in_memory(label_dir, det_dir, classes,
                                                         args.metric, list(case.gts))
    both = ~(np.isnan(ref_aps))
    diff = float(np.max(np.abs(ours_aps[both] - ref_aps[both]))) if both.any() else 0.0
    rows = [
        ('files -> APs', ref_total, ref_iou, ours_total),
        ('evaluation only (files read before)', ref_eval, ref_eval_iou, ours_eval),
    ]
    print(f'{"":37} {"reference":>10} {"(polyiou)":>10} {"ours":>8} {"ratio":>7} '
          f'{"ratio w/o polyiou":>18}')
    for name, ref, ref_poly, ours in rows:
        print(f'{name:37} {ref:9.3f}s {ref_poly:9.3f}s {ours:7.3f}s {ref / ours:6.1f}x '
              f'{(ref - ref_poly) / ours:17.1f}x')
    ratio = ref_total / ours_total
    print(f'reference: the devkit port ({ref_calls} Python iou_poly calls); ours: evaluate_dota; '
          f'goal >= 10x (files -> APs): {"met" if ratio >= 10 else "NOT met"}')
    print(f'max |AP difference| over {int(both.sum())} classes: {diff:.3g}'
          + ('' if both.all() else f'  ({int((~both).sum())} NaN in the devkit, VOC12 no-object classes)'))
    return 0 if diff <= 1e-12 else 1


if __name__ == '__main__':
    sys.exit(main())
