"""Send what a journal holds beyond its acknowledged watermark: used by the live sender
for sessions a dead process left behind, and by `detlab mlflow sync`."""
from __future__ import annotations

from dataclasses import dataclass, field

from detlab.tracking.delivery import Delivery, Rejected, next_group
from detlab.tracking.journal import Journal


@dataclass
class ReplayResult:
    sent_ops: int = 0
    metric_points: int = 0
    rejected: Rejected = field(default_factory=list)


def replay_session(journal: Journal, delivery: Delivery, *, in_doubt: bool = True) -> ReplayResult:
    """Deliver the pending ops of `journal` in order, moving its watermark after each request.

    Raises on a transient failure (whatever was acknowledged so far stays acknowledged).
    `in_doubt=True` (the default for a journal this process did not write) checks metrics
    against the server first, so replaying twice never duplicates a point.
    """
    _, ops = journal.pending()
    result = ReplayResult()
    while ops:
        group = next_group(ops)
        rejected = delivery.send(group, in_doubt=in_doubt)
        for op, why in rejected:
            journal.record_rejected(op, why)
        journal.set_acked(group[-1]["seq"])
        result.sent_ops += len(group)
        result.metric_points += sum(len(op.get("metrics", ())) for op in group)
        result.rejected += rejected
        ops = ops[len(group):]
    return result
