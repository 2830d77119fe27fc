"""One pull-request review per run: inline comments on the diff, the rest in its body.

A comment sits only on a line GitHub accepts (line/side, start_line/start_side for a range
inside one hunk); a finding elsewhere goes into the review body. Each comment carries a
hidden fingerprint, and a finding whose fingerprint an earlier run already posted is left
out. If GitHub still answers 422, the comments it cannot place are found by checking each
against GitHub's own diff of the PR, moved into the body, and the rest posted: a review is
never lost. Nor is it posted twice: its body carries a marker unique to this posting, and a
review GitHub may have created without saying so is looked for by that marker before it is
sent again: after a 5xx or a dropped connection, and after a 422 too, for GitHub has been
seen to refuse a review's comments with 422 yet keep its body (max-sixty/tend#123). Such a
kept review is completed (every finding in its body) rather than joined by a second one.

What to change after a 422 is decided on what GitHub's diff can hold and on what was tried,
never on the wording of its reason: comments the diff cannot hold move to the body; when all
fit, a REQUEST_CHANGES is tried as a COMMENT with its comments (GitHub refuses the event on
one's own pull request); refused still, every comment moves into the body, under the event
asked for, and last a REQUEST_CHANGES without comments becomes a COMMENT.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from ci_reviewer.errors import GitHubAPIError
from ci_reviewer.github.client import describe, github_errors, send_again, write_once
from ci_reviewer.github.markers import fingerprint_marker, fingerprints_in
from ci_reviewer.github.summary import MAX_BODY, TrustedAuthors
from ci_reviewer.review.diff import ChangedFile, ReviewSource
from ci_reviewer.review.findings import Finding

if TYPE_CHECKING:
    from github.Commit import Commit
    from github.PullRequest import PullRequest, ReviewComment
    from github.PullRequestReview import PullRequestReview

Side = Literal["LEFT", "RIGHT"]
T = TypeVar("T")
Redact = Callable[[str], str]
_ICONS = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵", "info": "⚪"}


@dataclass(frozen=True)
class InlineComment:
    """A comment anchored on the diff, as the reviews API takes it."""

    finding: Finding
    line: int
    side: Side = "RIGHT"
    start_line: int | None = None
    start_side: Side | None = None

    @property
    def path(self) -> str:
        return self.finding.path

    @property
    def covers_finding(self) -> bool:
        """Whether the anchored lines are exactly the finding's (a suggestion replaces them)."""
        first = self.start_line if self.start_line is not None else self.line
        return self.side == "RIGHT" and (first, self.line) == (
            self.finding.line,
            self.finding.end_line or self.finding.line,
        )

    def payload(self, redact: Redact) -> dict[str, Any]:
        comment: dict[str, Any] = {
            "path": self.path,
            "body": redact(comment_body(self.finding, suggest=self.covers_finding)),
            "line": self.line,
            "side": self.side,
        }
        if self.start_line is not None:
            comment["start_line"] = self.start_line
            comment["start_side"] = self.start_side or self.side
        return comment


@dataclass(frozen=True)
class ReviewPlan:
    """What this run will post: inline comments, findings for the body, and how many
    findings earlier runs already posted."""

    inline: tuple[InlineComment, ...]
    in_body: tuple[Finding, ...]
    already_posted: int = 0

    @property
    def empty(self) -> bool:
        return not self.inline and not self.in_body


@dataclass(frozen=True)
class PostedReview:
    review_id: int
    html_url: str
    event: str
    inline: int
    moved: tuple[tuple[Finding, str], ...] = ()  # (finding, why GitHub refused it inline)
    kept: bool = False  # GitHub kept the body of a review it refused; completed, not reposted


