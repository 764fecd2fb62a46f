"""Synthetic data speed: images/s of `detlab data synth` (issue 4 asks 1,000 HRSC images < 1 min on 2 cores).

    .venv/bin/python benchmarks/synth.py [--images 1000] [--workers 2] [--dota 4]

Times the whole job (process start-up, rendering, encoding, writing) into a temp folder.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

from detlab.data.synth import synth_dataset


def _run(dataset: str, images: int, workers: int, **kw) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        meta = synth_dataset(dataset, os.path.join(tmp, dataset), images, seed=0, workers=workers,
                             progress=False, **kw)
        elapsed = time.perf_counter() - start
    print(f'{dataset:9s} {images:5d} images, {workers} workers: {elapsed:6.1f} s, '
          f'{images / elapsed:7.1f} images/s, {meta["objects"] / images:6.1f} objects/image')
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=1000)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--dota', type=int, default=4, help='DOTA images (2000-4000 px) to time')
    args = parser.parse_args()
    print(f'cpu cores: {os.cpu_count()}')
    few = min(args.images, 200)
    serial_rate = few / _run('hrsc2016', few, 1)
    parallel_rate = args.images / _run('hrsc2016', args.images, args.workers)
    print(f'hrsc2016 {args.workers} workers vs 1: {parallel_rate / serial_rate:.2f}x')
    if args.dota:
        _run('dota', args.dota, args.workers)


if __name__ == '__main__':
    main()
