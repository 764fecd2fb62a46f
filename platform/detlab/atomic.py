"""All-or-nothing outputs, so that a killed run never leaves a result that looks usable.

Files (`atomic_write`): written to a temp file beside the target, renamed over it; readers
see the old or the new content. Folders (`atomic_output_dir`): build beside the target,
mark `.complete`, then rename.

A killed `synth` or `split` must never leave a folder that looks usable. Work
goes into `.<name>.partial` next to the target; only a finished run writes the
`.complete` marker (with what made it) and renames the folder into place, which
is atomic on one filesystem. A rerun removes a leftover `.partial`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from detlab.errors import UserError

MARKER = ".complete"


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call `write(tmp_path)` for a temp file beside `path`, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    return atomic_write(path, write)


def is_complete(path: str | os.PathLike) -> bool:
    """True when `path` is an output folder a finished run put in place."""
    return (Path(path) / MARKER).is_file()


def read_marker(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata a finished run recorded in its `.complete` marker."""
    return json.loads((Path(path) / MARKER).read_text())


def partial_path(target: str | os.PathLike) -> Path:
    target = Path(target)
    return target.with_name(f".{target.name}.partial")


@contextmanager
def atomic_output_dir(
    target: str | os.PathLike, overwrite: bool = False, meta: dict[str, Any] | None = None
) -> Iterator[Path]:
    """Yield an empty work folder; on normal exit it becomes `target`, marked complete.

    On an exception the work folder is removed and `target` is left as it was.
    A complete `target` is replaced only with `overwrite`; a non-empty folder
    that no finished run made is never touched (it may be someone's data).
    """
    target = Path(target).absolute()
    if target.exists():
        if not target.is_dir():
            raise UserError(f"{target}: exists and is not a folder")
        if is_complete(target):
            if not overwrite:
                raise UserError(f"{target}: already exists (complete); pass --overwrite to replace it")
        elif any(target.iterdir()):
            raise UserError(
                f"{target}: exists, is not empty and was not written by detlab; remove it or choose another --out"
            )
    work = partial_path(target)
    if work.exists():  # left by an interrupted run
        shutil.rmtree(work)
    target.parent.mkdir(parents=True, exist_ok=True)
    work.mkdir()
    try:
        yield work
        (work / MARKER).write_text(json.dumps(meta or {}, indent=2, sort_keys=True) + "\n")
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        work.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        work.rename(target)


@contextmanager
def staged_files(target: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty folder beside `target`; on normal exit its files move into `target` (made
    if absent, other files kept), each by rename; on an exception (a full disk half-way through
    the plots) nothing reaches `target`."""
    target = Path(target).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        yield stage
        target.mkdir(exist_ok=True)
        for f in sorted(stage.iterdir()):
            os.replace(f, target / f.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
