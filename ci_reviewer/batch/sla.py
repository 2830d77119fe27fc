"""How old a pending batch is against its job's SLA.

The SLA clock starts when the batch was created (the moment the work was handed over). A
batch is at risk when less than `RISK_HOURS` (the next poll plus a margin) or a tenth of the
SLA is left, whichever is more, and overdue when nothing is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ci_reviewer.batch.api import BatchInfo
from ci_reviewer.planning.sla import BATCH_PROCESSING_HOURS

if TYPE_CHECKING:
    from ci_reviewer.batch.state import Submission

# Message Batches end within 24 h of creation (then their unfinished requests expire); the
# same figure `plan` and `sla` count on.
BATCH_WINDOW = timedelta(hours=BATCH_PROCESSING_HOURS)

RISK_HOURS = 2.0


@dataclass(frozen=True)
class BatchAge:
    batch_id: str
    status: str
    counts: dict[str, int]
    age_hours: float
    sla_hours: float
    expires_at: datetime

    @property
    def remaining_hours(self) -> float:
        return self.sla_hours - self.age_hours

    @property
    def overdue(self) -> bool:
        return self.remaining_hours <= 0

    @property
    def at_risk(self) -> bool:
        return self.remaining_hours < max(RISK_HOURS, self.sla_hours / 10)


def batch_age(info: BatchInfo, sla_hours: float, now: datetime) -> BatchAge:
    age = max(0.0, (now - info.created_at).total_seconds() / 3600)
    return BatchAge(info.id, info.status, dict(info.counts), age, sla_hours, info.expires_at)


def recorded_age(submission: Submission, sla_hours: float, now: datetime) -> BatchAge:
    """A pending batch as the state recorded it, without asking the API."""
    created = submission.created_at or submission.intent_at
    age = max(0.0, (now - created).total_seconds() / 3600)
    counts = {"recorded": len(submission.custom_ids)}
    assert submission.batch_id is not None
    return BatchAge(
        submission.batch_id, "not refreshed", counts, age, sla_hours, created + BATCH_WINDOW
    )