# -- placement -------------------------------------------------------------------------------
def _position(changed: ChangedFile, line: int, side: Side) -> tuple[int, int] | None:
    """(hunk index, index in hunk) of a commentable line, or None."""
    for hunk_index, hunk in enumerate(changed.hunks):
        for index, diff_line in enumerate(hunk.lines):
            number = diff_line.target_line if side == "RIGHT" else diff_line.source_line
            if number == line and diff_line.kind in (" ", "+" if side == "RIGHT" else "-"):
                return hunk_index, index
    return None


def fits(changed: ChangedFile, comment: InlineComment) -> bool:
    """Whether GitHub can anchor `comment` on this diff: its line(s) on the diff, a range
    inside one hunk, start before end."""
    end = _position(changed, comment.line, comment.side)
    if end is None:
        return False
    if comment.start_line is None:
        return True
    start = _position(changed, comment.start_line, comment.start_side or comment.side)
    return start is not None and start[0] == end[0] and start[1] < end[1]


def place(finding: Finding, changed: ChangedFile | None) -> InlineComment | None:
    """Where the finding can sit in the diff (new-file side), or None for the body. A range
    that leaves its hunk shrinks to the finding's first line, else its last."""
    if changed is None:
        return None
    if finding.side == "LEFT":  # grounded on a removed line: the old side, base numbering
        removed = InlineComment(finding, finding.line, "LEFT")
        return removed if fits(changed, removed) else None
    end = finding.end_line or finding.line
    if finding.end_line and end > finding.line:
        ranged = InlineComment(finding, end, "RIGHT", finding.line, "RIGHT")
        if fits(changed, ranged):
            return ranged
    for line in dict.fromkeys((finding.line, end)):
        single = InlineComment(finding, line)
        if fits(changed, single):
            return single
    return None


def plan_review(findings: Iterable[Finding], source: ReviewSource, posted: set[str]) -> ReviewPlan:
    inline: list[InlineComment] = []
    in_body: list[Finding] = []
    seen = set(posted)
    duplicates = 0
    for finding in findings:
        if finding.fingerprint in seen:
            duplicates += 1
            continue
        seen.add(finding.fingerprint)
        comment = place(finding, source.file(finding.path))
        if comment is None:
            in_body.append(finding)
        else:
            inline.append(comment)
    return ReviewPlan(tuple(inline), tuple(in_body), duplicates)


def posted_fingerprints(pull: PullRequest, trusted: TrustedAuthors) -> set[str]:
    """Fingerprints of findings earlier runs posted on this PR, inline or in review bodies."""
    with github_errors(f"reading the review comments of pull request #{pull.number}"):
        found: set[str] = set()
        for comment in trusted.of(pull.get_review_comments()):
            found |= fingerprints_in(comment.body)
        for review in trusted.of(pull.get_reviews()):
            found |= fingerprints_in(review.body)
    return found


# -- rendering -------------------------------------------------------------------------------
def _fence(text: str) -> str:
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def comment_body(finding: Finding, *, suggest: bool) -> str:
    icon = _ICONS.get(finding.severity, "")
    lines = [f"**{icon} {finding.severity} · {finding.category}: {finding.title}**"]
    if finding.body:
        lines += ["", finding.body]
    if finding.suggestion is not None:
        fence = _fence(finding.suggestion)
        note = finding.suggestion_note
        if note is None and not suggest:
            span = f"{finding.line}-{finding.end_line}" if finding.end_line else finding.line
            note = f"this comment could not be anchored on exactly line(s) {span}"
        if note is None:
            lines += ["", f"{fence}suggestion", finding.suggestion, fence]
        else:
            lines += ["", f"Suggested change not attached: {note}.", "", fence]
            lines += [finding.suggestion, fence]
    lines += ["", fingerprint_marker(finding.fingerprint)]
    return "\n".join(lines)


