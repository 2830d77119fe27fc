"""How old a pending batch is against its job's SLA, as `batch collect` reports it: the clock
starts when the batch was created; at risk when less than 2 h or a tenth of the SLA is left
(whichever is more), overdue when nothing is left. Figures worked out by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ci_reviewer.batch.api import BatchInfo
from ci_reviewer.batch.sla import BatchAge, batch_age, recorded_age
from ci_reviewer.batch.state import Submission

CREATED = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)
EXPIRES = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)


def _info() -> BatchInfo:
    return BatchInfo(
        id="msgbatch_1",
        status="in_progress",
        created_at=CREATED,
        expires_at=EXPIRES,
        ended_at=None,
        counts={"processing": 3, "succeeded": 1},
    )


def test_a_batch_created_three_and_a_half_hours_ago() -> None:
    age = batch_age(_info(), 30, CREATED + timedelta(hours=3, minutes=30))

    assert age == BatchAge(
        batch_id="msgbatch_1",
        status="in_progress",
        counts={"processing": 3, "succeeded": 1},
        age_hours=3.5,
        sla_hours=30,
        expires_at=EXPIRES,
    )
    assert age.remaining_hours == 26.5
    assert not age.at_risk and not age.overdue


def test_a_creation_time_ahead_of_this_clock_counts_as_no_age() -> None:
    assert batch_age(_info(), 30, CREATED - timedelta(minutes=5)).age_hours == 0.0


@pytest.mark.parametrize(
    ("sla", "age", "at_risk", "overdue"),
    [
        # SLA 10 h: a tenth is 1 h, so the 2 h floor rules.
        (10, 7.9, False, False),  # 2.1 h left
        (10, 8.0, False, False),  # exactly 2 h left: not yet less than 2
        (10, 8.5, True, False),  # 1.5 h left
        (10, 10.0, True, True),  # nothing left
        (10, 11.0, True, True),
        # SLA 50 h: a tenth is 5 h, more than the 2 h floor.
        (50, 44.5, False, False),  # 5.5 h left
        (50, 45.5, True, False),  # 4.5 h left: more than 2, less than 5
    ],
)
def test_at_risk_and_overdue(sla: float, age: float, at_risk: bool, overdue: bool) -> None:
    pending = BatchAge("msgbatch_1", "in_progress", {}, age, sla, EXPIRES)

    assert (pending.at_risk, pending.overdue) == (at_risk, overdue)


def test_a_batch_the_state_recorded_counts_from_its_creation() -> None:
    submission = Submission(
        intent_id="i1",
        intent_at=CREATED - timedelta(minutes=1),
        custom_ids=("a", "b", "c"),
        batch_id="msgbatch_1",
        created_at=CREATED,
    )

    age = recorded_age(submission, 30, CREATED + timedelta(hours=6))

    # Message Batches expire 24 h after creation.
    assert age == BatchAge("msgbatch_1", "not refreshed", {"recorded": 3}, 6.0, 30, EXPIRES)


def test_a_batch_recorded_without_its_creation_time_counts_from_the_intent() -> None:
    submission = Submission(
        intent_id="i1", intent_at=CREATED, custom_ids=("a",), batch_id="msgbatch_1"
    )

    assert recorded_age(submission, 30, CREATED + timedelta(hours=1, minutes=45)) == BatchAge(
        "msgbatch_1", "not refreshed", {"recorded": 1}, 1.75, 30, EXPIRES
    )
    assert recorded_age(submission, 30, CREATED - timedelta(hours=1)).age_hours == 0.0
