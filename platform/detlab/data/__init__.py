"""Data tools: synthetic HRSC2016/DOTA sets, DOTA split and merge, all-or-nothing outputs.

Each job has its own module (synth, split, merge, atomic), imported where used.
"""
from __future__ import annotations

import multiprocessing as mp


def _init_worker() -> None:
    import cv2
    cv2.setNumThreads(1)  # the pool is the parallelism


def process_pool(workers: int, preload: str):
    """A worker pool that does not inherit the parent's thread state.

    A plain fork after cv2 or torch have started their thread pools can deadlock
    the children (seen under pytest); a fork server is a fresh process that
    imports `preload` once, and workers fork from it in a few milliseconds.
    """
    if 'forkserver' in mp.get_all_start_methods():
        ctx = mp.get_context('forkserver')
        ctx.set_forkserver_preload([preload])
    else:
        ctx = mp.get_context('spawn')
    return ctx.Pool(workers, initializer=_init_worker)
