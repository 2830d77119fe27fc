"""Findings fixed since the last review, and their threads resolved.

A finding an earlier run posted inline is "fixed" when this run reviewed its file again
(to the end: not cut short by a budget) and no longer found it (same fingerprint). Its
review thread is resolved only when the product started it and nobody else wrote in it: a
thread someone replied to is a conversation, left for people to close.

"Started by the product": the thread's first comment is a review comment, read over REST,
that carries our fingerprint marker and was written by the account that wrote the sticky
summary (this workflow's token). The accounts are compared over REST because GraphQL names
a bot without the `[bot]` REST gives it; GraphQL is compared with itself for the replies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ci_reviewer.github.client import github_errors
from ci_reviewer.github.markers import fingerprints_in
from ci_reviewer.github.review_threads import (
    ReviewThread,
    ThreadsRefused,
    resolve_thread,
    review_threads,
)

if TYPE_CHECKING:
    from github.PullRequest import PullRequest


@dataclass(frozen=True)
class FixedFinding:
    title: str  # the comment's headline: severity, category and title
    path: str
    url: str  # the inline comment, on GitHub
    resolved: bool  # False: left open, someone replied in its thread


@dataclass(frozen=True)
class FixedReport:
    fixed: tuple[FixedFinding, ...] = ()
    note: str | None = None  # why threads could not be resolved


@dataclass(frozen=True)
class _Ours:
    """An inline comment the product posted: its fingerprint and headline."""

    fingerprint: str
    title: str


def settle_fixed(
    pull: PullRequest,
    full_name: str,
    product_login: str,
    reviewed_paths: Iterable[str],
    found: Iterable[str],
) -> FixedReport:
    """Resolve the threads of findings fixed since the last review (see the module)."""
    reviewed, still_found = set(reviewed_paths), set(found)
    if not reviewed or not product_login:
        return FixedReport()
    ours = _our_comments(pull, product_login)
    if not ours:
        return FixedReport()
    try:
        threads = review_threads(pull, full_name)
        fixed = []
        for thread, comment in _fixed_threads(threads, ours, reviewed, still_found):
            resolved = not thread.replied and resolve_thread(pull, thread.id)
            url = thread.first.url if thread.first else ""
            fixed.append(FixedFinding(comment.title, thread.path, url, resolved))
    except ThreadsRefused as refused:
        return FixedReport(note=f"no review thread resolved: {refused} (read-only token?)")
    return FixedReport(tuple(fixed))


def _fixed_threads(
    threads: Iterable[ReviewThread], ours: dict[int, _Ours], reviewed: set[str], found: set[str]
) -> list[tuple[ReviewThread, _Ours]]:
    fixed = []
    for thread in threads:
        first = thread.first
        comment = ours.get(first.database_id) if first and first.database_id else None
        if comment is None or thread.is_resolved or thread.path not in reviewed:
            continue
        if comment.fingerprint not in found:
            fixed.append((thread, comment))
    return fixed


def _our_comments(pull: PullRequest, product_login: str) -> dict[int, _Ours]:
    """REST id -> fingerprint and headline of each inline comment the product wrote."""
    ours: dict[int, _Ours] = {}
    with github_errors(f"reading the review comments of pull request #{pull.number}"):
        for comment in pull.get_review_comments():
            if getattr(comment.user, "login", None) != product_login:
                continue
            fingerprints = fingerprints_in(comment.body)
            # Whether it opened its thread is the thread's to say (its first comment).
            if len(fingerprints) == 1:
                ours[comment.id] = _Ours(fingerprints.pop(), _headline(comment.body))
    return ours


def _headline(body: str) -> str:
    first = (body or "").strip().splitlines()[0] if (body or "").strip() else ""
    return first.strip().strip("*").strip()


def fixed_lines(fixed: Iterable[FixedFinding]) -> list[str]:
    """The summary's "fixed since the last review" section ([] when nothing was fixed)."""
    items = list(fixed)
    if not items:
        return []
    lines = ["", f"**Fixed since the last review ({len(items)}):**"]
    for item in items:
        left = "" if item.resolved else " (thread left open: someone replied)"
        title = item.title.replace("[", "\\[").replace("]", "\\]")  # keep the link whole
        lines.append(f"- [{title}]({item.url}) in `{item.path}`{left}")
    return lines
