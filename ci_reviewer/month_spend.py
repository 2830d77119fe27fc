"""The repository's review spend for the month, kept beside the batch state: one document
per calendar month (UTC), `_spend-YYYY-MM` (`state/_spend-2026-12.json` on the state branch,
`<dir>/_spend-2026-12.json` with `--state-dir`; a job's name cannot start with `_`), holding
one entry per review or thread answer (`ci-reviewer answer` spends too): a key unique to the
run, its cost, when, and (answers only) its kind.

A review adds its entry with a compare-and-swap that is retried until it lands
(`store_retry.save_until_applied`), so two reviews saving at once both count; the change adds
the key once, so a write that landed and was reported as failed is not counted twice. The
total is the sum of the month's entries as saved: a new month starts at zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from ci_reviewer.batch.state import SpendEntry, StateDocument, StateStore
from ci_reviewer.batch.store_retry import save_until_applied

PREFIX = "_spend-"


def month_of(now: datetime) -> str:
    """`YYYY-MM` of `now` in UTC."""
    return f"{now.astimezone(timezone.utc):%Y-%m}"


def document_name(month: str) -> str:
    return f"{PREFIX}{month}"


Kind = Literal["review", "answer"]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@dataclass(frozen=True)
class MonthTotal:
    """The month's spend so far (reviews and thread answers), this run's included; this
    run's cost is None when the total was only read (a re-run that reviewed nothing)."""

    month: str
    usd: float
    reviews: int
    this_review: float | None
    answers: int = 0
    this_kind: Kind = "review"

    def line(self) -> str:
        """One sentence for the summary (to the cent's hundredth, as the summary's cost:
        a review often costs cents)."""
        over = _count(self.reviews, "review")
        if self.answers:
            over += f" and {_count(self.answers, 'answer')}"
        this = (
            "" if self.this_review is None else f" (this {self.this_kind} ${self.this_review:.4f})"
        )
        return f"This month: ${self.usd:.4f} over {over}{this}"


def _total(month: str, spend: tuple[SpendEntry, ...], this: float | None, kind: Kind) -> MonthTotal:
    answers = sum(1 for e in spend if e.kind == "answer")
    usd = sum(e.cost_usd for e in spend)
    return MonthTotal(month, usd, len(spend) - answers, this, answers, kind)


@dataclass(frozen=True)
class SpendBook:
    """Where a review adds its cost: a state store, the clock, and whether the store is
    there at all (`present`: the state branch exists; a directory always is)."""

    store: StateStore
    now: Callable[[], datetime]
    present: Callable[[], bool] = lambda: True

    def read(self) -> MonthTotal | None:
        """The month's total so far, adding nothing; None when there is no state."""
        if not self.present():
            return None
        month = month_of(self.now())
        loaded = self.store.load(document_name(month))
        return _total(month, loaded.document.spend, None, "review")

    def add(self, key: str, cost_usd: float, kind: Kind = "review") -> MonthTotal | None:
        """Add one review's (or answer's) cost to its month; the month's total, or None
        when there is no state to keep it in. A store's failure is raised
        (`CIReviewerError`)."""
        if not self.present():
            return None
        now = self.now()
        month = month_of(now)
        entry = SpendEntry(key=key, cost_usd=cost_usd, at=now, kind=kind)

        def added(document: StateDocument) -> StateDocument:
            if any(e.key == key for e in document.spend):
                return document
            spend = (*document.spend, entry)
            return document.model_copy(update={"spend": spend, "updated_at": now})

        saved = save_until_applied(self.store, document_name(month), added)
        return _total(month, saved.document.spend, cost_usd, kind)
