"""Adding a run's cost to the month's spend record (`ci_reviewer.month_spend`) for the review
and for `answer`, which both spend: the book on the state branch or in a directory, and what
a failure leaves the run to say. Recording never fails the run: a failure is one note (and a
`::warning::` for a fault), and no month.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ci_reviewer.errors import CIReviewerError
from ci_reviewer.github.actions import workflow_command
from ci_reviewer.github.client import github_errors

if TYPE_CHECKING:
    from github.Repository import Repository

    from ci_reviewer.month_spend import Kind, MonthTotal, SpendBook

# A token that may not write contents: the review workflow `init` writes keeps `contents:
# read`, so this is the setup as chosen, met on every run: one short line, no annotation.
FORBIDDEN_NOTE = (
    "the month's review spend was not recorded: this workflow's token may not write the "
    "state branch (give the {job} job `contents: write`, or set `review.month_spend: false`)"
)


@dataclass(frozen=True)
class Recorded:
    total: MonthTotal | None = None
    note: str = ""
    command: str = ""  # a `::warning::` workflow command, for a fault


def spend_book(repo: Repository, where: Path | str, now: Callable[[], datetime]) -> SpendBook:
    """The month's book: in directory `where`, or on the state branch when it exists."""
    from ci_reviewer.month_spend import SpendBook

    if isinstance(where, Path):
        from ci_reviewer.batch.store_dir import DirectoryStore

        return SpendBook(DirectoryStore(where), now)
    from ci_reviewer.batch.store_github import GitHubStore

    store = GitHubStore(repo)
    return SpendBook(store, now, present=store.branch_exists)


def record(  # noqa: PLR0917 - what one entry is and where it goes
    repo: Repository,
    where: Path | str,
    now: Callable[[], datetime],
    key: str,
    cost_usd: float,
    kind: Kind,
) -> Recorded:
    """Add one run's cost to its month."""
    try:
        with github_errors("record the month's review spend"):
            return Recorded(spend_book(repo, where, now).add(key, cost_usd, kind))
    except CIReviewerError as error:
        return not_recorded(error, where, "review" if kind == "review" else "answer")


def read(repo: Repository, where: Path | str, now: Callable[[], datetime]) -> MonthTotal | None:
    """The month's total, adding nothing; None when there is no state or it cannot be
    read (a re-run's summary then shows no month rather than failing)."""
    try:
        with github_errors("read the month's review spend"):
            return spend_book(repo, where, now).read()
    except CIReviewerError:
        return None


def not_recorded(error: CIReviewerError, where: Path | str, job: str) -> Recorded:
    """Why the month's spend was not recorded; a warning annotation only for a fault."""
    from ci_reviewer.batch.store_github import StateWriteForbidden

    if isinstance(error, StateWriteForbidden):
        return Recorded(note=FORBIDDEN_NOTE.format(job=job))
    keep = (
        "pass a writable --state-dir"
        if isinstance(where, Path)
        else f"let the {job}'s workflow write the state branch: `contents: write`"
    )
    note = (
        f"the month's review spend was not recorded ({error.message}); this {job} is "
        f"not affected (to keep it, {keep}; to stop trying, set `review.month_spend: "
        "false`)"
    )
    return Recorded(note=note, command=workflow_command("warning", note, title="ci-reviewer"))


def answer_recorder(
    enabled: bool, now: Callable[[], datetime]
) -> Callable[[Repository, str, float], tuple[str, str]] | None:
    """What `answer` calls once the model answered (`answer_flow.SpendRecorder`): adds the
    answer's cost to the month on the state branch, when it exists; (the line to print: the
    month's total or why it was not recorded, a `::warning::` or ""). None: not kept."""
    if not enabled:
        return None

    def recorder(repo: Repository, key: str, cost_usd: float) -> tuple[str, str]:
        recorded = record(repo, "branch", now, key, cost_usd, "answer")
        line = recorded.total.line() if recorded.total is not None else recorded.note
        return line, recorded.command

    return recorder
