"""What a run reviews: every file, the files changed since the SHA the summary recorded, or
nothing new. The incremental review asks GitHub's compare API how the recorded SHA relates to
the head; a force-push can leave it behind on another history, or drop it altogether, and
either way the run reviews everything again and says why.

GitHub answers both with 404, worded differently ("No common ancestor between A and B." /
"Not Found"; PyGithub raises UnknownObjectException only for the second). The run decides on
the status, and one follow-up lookup of the recorded commit tells the two apart for the note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ci_reviewer.github.client import github_errors

if TYPE_CHECKING:
    from github.Repository import Repository

    from ci_reviewer.github.summary import ReviewedState

# GitHub's compare lists at most 300 files: beyond that, review everything.
COMPARE_FILE_LIMIT = 300
# GET /commits/{sha} of a commit GitHub does not have: 422 "No commit found for SHA" (404 for
# a repository it cannot see).
_COMMIT_MISSING = (404, 422)


@dataclass(frozen=True)
class Scope:
    """What this run reviews: every file (`since` None), the files changed since `since`,
    or nothing new (`unchanged`)."""

    since: str | None = None
    paths: frozenset[str] | None = None
    unchanged: bool = False
    note: str = ""


def decide_scope(
    repo: Repository, previous: ReviewedState | None, head_sha: str, *, full: bool
) -> Scope:
    """Incremental when the reviewed SHA is an ancestor of the head; a force-push (not an
    ancestor, on an unrelated history, or gone) falls back to a full review; `full` always
    reviews everything."""
    if previous is None:
        return Scope(note="first review of this pull request")
    if previous.head_sha == head_sha:
        return Scope(unchanged=not full, note="full review requested (--full)" if full else "")
    if full:
        return Scope(note="full review requested (--full)")
    return _since(repo, previous.head_sha, head_sha)


def _since(repo: Repository, old: str, head_sha: str) -> Scope:
    """The files changed since `old` when it is an ancestor of the head, else everything."""
    short = old[:12]
    compared = _compare(repo, old, head_sha)
    if compared is None:
        return Scope(note=f"full review: {_why_not_comparable(repo, old)}")
    status, files = compared
    if status != "ahead":
        return Scope(note=f"full review: {short} is no longer an ancestor of the head (force-push)")
    if len(files) >= COMPARE_FILE_LIMIT:
        return Scope(
            note=f"full review: GitHub lists only {COMPARE_FILE_LIMIT} of the files changed "
            f"since {short}"
        )
    return Scope(since=old, paths=frozenset(files), note=f"changes since {short}")


def _compare(repo: Repository, old: str, head: str) -> tuple[str, list[str]] | None:
    """The comparison's status and files, or None when GitHub answers 404 (no common
    ancestor, or `old` no longer exists)."""
    import github

    with github_errors("comparing the reviewed commit with the head"):
        try:
            comparison = repo.compare(old, head)
            return comparison.status, [changed.filename for changed in comparison.files]
        except github.GithubException as error:
            if error.status != 404:
                raise
    return None


def _why_not_comparable(repo: Repository, old: str) -> str:
    """Why GitHub could not compare `old` with the head, from whether `old` still exists."""
    import github

    short = old[:12]
    with github_errors(f"looking up the reviewed commit {short}"):
        try:
            repo.get_commit(old).html_url  # noqa: B018 - the lookup is the point
        except github.GithubException as error:
            if error.status not in _COMMIT_MISSING:
                raise
            return f"{short} no longer exists on GitHub (force-push)"
    return f"{short} shares no history with the head (force-push of an unrelated history)"
