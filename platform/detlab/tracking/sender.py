"""The background sender of a `RunRecorder`: delivers a session's journal to MLflow in order.

One thread per recording session. First it sends what sessions of the same run left on this
node (a process that died, or, with `await_sessions_s`, one on its way out), then its own
operations as the recorder queues them, retrying with backoff while the server is unreachable;
`flush` and `stop` bound every wait on it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from detlab.tracking import client as mlclient
from detlab.tracking.client import one_line
from detlab.tracking.delivery import Delivery, next_group
from detlab.tracking.journal import Journal, Op
from detlab.tracking.replay import replay_session

log = logging.getLogger("detlab.tracking")


class Sender:
    """Sends `journal`'s operations (queued by `push`) to the run's MLflow server."""

    def __init__(
        self,
        journal: Journal,
        run_id: str,
        tracking_uri: str,
        spool_dir: Path,
        *,
        max_backoff: float,
        await_sessions_s: float,
        warn_once: Callable[..., None],
    ) -> None:
        self.journal = journal
        self.run_id = run_id
        self.tracking_uri = tracking_uri
        self.spool_dir = spool_dir
        self.max_backoff = max_backoff
        self.await_sessions_s = await_sessions_s
        self._warn_once = warn_once
        self.pending: deque[Op] = deque()
        self.cv = threading.Condition()
        self.wake = threading.Event()
        self.draining = False  # stop() called: the thread exits once the queue is empty
        self.abandon = False  # flush time is up: the thread exits now
        self._down_since: float | None = None
        self._in_doubt = False
        self.rejected = 0
        self._thread = threading.Thread(target=self._run, name=f"mlflow-sender-{self.run_id[:8]}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def push(self, op: Op) -> None:
        """Queue an operation already in the journal (``op["seq"]`` its place there, -1: memory only)."""
        with self.cv:
            self.pending.append(op)
            self.cv.notify_all()

    def flush(self, timeout: float) -> bool:
        """Wait up to `timeout` s until everything queued is sent; True when it was."""
        deadline = time.monotonic() + timeout
        self.wake.set()  # cut a backoff sleep short
        with self.cv:
            while self.pending and self._thread.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cv.wait(min(left, 0.5))
                self.wake.set()
            return not self.pending

    def stop(self, timeout: float) -> tuple[bool, bool]:
        """Send what is queued (up to `timeout` s), then end the thread: (all delivered, thread ended)."""
        with self.cv:
            self.draining = True
            self.cv.notify_all()
        delivered = self.flush(timeout)
        self.abandon = True
        self.wake.set()
        with self.cv:
            self.cv.notify_all()
        self._thread.join(timeout=mlclient.HTTP_TIMEOUT_S + 5)  # an in-flight request ends by then
        return delivered, not self._thread.is_alive()

    def _run(self) -> None:
        """Background thread: older sessions of this run left on this node first, then ours."""
        try:
            client = mlclient.make_client(self.tracking_uri)
            delivery = Delivery(client, self.run_id)
            self._drain_leftovers(delivery)
            self._drain_own(delivery)
        except Exception as e:  # pragma: no cover - a bug here must not kill silently
            log.warning(
                "MLflow recording: sender stopped (%s); unsent operations stay in %s", one_line(e), self.journal.path
            )

    def _drain_own(self, delivery: Delivery) -> None:
        backoff = 0.5
        while True:
            with self.cv:
                while not self.pending and not self.draining and not self.abandon:
                    self.cv.wait()
                if self.abandon or (not self.pending and self.draining):
                    return
                ops = [self.pending[i] for i in range(min(len(self.pending), 2000))]
            group = next_group(ops)
            try:
                rejected = delivery.send(group, in_doubt=self._in_doubt)
            except Exception as e:
                self._in_doubt = True  # part of it may have landed: check before resending metrics
                self._note_down(e)
                if self._sleep(backoff):
                    return
                backoff = min(backoff * 2, self.max_backoff)
                continue
            backoff, self._in_doubt = 0.5, False
            self._note_rejected(rejected)
            last = max(op["seq"] for op in group)
            if last >= 0:
                self.journal.set_acked(last)
            with self.cv:
                for _ in group:
                    self.pending.popleft()
                self.cv.notify_all()
            self._note_up()

    def _drain_leftovers(self, delivery: Delivery) -> None:
        """Sessions of this run whose process died (unlocked) before delivering everything; with
        `await_sessions_s`, also those still locked, claimed as their processes exit."""
        held = [j for j in Journal.sessions(self.spool_dir, self.run_id) if j.session != self.journal.session]
        deadline = time.monotonic() + self.await_sessions_s
        while held:
            for j in [j for j in held if j.claim()]:
                held.remove(j)
                if not self._replay_leftover(j, delivery):
                    return
            if not held or time.monotonic() >= deadline or self._sleep(0.5):
                break
        if held and self.await_sessions_s > 0:
            log.warning(
                "MLflow recording: %d session(s) of run %s still held by a live process after %.0f s "
                "(%s); they stay in the spool for `detlab mlflow sync`",
                len(held),
                self.run_id,
                self.await_sessions_s,
                ", ".join(str(j.path) for j in held),
            )

    def _replay_leftover(self, j: Journal, delivery: Delivery) -> bool:
        """Send a claimed session, retrying while MLflow is down; False when the sender must stop."""
        backoff = 0.5
        while True:
            try:
                result = replay_session(j, delivery, in_doubt=True)
                self._note_rejected(result.rejected, record=False)  # listed in j's own file
                j.remove()
                self._note_up()
                return True
            except Exception as e:
                self._note_down(e)
                if self._sleep(backoff):
                    j.unlock()
                    return False
                backoff = min(backoff * 2, self.max_backoff)

    def _sleep(self, seconds: float) -> bool:
        """Backoff wait, cut short by flush(); True when the sender must stop now."""
        if self.abandon:
            return True
        self.wake.wait(seconds)
        self.wake.clear()
        return self.abandon

    def _note_down(self, err: BaseException) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning(
                "MLflow at %s unreachable (%s); buffering to %s; will retry",
                self.tracking_uri,
                one_line(err, 160),
                self.journal.path,
            )

    def _note_up(self) -> None:
        if self._down_since is not None:
            log.warning(
                "MLflow at %s reachable again after %.0f s; buffered operations are being sent",
                self.tracking_uri,
                time.monotonic() - self._down_since,
            )
            self._down_since = None

    def _note_rejected(self, rejected: list, record: bool = True) -> None:
        for op, why in rejected:
            if record:
                self.journal.record_rejected(op, why)
            self.rejected += 1
            self._warn_once(
                "rejected",
                "MLflow refused part of run %s for good (%s); continuing, "
                "refused items are listed in %s/*.rejected.jsonl",
                self.run_id,
                why,
                self.journal.run_dir,
            )
