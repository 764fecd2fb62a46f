"""Send what a journal holds beyond its acknowledged watermark: used by the live sender
for sessions a dead process left behind, and by `detlab mlflow sync`."""

from __future__ import annotations

from dataclasses import dataclass, field

from detlab.tracking.confine import unsafe_artifact
from detlab.tracking.delivery import Delivery, Rejected, next_group
from detlab.tracking.journal import Journal


@dataclass
class ReplayResult:
    sent_ops: int = 0
    metric_points: int = 0
    rejected: Rejected = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)  # "seq N: why", entries refused before sending


def replay_session(journal: Journal, delivery: Delivery, *, in_doubt: bool = True) -> ReplayResult:
    """Deliver the pending ops of `journal` in order, moving its watermark after each request.

    Raises on a transient failure (whatever was acknowledged so far stays acknowledged).
    `in_doubt=True` (the default for a journal this process did not write) checks metrics
    against the server first, so replaying twice never duplicates a point. An artifact entry
    naming a file outside the spool, or a destination outside the run's artifact root, is
    refused without being read (see detlab.tracking.confine).
    """
    _, ops = journal.pending()
    result = ReplayResult()
    spool = journal.run_dir.parent
    while ops:
        group = next_group(ops)
        why = unsafe_artifact(group[0], spool) if group[0].get("op") == "artifact" else None
        if why:
            result.unsafe.append(f"seq {group[0].get('seq')}: {why}")
            rejected = [(group[0], why)]
        else:
            rejected = delivery.send(group, in_doubt=in_doubt)
        for op, why in rejected:
            journal.record_rejected(op, why)
        journal.set_acked(group[-1]["seq"])
        result.sent_ops += len(group)
        result.metric_points += sum(len(op.get("metrics", ())) for op in group)
        result.rejected += rejected
        ops = ops[len(group) :]
    return result
