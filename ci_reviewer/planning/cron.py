"""Cron schedules as GitHub Actions runs them: 5 fields, UTC, at most every 5 minutes.

Parsing and iteration are croniter's (a maintained library); what this module adds is the
question a batch SLA asks of a schedule: what is the longest real gap between two firings?
A `*/5` in the hour field fires at 0, 5, 10, 15, 20 and then waits 4 hours, not 5, so the
gaps are measured by walking the firings, never by reading the step.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache

from croniter import croniter

GITHUB_MIN_INTERVAL = timedelta(minutes=5)
# A leap year's worth of firings sees every month length and weekday alignment, so a sparse
# schedule (`0 0 1 * *`, `0 0 29 2 *`) shows its real gaps; dense ones stop at a firing cap.
_WINDOW = timedelta(days=366 * 4 + 90)
_MAX_FIRINGS = 4000
REFERENCE_START = datetime(2024, 1, 1, tzinfo=timezone.utc)


class CronError(ValueError):
    """A schedule GitHub would not run; the message says why."""


@dataclass(frozen=True)
class CronSchedule:
    """A parsed schedule and its measured gaps between firings."""

    expression: str
    longest_gap: timedelta
    shortest_gap: timedelta
    firings_per_30_days: float

    @property
    def longest_gap_hours(self) -> float:
        return self.longest_gap.total_seconds() / 3600

    @property
    def too_frequent(self) -> bool:
        """GitHub runs scheduled workflows at most every 5 minutes."""
        return self.shortest_gap < GITHUB_MIN_INTERVAL


@cache  # a plan asks about the same few schedules many times
def parse_schedule(expression: str, start: datetime = REFERENCE_START) -> CronSchedule:
    """Validate a workflow cron and measure its gaps over a long window from `start`."""
    text = " ".join(str(expression).split())
    if text.startswith("@"):
        raise CronError(f"{text!r}: GitHub does not accept @-macros; write the 5 fields")
    if len(text.split()) != 5:
        raise CronError(
            f"{text!r}: a workflow cron has exactly 5 fields "
            "(minute hour day-of-month month day-of-week)"
        )
    if not croniter.is_valid(text):
        raise CronError(f"{text!r}: not a valid cron expression")
    firings = _firings(text, start)
    if len(firings) < 2:
        raise CronError(f"{text!r}: fires fewer than twice in four years: no gap to measure")
    gaps = [later - earlier for earlier, later in itertools.pairwise(firings)]
    span_days = (firings[-1] - firings[0]).total_seconds() / 86400
    return CronSchedule(
        expression=text,
        longest_gap=max(gaps),
        shortest_gap=min(gaps),
        firings_per_30_days=len(gaps) * 30 / span_days,
    )


@cache
def longest_gap_together(
    expressions: tuple[str, ...], start: datetime = REFERENCE_START
) -> timedelta:
    """The longest wait between two firings of any of `expressions` (each valid): the runs a
    job gets from all its schedules at once (`0 0 * * *` with `0 12 * * *` waits 12 h, not 24).

    A week of firings would do for minute, hour and weekday fields; day-of-month and month
    fields need the long window, so every schedule is walked over it."""
    runs = [_firings(" ".join(text.split()), start) for text in expressions]
    # A dense schedule stops at the firing cap: past its last firing the union has a hole
    # that the schedule does not have, so the union is measured only up to there.
    horizon = min((run[-1] for run in runs if len(run) >= _MAX_FIRINGS), default=start + _WINDOW)
    moments = sorted({moment for run in runs for moment in run if moment <= horizon})
    return max(later - earlier for earlier, later in itertools.pairwise(moments))


def firings_between(expression: str, start: datetime, end: datetime) -> list[datetime]:
    """Every firing in (start, end], in order (UTC)."""
    iterator = croniter(expression, start)
    found: list[datetime] = []
    while True:
        moment: datetime = iterator.get_next(datetime)
        if moment > end:
            return found
        found.append(moment)


def _firings(expression: str, start: datetime) -> list[datetime]:
    iterator = croniter(expression, start - timedelta(seconds=1))
    end = start + _WINDOW
    found: list[datetime] = []
    while len(found) < _MAX_FIRINGS:
        try:
            moment: datetime = iterator.get_next(datetime)
        except (StopIteration, ValueError):  # croniter gives up on impossible dates (31 Feb)
            break
        if moment > end:
            break
        found.append(moment)
    return found
