"""A journal on disk is input, not trusted code: it may only make the replayer read files inside
the spool, and only name artifact destinations inside the run's artifact root.

`detlab mlflow sync` and a recorder that picks up a dead process's session replay
journals that anyone with write access to the spool could have edited. Without
these checks an `artifact` op naming `/home/me/.ssh/id_rsa` would upload that file,
and one with `artifact_path: ../../x` would make a file-store client write outside
its artifact folder. Symbolic links are resolved first, so a link inside the spool
pointing out of it is refused too.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import Any


def inside(path: str | os.PathLike, root: str | os.PathLike) -> bool:
    """True when `path`, with every symlink resolved, is `root` or below it."""
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def unsafe_artifact(op: dict[str, Any], spool: str | os.PathLike) -> str | None:
    """Why replaying this `artifact` op would leave the spool or the artifact root; None if it is safe."""
    local = op.get("local")
    if not isinstance(local, str) or not local:
        return "artifact entry without a local file"
    if not inside(local, spool):
        return f"artifact file {local!r} is outside the spool {os.fspath(spool)}; not read"
    if os.path.isdir(local):
        for folder, _, files in os.walk(local):
            for name in files:
                if not inside(os.path.join(folder, name), spool):
                    return (
                        f"artifact folder {local!r} holds {os.path.join(folder, name)!r}, a link "
                        f"out of the spool {os.fspath(spool)}; not read"
                    )
    dest = op.get("artifact_path")
    if dest is not None:
        if not isinstance(dest, str) or dest.startswith(("/", "\\")) or ":" in dest.split("/")[0]:
            return f"artifact destination {dest!r} is not a relative path; not written"
        if ".." in posixpath.normpath(dest.replace("\\", "/")).split("/") or ".." in dest.split("/"):
            return f"artifact destination {dest!r} leaves the run's artifact root; not written"
    return None


def plain_name(name: str, what: str) -> str | None:
    """Why `name` (a run id or session name used as a file name in the spool) is unsafe; None if not."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        return f"{what} {name!r} is not a plain name"
    return None


def unsafe_session(journal_path: Path, spool: Path) -> str | None:
    """Why a session must not be touched: its run folder or journal is a link out of the spool
    (reading it, or writing its lock and ack files beside it, would leave the spool)."""
    for path in (journal_path.parent, journal_path):
        if not inside(path, spool):
            return f"{path} is a link out of the spool {spool}; not read"
    return None
