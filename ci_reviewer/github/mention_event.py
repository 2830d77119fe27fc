"""The comment that may mention the reviewer, read from a `pull_request_review_comment` (a
reply under an inline comment) or `issue_comment` (a comment on the pull request) payload."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ci_reviewer.errors import InputError

MENTION_EVENTS = ("pull_request_review_comment", "issue_comment")


@dataclass(frozen=True)
class MentionEvent:
    event: str
    action: str
    repository: str
    number: int  # the pull request's
    comment_id: int
    body: str
    author: str
    author_is_bot: bool
    in_reply_to: int | None = None  # review comments: the thread's first comment
    diff_hunk: str = ""
    path: str = ""
    on_pull_request: bool = True  # issue_comment: False when the issue is no pull request
    title: str = ""  # the pull request's (an issue_comment's issue is the pull request)

    @property
    def in_thread(self) -> bool:
        return self.event == "pull_request_review_comment"

    @property
    def thread_root(self) -> int:
        return self.in_reply_to or self.comment_id

    def mentions(self, handle: str) -> bool:
        """Whether the body names `handle` as a word (`@ci-reviewer`, not `@ci-reviewer-x`)."""
        pattern = rf"(?<![\w@-]){re.escape(handle)}(?![\w-])"
        return re.search(pattern, self.body, flags=re.IGNORECASE) is not None


def mention_event(event: str | None, payload: Mapping[str, Any]) -> MentionEvent:
    """The comment of a payload; InputError (exit 2) for any other event."""
    if event not in MENTION_EVENTS:
        raise InputError(
            f"`answer` runs on {' or '.join(MENTION_EVENTS)} events, not {event!r}",
            hint="trigger the workflow on issue_comment and pull_request_review_comment "
            "(`ci-reviewer init` writes it)",
        )
    comment = payload.get("comment")
    repository = payload.get("repository")
    target = payload.get("pull_request" if event == "pull_request_review_comment" else "issue")
    if not all(isinstance(x, Mapping) for x in (comment, repository, target)):
        raise InputError(
            f"the {event} payload has no comment, repository or pull request/issue",
            hint="run `answer` on the payload GitHub gives the workflow (GITHUB_EVENT_PATH)",
        )
    assert isinstance(comment, Mapping) and isinstance(repository, Mapping)  # for mypy
    assert isinstance(target, Mapping)
    found = comment.get("user")
    user: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    reply_to = comment.get("in_reply_to_id")
    return MentionEvent(
        event=event,
        action=str(payload.get("action") or ""),
        repository=str(repository.get("full_name") or ""),
        number=int(target.get("number") or 0),
        comment_id=int(comment.get("id") or 0),
        body=str(comment.get("body") or ""),
        author=str(user.get("login") or ""),
        author_is_bot=user.get("type") == "Bot",
        in_reply_to=reply_to if isinstance(reply_to, int) else None,
        diff_hunk=str(comment.get("diff_hunk") or ""),
        path=str(comment.get("path") or ""),
        on_pull_request=event == "pull_request_review_comment" or "pull_request" in target,
        title=str(target.get("title") or ""),
    )