def review_body(headline: str, plan: ReviewPlan, moved: Sequence[tuple[Finding, str]]) -> str:
    lines = [f"**ci-reviewer**: {headline}"]
    if plan.already_posted:
        lines.append(f"{plan.already_posted} finding(s) already posted earlier are not repeated.")
    if plan.in_body:
        lines += ["", "### Findings outside the diff", ""]
        lines += [_body_item(finding) for finding in plan.in_body]
    if moved:
        lines += ["", "### Findings GitHub would not place inline", ""]
        lines += [f"{_body_item(finding)} ({why})" for finding, why in moved]
    text = "\n".join(lines)
    return text if len(text) <= MAX_BODY else text[: MAX_BODY - 40] + "\n\n… (truncated)"


def _body_item(finding: Finding) -> str:
    where = f"{finding.path}:{finding.line}"
    if finding.end_line:
        where += f"-{finding.end_line}"
    first = finding.body.splitlines()[0] if finding.body else ""
    detail = f": {first}" if first else ""
    icon = _ICONS.get(finding.severity, "")
    return (
        f"- {icon} **{finding.severity}** `{where}` {finding.title}{detail} "
        f"{fingerprint_marker(finding.fingerprint)}"
    )


# -- posting ---------------------------------------------------------------------------------
def post_review(
    pull: PullRequest,
    commit: Commit,
    plan: ReviewPlan,
    *,
    event: str,
    headline: str,
    redact: Redact,
) -> PostedReview:
    """Post `plan` as one review. On 422: a review GitHub kept anyway is completed; else the
    next try changes what GitHub may be refusing (see `_Attempt.after_refusal`). WriteForbidden
    on 403."""
    attempt = _Attempt(event, event, list(plan.inline))
    marker = posting_marker(secrets.token_hex(8))
    for number in range(4):
        body = f"{redact(review_body(headline, plan, attempt.moved))}\n\n{marker}"
        comments = [comment.payload(redact) for comment in attempt.inline]
        outcome = _create(pull, commit, body, attempt.event, comments, marker=marker)
        if not isinstance(outcome, str):
            inline, moved = len(attempt.inline), tuple(attempt.moved)
            return PostedReview(outcome.id, outcome.html_url, attempt.event, inline, moved)
        kept = _kept(pull, marker)
        if kept is not None:
            attempt.move(attempt.inline, outcome)
            body = f"{redact(review_body(headline, plan, attempt.moved))}\n\n{marker}"
            return _complete(kept, body, attempt.event, tuple(attempt.moved))
        first = number == 0 and attempt.inline
        refused = _refused(pull, commit.sha, attempt.inline) if first else []
        if number == 3 or not attempt.after_refusal(refused, outcome):
            raise GitHubAPIError(f"posting the review: {outcome}")
    raise AssertionError("unreachable: the last attempt returns or raises")


@dataclass
class _Attempt:
    """What the next try of one posting sends: its event and inline comments, and the
    findings moved into the body (with GitHub's reason)."""

    asked: str
    event: str
    inline: list[InlineComment]
    moved: list[tuple[Finding, str]] = field(default_factory=list)
    probed: bool = False  # tried COMMENT instead of REQUEST_CHANGES, comments kept

    def move(self, comments: Sequence[InlineComment], reason: str) -> None:
        self.moved += [(comment.finding, f"GitHub: {reason}") for comment in comments]
        self.inline = [comment for comment in self.inline if comment not in comments]

    def after_refusal(self, refused: Sequence[InlineComment], reason: str) -> bool:
        """Change what GitHub may be refusing, deciding on GitHub's diff and on what was
        tried, not on the wording of `reason`; False when nothing is left to change."""
        if refused:  # comments GitHub's own diff of the PR cannot hold
            self.move(refused, reason)
        elif self.inline and self.event == "REQUEST_CHANGES" and not self.probed:
            # Every comment fits: is it the event GitHub refuses (on one's own PR)?
            self.event, self.probed = "COMMENT", True
        elif self.inline:  # refused for the comments all the same: into the body
            self.move(list(self.inline), reason)
            self.event = self.asked
        elif self.event == "REQUEST_CHANGES":
            self.event = "COMMENT"
        else:
            return False
        return True


