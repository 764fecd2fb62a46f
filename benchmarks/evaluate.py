"""DOTA Task1 evaluation against the official devkit with its compiled `polyiou`, side by side in one run.

    .venv/bin/python benchmarks/evaluate.py [--images 400 4000] [--repeat 3] [--port-up-to 400]

The devkit column needs `dotadevkit` (the official devkit's Task1 evaluation as
published on PyPI, with the devkit's C++ `polyiou` compiled by its setup.py),
pinned in the `bench` extra:

    .venv/bin/python -m pip install --no-deps --no-build-isolation -c constraints.txt dotadevkit

(`--no-deps`: its evaluation needs only numpy, and its declared dependencies
would replace our opencv build). Without it that column says how to install it.

For each case (seeded DOTA-like images with 50-100 objects each: difficult objects,
non-rectangular quads, misses, duplicates, false positives; labelTxt, Task1 files and
an image set written to a temporary folder), every column does the same job, from
the files to the 15 per-class APs, reading the labels and the Task1 files itself:
  devkit:           dotadevkit's `voc_eval` per class, in this process, as its
                    `evaluate()` runs it (it re-reads the label files for each class;
                    its progress prints go to /dev/null);
  detlab evaluate:  the whole `detlab evaluate --image-set ...` process, interpreter
                    start and imports included (APs read from its JSON);
  ours in-process:  `load_dota_gts` + `read_task1_dir` + `evaluate_dota`;
  Python port:      `devkit_reference.evaluate_task1`, our line-by-line port of the
                    devkit (Python polygon IoU), only up to --port-up-to images.
Times are the best of --repeat interleaved rounds (the port: one run). Ratios are
devkit time / column time. Goal: `detlab evaluate` >= 5x faster than the devkit.
The exit code is 1 if any column's APs differ from another's.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'platform'))

from detlab.evaluation import DOTA_V1_CLASSES, devkit_reference, evaluate_dota  # noqa: E402
from detlab.evaluation.gt_sources import load_dota_gts  # noqa: E402
from detlab.evaluation.synthetic import make_case, write_case  # noqa: E402
from detlab.evaluation.task1 import read_task1_dir  # noqa: E402

GOAL = 5.0
INSTALL_DEVKIT = ('.venv/bin/python -m pip install --no-deps --no-build-isolation '
                  '-c constraints.txt dotadevkit')


def devkit_task1():
    """dotadevkit's Task1 module, or None if it is not installed."""
    try:
        from dotadevkit.evaluate import task1
    except ImportError:
        return None
    if 'bool' not in np.__dict__:
        np.bool = bool  # the devkit uses np.bool, removed in numpy 1.24 (it was an alias of bool)
    return task1


def run_devkit(task1, label_dir: str, det_dir: str, imageset: str, classes, use_07: bool):
    """dotadevkit's `evaluate()` loop (its fixed 0.5 threshold), prints discarded: (seconds, APs)."""
    t = time.perf_counter()
    aps = []
    with open(os.devnull, 'w') as null, contextlib.redirect_stdout(null):
        for c in classes:
            _, _, ap = task1.voc_eval(os.path.join(det_dir, 'Task1_{:s}.txt'),
                                      os.path.join(label_dir, '{:s}.txt'), imageset, c,
                                      ovthresh=0.5, use_07_metric=use_07)
            aps.append(ap)
    return time.perf_counter() - t, np.array(aps, dtype=np.float64)


def detlab_command() -> list[str]:
    script = os.path.join(os.path.dirname(sys.executable), 'detlab')
    return [script] if os.path.isfile(script) else [sys.executable, '-m', 'detlab.cli']


def run_process(label_dir: str, det_dir: str, imageset: str, classes, metric: str):
    """The whole `detlab evaluate` process: (seconds, APs)."""
    cmd = [*detlab_command(), 'evaluate', '--dataset', 'dota', '--ann-dir', label_dir,
           '--det-dir', det_dir, '--image-set', imageset, '--metric', metric]
    t = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - t
    if run.returncode != 0:
        raise RuntimeError(f'detlab evaluate failed ({run.returncode}): {run.stderr.strip()[-500:]}')
    ap = json.loads(run.stdout)['AP']
    return seconds, np.array([np.nan if ap[c] is None else ap[c] for c in classes], dtype=np.float64)


def run_ours(label_dir: str, det_dir: str, imageset: str, classes, metric: str):
    """Our evaluator in this process, from the same files: (seconds, APs)."""
    t = time.perf_counter()
    with open(imageset) as f:
        image_ids = [line.strip() for line in f if line.strip()]
    gts = load_dota_gts(label_dir, classes, image_ids)
    found, _ = read_task1_dir(det_dir, classes)
    result = evaluate_dota(gts, {n: d.as_tuple() for n, d in found.items()}, metric=metric,
                           classes=classes)
    return time.perf_counter() - t, np.array([result.ap[c] for c in classes], dtype=np.float64)


