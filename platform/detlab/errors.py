"""Errors the user can fix: shown as one line naming the file/field and the problem."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

# File-system failures that are the user's to fix (space, permissions, a path that is not a
# folder), not bugs: the CLI reports them like bad input, as one line, exit code 2.
USER_FIXABLE_ERRNOS = {
    errno.ENOSPC: "no space left on the device (free some, or choose another output folder)",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EISDIR: "is a folder",
    errno.EEXIST: "exists and is not a folder",  # mkdir where a file of that name is
}


class UserError(ValueError):
    """Bad input (file, config key, spec field): the CLI prints it as one line, exit code 2."""


class TransientError(UserError):
    """A run ended by the cluster, not by its input (a Ray actor, worker or node died under it):
    still one line for the CLI, but the same run may succeed again, so a sweep retries its trial
    (`detlab.sweep.trial`) where it marks a trial with bad input failed for good."""


def os_error_line(err: OSError, where: object = None) -> str | None:
    """`<file>: <what is wrong>` for a user-fixable file-system error; None for any other.

    A failed write() names no file; `where` (the output folder the command was writing) does then.
    """
    what = USER_FIXABLE_ERRNOS.get(err.errno or 0)
    if what is None:
        return None
    place = err.filename if err.filename is not None else where
    return f"{place if place is not None else '(file unknown)'}: {what}"


@contextmanager
def disk_errors_as_user_errors(where: object = None) -> Iterator[None]:
    """Turn a user-fixable OSError inside the block into a UserError line (see os_error_line)."""
    try:
        yield
    except OSError as err:
        line = os_error_line(err, where)
        if line is None:
            raise
        raise UserError(line) from None