def _kept(pull: PullRequest, marker: str) -> PullRequestReview | None:
    """The review of this posting, if GitHub kept one although it answered 422."""
    with github_errors("looking for a review GitHub kept although it refused it"):
        return _posted(pull, marker)


def _posted(pull: PullRequest, marker: str) -> PullRequestReview | None:
    return next((r for r in pull.get_reviews() if marker in (r.body or "")), None)


def _complete(
    kept: PullRequestReview, body: str, event: str, moved: tuple[tuple[Finding, str], ...]
) -> PostedReview:
    """The kept review, its body now holding every finding (GitHub cannot add inline
    comments to a submitted review, but its body can be edited)."""
    action = "completing the review GitHub kept"

    def send() -> PullRequestReview:
        kept.edit(body)
        return kept

    write(action, lambda: write_once(action, kept, send, send_again))
    return PostedReview(kept.id, kept.html_url, event, 0, moved, kept=True)


def _create(
    pull: PullRequest,
    commit: Commit,
    body: str,
    event: str,
    comments: list[dict[str, Any]],
    *,
    marker: str,
) -> PullRequestReview | str:
    """The review, or GitHub's reason when it answers 422. `marker`, in `body`, finds the
    review again if GitHub created it without saying so."""
    import github

    def send() -> PullRequestReview:
        return pull.create_review(
            commit=commit, body=body, event=event, comments=cast("list[ReviewComment]", comments)
        )

    with github_errors("posting the review"):
        try:
            return write_once("posting the review", pull, send, lambda: _posted(pull, marker))
        except github.GithubException as error:
            if error.status == 422:
                return _reason(error)
            if error.status == 403 and not isinstance(error, github.RateLimitExceededException):
                raise WriteForbidden("posting the review", describe(error)) from None
            raise


def posting_marker(token: str) -> str:
    """The hidden tag of one posting: how a review GitHub created unannounced is found."""
    return f"<!-- ci-reviewer:posting:{token} -->"


def _reason(error: Any) -> str:
    """GitHub's message with its `errors` details (where it says what it refused)."""
    data = error.data if isinstance(error.data, dict) else {}
    details = [
        item.get("message") or item.get("code") if isinstance(item, dict) else str(item)
        for item in data.get("errors") or []
    ]
    said = "; ".join(str(item) for item in details if item)
    return f"{describe(error)} ({said})" if said else describe(error)


def _refused(pull: PullRequest, head_sha: str, inline: list[InlineComment]) -> list[InlineComment]:
    """The comments that GitHub's own diff of the PR cannot hold."""
    from ci_reviewer.review.diff import diff_from_pr_files

    with github_errors(f"listing the files of pull request #{pull.number}"):
        files = list(pull.get_files())
    actual = diff_from_pr_files(files, None, pull.base.sha, head_sha)
    return [
        comment
        for comment in inline
        if (changed := actual.file(comment.path)) is None or not fits(changed, comment)
    ]


def without_inline(plan: ReviewPlan) -> ReviewPlan:
    """The plan with every finding in the body (where inline comments cannot be written)."""
    findings = tuple(comment.finding for comment in plan.inline)
    return replace(plan, inline=(), in_body=findings + plan.in_body)


class WriteForbidden(Exception):
    """GitHub answered 403 to a write: the token is read-only (a fork's pull request, or a
    workflow without that permission). The caller falls back to the job summary."""

    def __init__(self, action: str, detail: str) -> None:
        super().__init__(f"{action}: {detail}")
        self.action = action
        self.detail = detail


def write(action: str, func: Callable[[], T]) -> T:
    """`func()` (a GitHub write); WriteForbidden on 403, GitHubAPIError on other failures."""
    import github

    with github_errors(action):
        try:
            return func()
        except github.GithubException as error:
            if error.status == 403 and not isinstance(error, github.RateLimitExceededException):
                raise WriteForbidden(action, describe(error)) from None
            raise
