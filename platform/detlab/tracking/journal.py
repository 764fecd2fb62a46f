"""Append-only, fsync'ed journal of one recorder session: what survives an outage or a crash.

Layout under a spool directory (one sub-directory per MLflow run):

    <spool>/<run_id>/<session>.jsonl    one JSON op per line; line 1 is the header
    <spool>/<run_id>/<session>.ack      highest seq MLflow acknowledged (atomic replace)
    <spool>/<run_id>/<session>.lock     flock'ed by the live process that owns the session
    <spool>/<run_id>/blobs/<session>/<id>/<name>    artifact snapshots

Ops are delivered in seq order, so one watermark says what was sent. A session
whose ops are all acknowledged is deleted by its owner; what is left after a
process ends is replayed by the next attach on the same node or `detlab mlflow sync`.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from detlab.subpath import SubPath

Op = dict[str, Any]


def new_session_id() -> str:
    """Sortable by start time, unique across hosts and processes."""
    return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:10]


class Journal:
    """The files of one session; thread-safe appends."""

    def __init__(self, run_dir: str | os.PathLike, session: str, *, durable: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self.session = session
        self.durable = durable
        self._lock = threading.Lock()
        self._lock_fd: int | None = None
        self._next_seq = 1

    # -- paths ----------------------------------------------------------------
    path = SubPath("run_dir", "{session}.jsonl")
    ack_path = SubPath("run_dir", "{session}.ack")
    lock_path = SubPath("run_dir", "{session}.lock")
    rejected_path = SubPath("run_dir", "{session}.rejected.jsonl")
    blob_dir = SubPath("run_dir", "blobs", "{session}")

    def new_blob_path(self, name: str) -> Path:
        """A fresh place for an artifact snapshot keeping its file name (MLflow uses it)."""
        d = self.blob_dir / uuid.uuid4().hex[:12]
        d.mkdir(parents=True, exist_ok=True)
        return d / name

    # -- creation / discovery -----------------------------------------------
    @classmethod
    def create(cls, spool: str | os.PathLike, run_id: str, header: Op, *, durable: bool = True) -> Journal:
        """New session for `run_id`, locked by this process, with `header` as seq 0."""
        run_dir = Path(spool) / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        j = cls(run_dir, new_session_id(), durable=durable)
        if not j.try_lock():
            raise RuntimeError(f"could not lock new journal {j.lock_path}")
        j._write_line(
            {
                "seq": 0,
                "op": "open",
                "run_id": run_id,
                "session": j.session,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                **header,
            }
        )
        return j

    @classmethod
    def sessions(cls, spool: str | os.PathLike, run_id: str | None = None) -> list[Journal]:
        """Every session in `spool` (of one run, if given), oldest first."""
        spool = Path(spool)
        run_dirs = [spool / run_id] if run_id else sorted(p for p in spool.iterdir() if p.is_dir())
        found = []
        for rd in run_dirs:
            if rd.is_dir():
                found += [
                    cls(rd, p.name[: -len(".jsonl")])
                    for p in sorted(rd.glob("*.jsonl"))
                    if not p.name.endswith(".rejected.jsonl")
                ]
        return found

    # -- writing --------------------------------------------------------------
    def append(self, op: Op) -> int:
        """Add one op; returns its seq. Durable (fsync) before returning unless durable=False."""
        with self._lock:
            seq = self._next_seq
            self._next_seq += 1
            self._write_line({"seq": seq, **op})
            return seq

    def _write_line(self, record: Op) -> None:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            if self.durable:
                os.fsync(f.fileno())

    def record_rejected(self, op: Op, error: str) -> None:
        with open(self.rejected_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"op": op, "error": error}) + "\n")

    # -- reading --------------------------------------------------------------
    def read(self) -> tuple[Op, list[Op]]:
        """(header, ops in seq order); a torn last line (crash mid-write) is ignored."""
        header: Op = {}
        ops: list[Op] = []
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if rec.get("seq") == 0:
                    header = rec
                else:
                    ops.append(rec)
        ops.sort(key=lambda r: r["seq"])
        return header, ops

    def pending(self) -> tuple[Op, list[Op]]:
        """(header, ops not yet acknowledged)."""
        header, ops = self.read()
        acked = self.acked
        return header, [o for o in ops if o["seq"] > acked]

    @property
    def acked(self) -> int:
        try:
            return int(self.ack_path.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def set_acked(self, seq: int) -> None:
        """Atomically move the watermark (write, fsync, rename)."""
        tmp = self.ack_path.with_name(self.ack_path.name + f".{os.getpid()}.tmp")
        with open(tmp, "w") as f:
            f.write(str(seq))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.ack_path)

    # -- ownership --------------------------------------------------------------
    def try_lock(self) -> bool:
        """Claim the session (non-blocking); the OS drops the claim when the process dies."""
        if self._lock_fd is not None:
            return True
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def claim(self) -> bool:
        """Lock a session found on disk; False when a live process owns it or it just finished."""
        if not self.try_lock():
            return False
        if not self.path.exists():  # delivered and removed between listing and locking
            self.lock_path.unlink(missing_ok=True)
            self.unlock()
            return False
        return True

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def remove(self) -> None:
        """Delete the session (everything delivered). Keeps a rejected-ops file for inspection."""
        for p in (self.path, self.ack_path):
            p.unlink(missing_ok=True)
        shutil.rmtree(self.blob_dir, ignore_errors=True)
        self.lock_path.unlink(missing_ok=True)
        self.unlock()
        for d in (self.run_dir / "blobs", self.run_dir):
            try:
                d.rmdir()  # only if empty
            except OSError:
                pass