def run_port(label_dir: str, det_dir: str, imageset: str, classes, use_07: bool):
    """The devkit's main() in our Python port: (seconds, APs)."""
    t = time.perf_counter()
    _, aps = devkit_reference.evaluate_task1(
        os.path.join(det_dir, 'Task1_{:s}.txt'), os.path.join(label_dir, '{:s}.txt'),
        imageset, list(classes), use_07_metric=use_07)
    return time.perf_counter() - t, np.array(aps, dtype=np.float64)


def max_ap_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |difference| over classes; a NaN on one side only counts as infinite."""
    both = ~np.isnan(a) & ~np.isnan(b)
    if (np.isnan(a) != np.isnan(b)).any():
        return float('inf')
    return float(np.max(np.abs(a[both] - b[both]))) if both.any() else 0.0


def bench_case(images: int, seed: int, metric: str, repeat: int, with_port: bool, task1) -> bool:
    # every class has detections: the devkit crashes on an empty Task1 file
    case = make_case(seed, num_images=images, objects_per_image=(50, 100), classes_without_dets=0)
    classes = list(DOTA_V1_CLASSES)
    n_gt = sum(len(g[0]) for g in case.gts.values())
    n_det = sum(len(d[0]) for d in case.dets.values())
    print(f'\ncase: {images} images, {n_gt} objects, {n_det} detections, seed {seed}, {metric}',
          flush=True)
    use_07 = metric == 'voc07'
    root = tempfile.mkdtemp(prefix='bench_eval_')
    try:
        label_dir, det_dir, imageset = write_case(root, case)
        columns = {'detlab evaluate (process)': lambda: run_process(label_dir, det_dir, imageset,
                                                                    classes, metric),
                   'ours in-process': lambda: run_ours(label_dir, det_dir, imageset, classes, metric)}
        if task1 is not None and use_07:
            columns = {'devkit (compiled polyiou)': lambda: run_devkit(task1, label_dir, det_dir,
                                                                       imageset, classes, use_07),
                       **columns}
        times: dict[str, list[float]] = {name: [] for name in columns}
        aps: dict[str, np.ndarray] = {}
        for _ in range(repeat):  # interleaved rounds: drift on the shared machine hits all alike
            for name, fn in columns.items():
                seconds, aps[name] = fn()
                times[name].append(seconds)
        best = {name: min(ts) for name, ts in times.items()}
        if with_port:
            best['Python port (devkit_reference)'], aps['Python port (devkit_reference)'] = run_port(
                label_dir, det_dir, imageset, classes, use_07)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    base = best.get('devkit (compiled polyiou)')
    print(f'{"":34}{"seconds":>9}{"devkit / this":>15}')
    for name, seconds in best.items():
        ratio = f'{base / seconds:13.2f}x' if base else f'{"-":>14}'
        print(f'{name:34}{seconds:9.3f}{ratio:>15}')
    if base is None:
        why = (f'not installed ({INSTALL_DEVKIT})' if task1 is None
               else 'dotadevkit evaluates VOC07 only')
        print(f'devkit (compiled polyiou): {why}')
    else:
        ratio = base / best['detlab evaluate (process)']
        print(f'goal: detlab evaluate >= {GOAL:g}x faster than the devkit: '
              f'{"met" if ratio >= GOAL else "NOT met"} ({ratio:.2f}x)')
    names = list(aps)
    worst = max((max_ap_difference(aps[names[0]], aps[n]) for n in names[1:]), default=0.0)
    print(f'max |AP difference| between any two columns over {len(classes)} classes: {worst:.3g}')
    return worst <= 1e-12


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--images', type=int, nargs='+', default=[400, 4000],
                        help='cases: numbers of images (default 400 4000)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--metric', choices=['voc07', 'voc12'], default='voc07')
    parser.add_argument('--repeat', type=int, default=3, help='interleaved rounds (best is kept)')
    parser.add_argument('--port-up-to', type=int, default=400,
                        help='run the (slow) Python port only for cases up to this many images')
    args = parser.parse_args(argv)
    task1 = devkit_task1()
    print(f'python {sys.version.split()[0]}, numpy {np.__version__}, '
          f'dotadevkit {_version("dotadevkit") if task1 else "not installed"}; '
          f'{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}')
    ok = [bench_case(n, args.seed, args.metric, args.repeat, n <= args.port_up_to, task1)
          for n in args.images]
    return 0 if all(ok) else 1


def _version(dist: str) -> str:
    from importlib.metadata import version
    return version(dist)


if __name__ == '__main__':
    sys.exit(main())
