"""A pull request's diff without GitHub: what `review --dry-run` reviews when it has no token
(DESIGN.md 9: a dry run needs no credentials and no network).

The event payload names the pull request's base and head commits, its title, body and state;
the checkout holds the commits (actions/checkout with fetch-depth: 0, or the base fetched).
`git diff base...head` is the diff GitHub's pull-request files show: both start where the head
forked from the base. A pull request the payload does not describe (`--pr N` for another one)
cannot be read without GitHub: exit 2 saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ci_reviewer.errors import UsageError
from ci_reviewer.github.actions import ActionsEnv, load_event
from ci_reviewer.head_objects import checkout_head
from ci_reviewer.review.diff import ReviewSource, diff_from_git
from ci_reviewer.review.head_tree import CommitTree

OFFLINE_NOTE = (
    "no GITHUB_TOKEN: the pull request is read from the event payload and its diff from the "
    "checkout's git history (nothing asked of GitHub)"
)


def payload_pull(env: ActionsEnv, number: int) -> Mapping[str, Any]:
    """The payload's `pull_request` when it is PR `number` and names both commits."""
    payload = load_event(env.event_path) if env.event_path else {}
    pull = payload.get("pull_request")
    if not isinstance(pull, Mapping):
        pull = {}
    if pull.get("number") == number and _sha(pull, "base") and _sha(pull, "head"):
        return pull
    raise UsageError(
        f"review --dry-run without GITHUB_TOKEN reads pull request #{number} from the event "
        "payload, and the payload does not give its base and head commits",
        hint="set GITHUB_TOKEN to read it from GitHub (the dry run only reads), or review "
        "the checkout with --local --base REF",
    )


def payload_source(pull: Mapping[str, Any], number: int, workdir: Path) -> ReviewSource:
    """The diff of PR `number` (its payload `pull`) from its commits and the checkout; a
    closed PR is not reviewed (`not_open`), as the real run skips it."""
    base, head = _sha(pull, "base"), _sha(pull, "head")
    title, body = str(pull.get("title") or ""), str(pull.get("body") or "")
    if pull.get("state", "open") != "open" or pull.get("merged"):
        reason = "merged" if pull.get("merged") else "closed"
        return ReviewSource((), base, head, title, not_open=reason)
    source = diff_from_git(workdir, base, head)
    head_files = None
    if checkout_head(workdir) != source.head_sha:
        note = (
            f"the checkout's HEAD is not the head of pull request #{number} ({head[:12]}): "
            "the review reads the head commit's files from git objects"
        )
        head_files = CommitTree(workdir, source.head_sha, note)
    return replace(source, title=title, body=body, head_files=head_files)


def _sha(pull: Mapping[str, Any], side: str) -> str:
    found = pull.get(side)
    sha = found.get("sha") if isinstance(found, Mapping) else None
    return str(sha) if sha else ""
