"""`detlab mlflow sync`: send what recorders left in a spool directory.

Safe to run any time and any number of times: sessions still owned by a live
process are skipped (their lock is held), metrics are checked against the
server before being sent, and a session is deleted once fully delivered.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from detlab.errors import UserError
from detlab.tracking.client import is_transient, make_client, one_line
from detlab.tracking.confine import plain_name, unsafe_session
from detlab.tracking.delivery import Delivery
from detlab.tracking.journal import Journal
from detlab.tracking.replay import replay_session


@dataclass
class SessionReport:
    run_id: str
    session: str
    outcome: str  # "sent", "nothing to send", "busy", "unreachable", "error", "refused"
    tracking_uri: str = ""
    sent_ops: int = 0
    metric_points: int = 0
    rejected: int = 0
    detail: str = ""
    unsafe: tuple[str, ...] = ()  # entries refused for naming paths outside the spool

    def line(self) -> str:
        text = f"run {self.run_id} session {self.session}: {self.outcome}"
        if self.outcome == "sent":
            text += f" ({self.sent_ops} ops, {self.metric_points} metric points)"
        if self.rejected - len(self.unsafe) > 0:
            text += f", {self.rejected - len(self.unsafe)} refused by MLflow"
        if self.unsafe:
            text += f", {len(self.unsafe)} refused as unsafe (first: {self.unsafe[0]})"
        return text + (f" - {self.detail}" if self.detail else "")


def sync_spool(
    spool_dir: str | os.PathLike, *, tracking_uri: str | None = None, run_id: str | None = None
) -> list[SessionReport]:
    """Replay every session in `spool_dir` (or only those of `run_id`) to the URI each was
    recorded for (or `tracking_uri`)."""
    spool = Path(spool_dir)
    if not spool.is_dir():
        raise UserError(f"spool directory not found: {spool}")
    why = plain_name(run_id, "--run") if run_id is not None else None
    if why:
        raise UserError(f"{why}: give a run id (a folder name in {spool})")
    deliveries: dict[tuple[str, str], Delivery] = {}
    reports: list[SessionReport] = []
    for j in Journal.sessions(spool, run_id):
        rid = j.run_dir.name
        why = unsafe_session(j.path, spool)
        if why:
            reports.append(SessionReport(rid, j.session, "refused", detail=why, unsafe=(why,)))
            continue
        if not j.claim():
            if j.path.exists():
                reports.append(SessionReport(rid, j.session, "busy", detail="a live process owns it"))
            continue
        try:
            header, pending = j.pending()
            uri = tracking_uri or header.get("tracking_uri", "")
            if not pending:
                j.remove()
                reports.append(SessionReport(rid, j.session, "nothing to send", uri))
                continue
            if not uri:
                reports.append(
                    SessionReport(
                        rid, j.session, "error", detail="no tracking URI in the journal header: pass --tracking-uri"
                    )
                )
                continue
            key = (uri, rid)
            if key not in deliveries:
                deliveries[key] = Delivery(make_client(uri), rid)
            try:
                result = replay_session(j, deliveries[key], in_doubt=True)
            except Exception as e:
                outcome = "unreachable" if is_transient(e) else "error"
                reports.append(SessionReport(rid, j.session, outcome, uri, detail=one_line(e, 160)))
                continue
            j.remove()
            reports.append(
                SessionReport(
                    rid,
                    j.session,
                    "sent",
                    uri,
                    result.sent_ops,
                    result.metric_points,
                    len(result.rejected),
                    unsafe=tuple(result.unsafe),
                )
            )
        finally:
            j.unlock()
    return reports
