"""The SLA arithmetic behind `ci-reviewer sla` and `plan` (DESIGN.md 1), figure by figure:
the fixed part (processing + poll + margin), the smallest SLA batch can meet, the interval an
SLA that leaves an exact cron step gets (even when floating point lands a hair below it), the
JSON document and the exact refusals. Every figure is worked out by hand in the comments."""

from __future__ import annotations

import math

import pytest

from ci_reviewer.errors import EXIT_USAGE, UsageError
from ci_reviewer.planning.sla import (
    BatchCannotMeetSla,
    SlaTerms,
    cron_for_interval,
    hours,
    largest_interval,
    plan_submissions,
)


def test_the_fixed_part_and_the_smallest_sla() -> None:
    # 20 processing + 3 poll + 2 margin = 25; plus the 1 h step = 26.
    terms = SlaTerms(40, poll_hours=3, margin_hours=2, processing_hours=20)

    assert terms.fixed_hours == 25
    assert terms.minimum_sla_hours == 26
    # 40 - 25 = 15 h of room: 12 is the largest step that fits.
    assert largest_interval(terms) == 12


def test_the_sla_json_document_for_30_hours() -> None:
    # 30 - (24 + 1 + 1) = 4 h of room -> every 4 h; worst case 4 + 24 + 1 = 29.
    assert plan_submissions(SlaTerms(30)).as_json() == {
        "sla_hours": 30,
        "interval_hours": 4,
        "cron": "0 */4 * * *",
        "worst_case_hours": 29.0,
        "breakdown": {
            "wait_for_submission_hours": 4.0,
            "batch_processing_hours": 24.0,
            "wait_for_poll_hours": 1.0,
            "margin_hours": 1.0,
        },
    }


def test_an_sla_that_leaves_exactly_a_step_gets_that_step() -> None:
    # 28.2 - (24 + 0.1 + 0.1) is 4 h on paper; in floating point 3.9999999999999964.
    terms = SlaTerms(28.2, poll_hours=0.1, margin_hours=0.1)

    assert plan_submissions(terms).interval_hours == 4


def test_polling_and_margin_of_zero_are_allowed() -> None:
    # 30 - 24 = 6 h of room.
    assert plan_submissions(SlaTerms(30, poll_hours=0, margin_hours=0)).interval_hours == 6


def test_the_refusal_of_an_sla_batch_cannot_meet_gives_every_figure() -> None:
    with pytest.raises(BatchCannotMeetSla) as raised:
        plan_submissions(SlaTerms(26.5, poll_hours=0.5, margin_hours=1.5))

    assert raised.value.exit_code == EXIT_USAGE
    # 24 + 0.5 + 1.5 = 26 fixed, 0.5 h of room; at least 26 + 1 = 27.
    assert raised.value.message == (
        "batch cannot meet an SLA of 26.5 h: processing can take up to 24 h, results are "
        "noticed within 0.5 h of polling and 1.5 h of margin is kept, which leaves less than "
        "the 1 h minimum submission interval; batch needs an SLA of at least 27 h"
    )
    assert raised.value.hint == (
        "use the synchronous API for this work (`api: sync` on the job, or `ci-reviewer "
        "review` for pull requests): results in minutes at full price; or relax the SLA"
    )


@pytest.mark.parametrize("sla", [0, -4, math.inf, math.nan])
def test_an_sla_that_is_not_a_positive_finite_number_is_refused(sla: float) -> None:
    with pytest.raises(UsageError) as raised:
        plan_submissions(SlaTerms(sla))

    assert raised.value.message == (
        f"the SLA must be a positive, finite number of hours, got {sla:g}"
    )
    assert raised.value.hint == (
        "for work with no deadline, give the longest acceptable wait (168 is a week)"
    )


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        (SlaTerms(30, poll_hours=-1), "--poll-hours must be a finite number >= 0, got -1"),
        (SlaTerms(30, margin_hours=-0.5), "--margin-hours must be a finite number >= 0, got -0.5"),
        (
            SlaTerms(30, processing_hours=math.inf),
            "--processing-hours must be a finite number >= 0, got inf",
        ),
        (SlaTerms(30, poll_hours=math.nan), "--poll-hours must be a finite number >= 0, got nan"),
    ],
)
def test_a_negative_or_infinite_part_names_its_option(terms: SlaTerms, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        plan_submissions(terms)

    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("interval", "cron"),
    [(1, "0 * * * *"), (2, "0 */2 * * *"), (12, "0 */12 * * *"), (24, "0 0 * * *")],
)
def test_each_interval_is_a_cron_on_the_hour(interval: int, cron: str) -> None:
    assert cron_for_interval(interval) == cron


def test_an_interval_that_does_not_divide_a_day_has_no_cron() -> None:
    with pytest.raises(ValueError, match=r"^5 h is not one of \(1, 2, 3, 4, 6, 8, 12, 24\)$"):
        cron_for_interval(5)


@pytest.mark.parametrize(
    ("value", "text"),
    [(4.0, "4 h"), (27, "27 h"), (0.5, "0.5 h"), (37.5, "37.5 h"), (26.999999999999996, "27 h")],
)
def test_hours_are_written_without_a_needless_decimal_point(value: float, text: str) -> None:
    assert hours(value) == text


def test_an_sla_under_an_hour_is_one_batch_cannot_meet_not_a_bad_number() -> None:
    with pytest.raises(BatchCannotMeetSla) as raised:
        plan_submissions(SlaTerms(0.5))

    assert raised.value.message.startswith("batch cannot meet an SLA of 0.5 h: ")
