"""Data tools: synthetic HRSC2016/DOTA sets, DOTA split and merge, all-or-nothing outputs.

Each job has its own module (synth, split, merge), imported where used; all-or-nothing
writes go through `detlab.atomic`.
"""

from __future__ import annotations

import errno
import multiprocessing as mp
import os


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)  # the pool is the parallelism


def process_pool(workers: int, preload: str):
    """A worker pool that does not inherit the parent's thread state.

    A plain fork after cv2 or torch have started their thread pools can deadlock
    the children (seen under pytest); a fork server is a fresh process that
    imports `preload` once, and workers fork from it in a few milliseconds.
    """
    if "forkserver" in mp.get_all_start_methods():
        forkserver = mp.get_context("forkserver")
        forkserver.set_forkserver_preload([preload])
        return forkserver.Pool(workers, initializer=_init_worker)
    return mp.get_context("spawn").Pool(workers, initializer=_init_worker)


def imwrite(path, img) -> None:
    """Encode with cv2, write with Python: a full disk is an OSError naming the file (cv2.imwrite
    only returns False, and libpng prints its own "Write Error" line)."""
    import cv2

    ext = os.path.splitext(str(path))[1] or ".png"
    params = [cv2.IMWRITE_PNG_COMPRESSION, 1] if ext == ".png" else []
    ok, buf = cv2.imencode(ext, img, params)
    if not ok:
        raise OSError(errno.EIO, f"cv2 could not encode the image as {ext}", str(path))
    try:
        with open(path, "wb") as f:
            f.write(buf.tobytes())
    except OSError as err:
        if err.filename is None:
            err.filename = str(path)
        raise
