"""What `answer --dry-run` tells the model when it may not ask GitHub (no GITHUB_TOKEN): the
mention built from the event payload alone, and what only GitHub can tell, said as left to the
real run.

The contract (DESIGN.md 9): a dry run needs no credentials and no network. The payload holds
the comment (body, author, path, diff hunk, the comment it replies to) and the pull request's
title; it does not hold the thread's first comment (the finding a reply asks about), the
author's permission, or whether the comment was answered before. The request carries
FINDING_PLACEHOLDER where the finding would be, so nobody mistakes it for the request sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ci_reviewer.github.answer_flow import AnswerOutcome, masked, why_not_answered
from ci_reviewer.github.mention_event import MentionEvent
from ci_reviewer.review.thread_answer import Mention

FINDING_PLACEHOLDER = (
    "[ci-reviewer dry run placeholder: the thread's first comment (the finding this reply "
    "asks about) is read from GitHub by the real run; it is sent here only when it is one "
    "of ci-reviewer's own findings]"
)
UNCHECKED_NOTE = "checked by the real run"


@dataclass(frozen=True)
class OfflineMention:
    """The mention as the payload gives it, and what the real run checks on GitHub first."""

    mention: Mention
    unchecked: tuple[str, ...]


def offline_mention(
    event: MentionEvent, handle: str, redact: Callable[[str], str]
) -> OfflineMention | AnswerOutcome:
    """The mention from the payload, or why it gets no answer (decided from the payload as
    the real run decides it before reading GitHub)."""
    skipped = why_not_answered(event, handle)
    if skipped:
        return AnswerOutcome(False, (skipped,))
    unchecked = [
        f"whether @{event.author} has write access to {event.repository} (only write access "
        "gets an answer)",
        f"whether comment {event.comment_id} was answered before",
    ]
    finding = ""
    if event.in_thread and event.in_reply_to is not None:
        finding = FINDING_PLACEHOLDER
        unchecked.append(
            f"the thread's first comment ({event.in_reply_to}): the finding the model is "
            "shown, if it is ci-reviewer's (the request carries a placeholder)"
        )
    path = event.path if event.in_thread else ""
    hunk = event.diff_hunk if event.in_thread else ""
    mention = Mention(event.body, event.author, finding, path, hunk, event.title)
    return OfflineMention(masked(mention, redact), tuple(unchecked))
