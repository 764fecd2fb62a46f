"""All-or-nothing output folders: build beside the target, mark `.complete`, then rename.

A killed `synth` or `split` must never leave a folder that looks usable. Work
goes into `.<name>.partial` next to the target; only a finished run writes the
`.complete` marker (with what made it) and renames the folder into place, which
is atomic on one filesystem. A rerun removes a leftover `.partial`.
"""
from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from detlab.errors import UserError

MARKER = '.complete'


def is_complete(path: str | os.PathLike) -> bool:
    """True when `path` is an output folder a finished run put in place."""
    return (Path(path) / MARKER).is_file()


def read_marker(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata a finished run recorded in its `.complete` marker."""
    return json.loads((Path(path) / MARKER).read_text())


def partial_path(target: str | os.PathLike) -> Path:
    target = Path(target)
    return target.with_name(f'.{target.name}.partial')


@contextmanager
def atomic_output_dir(target: str | os.PathLike, overwrite: bool = False,
                      meta: dict[str, Any] | None = None) -> Iterator[Path]:
    """Yield an empty work folder; on normal exit it becomes `target`, marked complete.

    On an exception the work folder is removed and `target` is left as it was.
    A complete `target` is replaced only with `overwrite`; a non-empty folder
    that no finished run made is never touched (it may be someone's data).
    """
    target = Path(target).absolute()
    if target.exists():
        if not target.is_dir():
            raise UserError(f'{target}: exists and is not a folder')
        if is_complete(target):
            if not overwrite:
                raise UserError(f'{target}: already exists (complete); pass --overwrite to replace it')
        elif any(target.iterdir()):
            raise UserError(f'{target}: exists, is not empty and was not written by detlab; '
                            f'remove it or choose another --out')
    work = partial_path(target)
    if work.exists():  # left by an interrupted run
        shutil.rmtree(work)
    target.parent.mkdir(parents=True, exist_ok=True)
    work.mkdir()
    try:
        yield work
        (work / MARKER).write_text(json.dumps(meta or {}, indent=2, sort_keys=True) + '\n')
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if target.exists():
        old = target.with_name(f'.{target.name}.old')
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        work.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        work.rename(target)
