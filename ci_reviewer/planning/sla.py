"""SLA arithmetic for batch jobs (DESIGN.md 1).

A batch may take up to `processing` hours (24 h: then its requests expire). Results are noticed
at the next poll, and a margin absorbs runner queues and retries. What is left of the SLA is
the longest a change may wait for the next submission, rounded down to a step that a cron
expression can express evenly over a day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ci_reviewer.errors import UsageError

# Steps that divide a day evenly, so `*/N` in the hour field has no short gap at midnight.
CRON_STEPS_HOURS: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 24)
BATCH_PROCESSING_HOURS = 24.0
DEFAULT_POLL_HOURS = 1.0
DEFAULT_MARGIN_HOURS = 1.0


@dataclass(frozen=True)
class SlaTerms:
    """What the cadence is computed from; every figure is in hours."""

    sla_hours: float
    poll_hours: float = DEFAULT_POLL_HOURS
    margin_hours: float = DEFAULT_MARGIN_HOURS
    processing_hours: float = BATCH_PROCESSING_HOURS

    @property
    def fixed_hours(self) -> float:
        """The part of the SLA that no schedule can shorten."""
        return self.processing_hours + self.poll_hours + self.margin_hours

    @property
    def minimum_sla_hours(self) -> float:
        """The smallest SLA batch can meet: the fixed part plus the 1-hour step."""
        return self.fixed_hours + CRON_STEPS_HOURS[0]


@dataclass(frozen=True)
class SubmissionPlan:
    """How often to submit so that every change lands within the SLA."""

    terms: SlaTerms
    interval_hours: int

    @property
    def cron(self) -> str:
        return cron_for_interval(self.interval_hours)

    @property
    def breakdown(self) -> dict[str, float]:
        """The worst case, part by part: a change made just after a submission waits a whole
        interval, then the full processing window, then up to one poll."""
        return {
            "wait_for_submission_hours": float(self.interval_hours),
            "batch_processing_hours": self.terms.processing_hours,
            "wait_for_poll_hours": self.terms.poll_hours,
            "margin_hours": self.terms.margin_hours,
        }

    @property
    def worst_case_hours(self) -> float:
        """Latency of the worst-placed change, margin excluded (it is headroom, not delay)."""
        return self.interval_hours + self.terms.processing_hours + self.terms.poll_hours

    def as_json(self) -> dict[str, object]:
        """The contract's JSON shape for `sla --format json` (DESIGN.md 5a)."""
        return {
            "sla_hours": self.terms.sla_hours,
            "interval_hours": self.interval_hours,
            "cron": self.cron,
            "worst_case_hours": self.worst_case_hours,
            "breakdown": self.breakdown,
        }


class BatchCannotMeetSla(UsageError):
    """The SLA is shorter than batch processing plus polling plus margin (exit 2)."""

    def __init__(self, terms: SlaTerms) -> None:
        self.terms = terms
        super().__init__(unmeetable_reason(terms), hint=SYNC_ALTERNATIVE)


SYNC_ALTERNATIVE = (
    "use the synchronous API for this work (`api: sync` on the job, or `ci-reviewer review` "
    "for pull requests): results in minutes at full price; or relax the SLA"
)


def largest_interval(terms: SlaTerms) -> int | None:
    """The largest cron step that keeps the worst case within the SLA, or None."""
    room = terms.sla_hours - terms.fixed_hours
    fitting = [step for step in CRON_STEPS_HOURS if step <= room + 1e-9]
    return fitting[-1] if fitting else None


def plan_submissions(terms: SlaTerms) -> SubmissionPlan:
    """The submission cadence for `terms`; BatchCannotMeetSla when there is none."""
    _check_terms(terms)
    interval = largest_interval(terms)
    if interval is None:
        raise BatchCannotMeetSla(terms)
    return SubmissionPlan(terms, interval)


def unmeetable_reason(terms: SlaTerms) -> str:
    return (
        f"batch cannot meet an SLA of {hours(terms.sla_hours)}: processing can take up to "
        f"{hours(terms.processing_hours)}, results are noticed within "
        f"{hours(terms.poll_hours)} of polling and {hours(terms.margin_hours)} of margin is "
        f"kept, which leaves less than the 1 h minimum submission interval; batch needs an "
        f"SLA of at least {hours(terms.minimum_sla_hours)}"
    )


def cron_for_interval(interval_hours: int) -> str:
    """A 5-field UTC cron expression firing every `interval_hours` hours on the hour."""
    if interval_hours not in CRON_STEPS_HOURS:
        raise ValueError(f"{interval_hours} h is not one of {CRON_STEPS_HOURS}")
    if interval_hours == 1:
        return "0 * * * *"
    if interval_hours == 24:
        return "0 0 * * *"
    return f"0 */{interval_hours} * * *"


def hours(value: float) -> str:
    """`4 h`, `0.5 h`: whole numbers without a decimal point."""
    if math.isclose(value, round(value)):
        return f"{round(value)} h"
    return f"{value:g} h"


def _check_terms(terms: SlaTerms) -> None:
    if not (terms.sla_hours > 0 and math.isfinite(terms.sla_hours)):
        raise UsageError(
            f"the SLA must be a positive, finite number of hours, got {terms.sla_hours:g}",
            hint="for work with no deadline, give the longest acceptable wait (168 is a week)",
        )
    for name, value in (
        ("poll", terms.poll_hours),
        ("margin", terms.margin_hours),
        ("processing", terms.processing_hours),
    ):
        if not (value >= 0 and math.isfinite(value)):
            raise UsageError(f"--{name}-hours must be a finite number >= 0, got {value:g}")
