"""The sticky summary comment: one per PR, found again by its hidden marker and edited in
place, recording (in a machine-readable marker) the head SHA it reviewed.

Markers are read only from authors we trust (a bot such as github-actions[bot], or the
account of this run's token): anyone can paste our markers into a comment on a public PR,
and must not be able to claim a SHA was reviewed or suppress a finding.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ci_reviewer.github.fixed_findings import fixed_lines
from ci_reviewer.review.findings import SEVERITIES, is_blocking, severity_rank

if TYPE_CHECKING:
    from github.IssueComment import IssueComment
    from github.PullRequest import PullRequest

    from ci_reviewer.github.fixed_findings import FixedFinding

SUMMARY_MARKER = "<!-- ci-reviewer:summary -->"
_STATUS_OPEN, _STATUS_CLOSE = "<!-- ci-reviewer:status -->", "<!-- /ci-reviewer:status -->"
# Around the month's spend line, so a re-run that reviews nothing can replace it alone.
_MONTH_OPEN, _MONTH_CLOSE = "<!-- ci-reviewer:month -->", "<!-- /ci-reviewer:month -->"
_FACTS_START = "files reviewed: "
_STATE = re.compile(r"<!-- ci-reviewer:state (\{.*?\}) -->", re.DOTALL)
_ICONS = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵", "info": "⚪"}
# GitHub refuses comment bodies over 65,536 characters.
MAX_BODY = 65_000


# -- markers ---------------------------------------------------------------------------------
# Accounts with write access to the repository; a fork's PR author is CONTRIBUTOR or less.
_TRUSTED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})


@dataclass(frozen=True)
class TrustedAuthors:
    """Whose comments may carry markers we act on: bots (github-actions[bot], an App) and
    accounts with write access (a run with a personal token)."""

    logins: frozenset[str] = frozenset()

    def trusts(self, item: Any) -> bool:
        user = getattr(item, "user", None)
        if user is None:
            return False
        if getattr(user, "type", None) == "Bot" or getattr(user, "login", None) in self.logins:
            return True
        return getattr(item, "author_association", None) in _TRUSTED_ASSOCIATIONS

    def of(self, items: Iterable[Any]) -> list[Any]:
        return [item for item in items if self.trusts(item)]


# -- what the summary remembers ----------------------------------------------------------
@dataclass(frozen=True)
class ReviewedState:
    """The machine-readable part of the summary: the head SHA reviewed and the findings on
    the PR at that SHA (path, severity), so an incremental run can carry them forward."""

    head_sha: str
    findings: tuple[tuple[str, str], ...] = ()
    review_url: str = ""
    cost_usd: float | None = None

    def blocking(self, fail_on: str) -> bool:
        return any(is_blocking(severity, fail_on) for _, severity in self.findings)

    @property
    def highest_severity(self) -> str | None:
        ranks = [severity_rank(severity) for _, severity in self.findings]
        return SEVERITIES[max(ranks)] if ranks and max(ranks) >= 0 else None

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(reversed(SEVERITIES), 0)
        for _, severity in self.findings:
            counts[severity] = counts.get(severity, 0) + 1
        return counts

    def marker(self) -> str:
        document = {
            "head_sha": self.head_sha,
            "findings": [list(item) for item in self.findings],
            "review_url": self.review_url,
            "cost_usd": self.cost_usd,
        }
        # `--` may not appear inside an HTML comment; JSON can always escape it.
        text = json.dumps(document, separators=(",", ":")).replace("--", "-\\u002d")
        return f"<!-- ci-reviewer:state {text} -->"

    @classmethod
    def parse(cls, text: str | None) -> ReviewedState | None:
        found = _STATE.search(text or "")
        if found is None:
            return None
        try:
            value = json.loads(found.group(1))
            findings = tuple((str(p), str(s)) for p, s in value.get("findings") or [])
            cost = value.get("cost_usd")
            return cls(
                head_sha=str(value["head_sha"]),
                findings=findings,
                review_url=str(value.get("review_url") or ""),
                cost_usd=float(cost) if cost is not None else None,
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            return None


# -- rendering -------------------------------------------------------------------------------
@dataclass(frozen=True)
class SummaryView:
    """Everything the summary shows; `state` is None when no review has completed yet."""

    status: str  # one line: what this run did
    state: ReviewedState | None
    fail_on: str
    files_reviewed: Sequence[str] = ()
    skipped: Sequence[tuple[str, str]] = ()
    # (path, reason) of the changed files the secret policy kept from the model.
    withheld: Sequence[tuple[str, str]] = ()
    cost_usd: float | None = None
    duration_s: float | None = None
    model: str = ""
    notes: Sequence[str] = field(default=())
    # Findings of earlier runs this run no longer found, with their threads.
    fixed: Sequence[FixedFinding] = ()
    # (where, why) of the findings not published: the code they quote is not in the file.
    dropped: Sequence[tuple[str, str]] = ()
    # The month's review spend for the repository, when the state keeps it (one sentence).
    month: str = ""


def render_summary(view: SummaryView) -> str:
    lines = [SUMMARY_MARKER, "## ci-reviewer", "", _status_block(view.status), ""]
    if view.state is not None:
        lines += _counts_table(view.state, view.fail_on)
        lines += [f"Reviewed head: `{view.state.head_sha[:12]}`", ""]
    lines.append(_facts_line(view))
    if view.month:
        lines += ["", _month_block(view.month)]
    lines += fixed_lines(view.fixed)
    if view.dropped:
        lines += ["", *_dropped_lines(view.dropped)]
    if view.withheld:
        lines += ["", "**Not sent to the model (secret policy):**"]
        lines += [f"- `{path}`: {reason}" for path, reason in view.withheld]
    if view.skipped:
        lines += ["", "<details><summary>Skipped files</summary>", ""]
        lines += [f"- `{path}`: {reason}" for path, reason in view.skipped]
        lines += ["", "</details>"]
    if view.notes:
        lines += ["", *(f"> {note}" for note in view.notes)]
    if view.state is not None:
        lines += ["", view.state.marker()]
    return _bounded("\n".join(lines))


def refresh_month(body: str, month: str) -> str:
    """The same summary with the month's spend line replaced by `month` (a re-run with
    nothing new: the month moved on since). A summary written before the line had its
    markers, or without a month, gets it under its facts line."""
    start, end = body.find(_MONTH_OPEN), body.find(_MONTH_CLOSE)
    if start != -1 and end > start:
        return body[:start] + _month_block(month) + body[end + len(_MONTH_CLOSE) :]
    lines = body.split("\n")
    facts = next((i for i, line in enumerate(lines) if line.startswith(_FACTS_START)), None)
    if facts is None:
        return body
    after = lines[facts + 1 :]
    if len(after) > 1 and after[0] == "" and after[1].startswith("This month: "):
        after = after[2:]  # an unmarked month line of an earlier version
    return "\n".join([*lines[: facts + 1], "", _month_block(month), *after])


def _month_block(month: str) -> str:
    return f"{_MONTH_OPEN}{month}{_MONTH_CLOSE}"


def _status_block(status: str) -> str:
    return f"{_STATUS_OPEN}**{status}**{_STATUS_CLOSE}"


def _counts_table(state: ReviewedState, fail_on: str) -> list[str]:
    verdict = "blocking" if state.blocking(fail_on) else "not blocking"
    lines = [f"{len(state.findings)} finding(s) on this PR, {verdict} at fail-on `{fail_on}`:"]
    lines += ["", "| severity | findings |", "|---|---|"]
    for severity, count in state.counts().items():
        lines.append(f"| {_ICONS.get(severity, '')} {severity} | {count} |")
    return [*lines, ""]


def _dropped_lines(dropped: Sequence[tuple[str, str]]) -> list[str]:
    count = len(dropped)
    lines = [
        f"<details><summary>{count} finding{'s' if count != 1 else ''} dropped: the code "
        f"{'they quote is' if count != 1 else 'it quotes is'} not in the file</summary>",
        "",
    ]
    lines += [f"- `{where}`: {why}" for where, why in dropped]
    return [*lines, "", "</details>"]


def _facts_line(view: SummaryView) -> str:
    cost = "unknown" if view.cost_usd is None else f"${view.cost_usd:.4f}"
    facts = [
        f"{_FACTS_START}{len(view.files_reviewed)}",
        f"skipped: {len(view.skipped) + len(view.withheld)}",
        f"cost: {cost}",
    ]
    if view.duration_s is not None:
        facts.append(f"duration: {view.duration_s:.1f} s")
    if view.model:
        facts.append(f"model: `{view.model}`")
    return " · ".join(facts)


def _bounded(body: str) -> str:
    if len(body) <= MAX_BODY:
        return body
    return body[: MAX_BODY - 40] + "\n\n… (truncated)"


def refresh_status(body: str, status: str) -> str:
    """The same summary with only its status line replaced (a re-run with nothing new)."""
    start, end = body.find(_STATUS_OPEN), body.find(_STATUS_CLOSE)
    if start == -1 or end < start:
        return body.replace(SUMMARY_MARKER, f"{SUMMARY_MARKER}\n{_status_block(status)}", 1)
    return body[:start] + _status_block(status) + body[end + len(_STATUS_CLOSE) :]


# -- on GitHub -------------------------------------------------------------------------------
def find_summary(pull: PullRequest, trusted: TrustedAuthors) -> IssueComment | None:
    """The oldest summary comment written by a trusted author (paginated)."""
    for comment in pull.get_issue_comments():
        if SUMMARY_MARKER in (comment.body or "") and trusted.trusts(comment):
            return comment
    return None


WRITE_ACTION = "writing the summary comment"


def upsert_summary(
    pull: PullRequest, existing: IssueComment | None, body: str, trusted: TrustedAuthors
) -> str:
    """Edit the summary in place, or create it; returns its html_url. A creation GitHub
    may have carried out without saying so is looked for by its marker before a resend."""
    from ci_reviewer.github.client import send_again, write_once

    if existing is not None:
        write_once(WRITE_ACTION, pull, lambda: existing.edit(body), send_again)
        return existing.html_url

    def created() -> str | None:
        found = find_summary(pull, trusted)
        return found.html_url if found is not None else None

    return write_once(WRITE_ACTION, pull, lambda: pull.create_issue_comment(body).html_url, created)
