"""Generated files GitHub refused to open a pull request for, kept on one branch per job.

GitHub answers 403 to a pull request opened with a workflow's GITHUB_TOKEN while the setting
"Allow GitHub Actions to create and approve pull requests" is off (the default for new
repositories and organizations), and to a token without `pull-requests: write`. The branch
is pushed by then and holds the only copy of the files, so it is kept, and one open issue
labelled with the job name stands in for the pull request: it links the branch's compare
view (which opens GitHub's pull-request form), lists the files, and names the setting.

A hidden marker in that issue names the branch: later runs add their files to the same
branch and edit the same issue, and the first run allowed to open the pull request opens it
from that branch, then closes the issue with a link to it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import quote

from ci_reviewer.github.client import github_errors, written
from ci_reviewer.github.publish_issue import IssuePublisher
from ci_reviewer.secrets import Redactor

if TYPE_CHECKING:
    from github import GithubException
    from github.Issue import Issue
    from github.Repository import Repository

SETTING = "Allow GitHub Actions to create and approve pull requests"
WHERE = "Settings → Actions → General → Workflow permissions"
_BRANCH = re.compile(r"<!-- ci-reviewer:[a-z0-9_-]+:waiting-branch:(\S+) -->")
_NO_ISSUES = frozenset({403, 404, 410})
# GitHub's comparison lists at most this many files.
_COMPARE_FILES = 300
MAX_BODY = 65_536


def waiting_marker(job: str, branch: str) -> str:
    return f"<!-- ci-reviewer:{job}:waiting-branch:{branch} -->"


@dataclass(frozen=True)
class Refusal:
    """GitHub's refusal to open the pull request: the status decides, the message is only
    quoted to the user (its wording is GitHub's and may change)."""

    status: int
    message: str


def refusal_of(error: GithubException) -> Refusal | None:
    """A 403 that is not a rate limit (GitHub marks those with retry-after or an exhausted
    x-ratelimit-remaining): this token may not open the pull request. None otherwise."""
    headers = {k.lower(): v for k, v in (error.headers or {}).items()}
    rate_limited = "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0"
    if error.status != 403 or rate_limited:
        return None
    data = error.data
    message = data.get("message") if isinstance(data, dict) else None
    return Refusal(403, str(message or ""))


@dataclass(frozen=True)
class RefusedPullRequest:
    """A pull request GitHub would not open, and what its stand-in issue is made of."""

    job: str
    branch: str
    refusal: Refusal
    latest_run: str  # the body the pull request would have had
    markers: tuple[str, ...]  # the collections whose files the branch holds
    # The pull request body's hidden record of the files it describes (every run's): kept
    # in the issue, so the pull request later opened from the branch describes them all.
    record: str = ""


@dataclass(frozen=True)
class WaitingBranch:
    """The job's open issue that stands in for a refused pull request, and its branch."""

    branch: str
    issue: Issue


@dataclass(frozen=True)
class WaitingPullRequest:
    """Where the files wait: `branch`, announced by issue `issue_number`."""

    job: str
    issue_number: int
    issue_url: str
    branch: str
    compare_url: str
    files: tuple[str, ...]
    refusal: Refusal
    created: bool

    @property
    def warning(self) -> str:
        """One line for the run's log and its annotation."""
        return (
            f"GitHub refused to open the pull request of job {self.job} (HTTP "
            f"{self.refusal.status}); its {len(self.files)} generated file(s) are kept on "
            f"branch {self.branch} and issue #{self.issue_number} links the pull-request "
            f'form. Turn on "{SETTING}" ({WHERE}; an organization can lock it off in its '
            "own settings) and the next run with new tests opens the pull request from it"
        )


class WaitingBranches:
    """Finds, writes and closes the issues that stand in for refused pull requests."""

    def __init__(self, repo: Repository, redact: Redactor, base_branch: str) -> None:
        self.repo = repo
        self.redact = redact
        self.base_branch = base_branch

    def find(self, job: str) -> WaitingBranch | None:
        """The job's open issue for a refused pull request, newest first. A token that may
        not read issues (403; 404 or 410 with issues turned off) finds none: the pull
        request flow must not come to depend on issues."""
        import github

        prefix = f"<!-- ci-reviewer:{job}:waiting-branch:"
        with github_errors(f"list the issues labelled {job}"):
            try:
                for issue in self.repo.get_issues(state="open", labels=[job]):
                    body = issue.body or ""
                    found = _BRANCH.search(body) if prefix in body else None
                    if issue.pull_request is None and found:
                        return WaitingBranch(found.group(1), issue)
            except github.GithubException as error:
                if error.status not in _NO_ISSUES:
                    raise
        return None

    def record(
        self, refused: RefusedPullRequest, earlier: WaitingBranch | None
    ) -> WaitingPullRequest:
        """Open the issue for the refused pull request, or edit the one found earlier."""
        job, branch = refused.job, refused.branch
        files = self._files_on(branch)
        compare = self.compare_url(branch)
        title = self.redact(f"ci-reviewer {job}: {len(files)} generated file(s) wait for a PR")
        text = self._text(refused, files, compare)
        body = _with_markers(text, [waiting_marker(job, branch), *refused.markers], refused.record)
        if earlier is not None:
            issue = earlier.issue
            written("edit the issue", issue, partial(issue.edit, title=title, body=body))
        else:
            issue = self._open(job, branch, title, body)
        return WaitingPullRequest(
            job,
            issue.number,
            issue.html_url,
            branch,
            compare,
            files,
            refused.refusal,
            created=earlier is None,
        )

    def close(self, waiting: WaitingBranch, number: int, url: str) -> None:
        """Close the issue: its pull request is open now."""
        issue = waiting.issue
        opened = f"**Opened:** pull request #{number} ({url}) holds these files now."
        body = f"{opened}\n\n{issue.body or ''}"
        edit = partial(issue.edit, body=body, state="closed", state_reason="completed")
        written("close the issue", issue, edit)

    def compare_url(self, branch: str) -> str:
        """The compare view of `branch`; `expand=1` opens the pull-request form."""
        base, head = quote(self.base_branch, safe="/"), quote(branch, safe="/")
        return f"{self.repo.html_url}/compare/{base}...{head}?expand=1"

    def _open(self, job: str, branch: str, title: str, body: str) -> Issue:
        issues = IssuePublisher(self.repo, self.redact)
        issues.ensure_label(job)
        return written(
            "open the issue",
            self.repo,
            partial(self.repo.create_issue, title=title, body=body, labels=[job]),
            partial(self._landed, job, branch),
        )

    def _landed(self, job: str, branch: str) -> Issue | None:
        """The issue a resend would duplicate: the job's open one for this branch."""
        found = self.find(job)
        return found.issue if found is not None and found.branch == branch else None

    def _files_on(self, branch: str) -> tuple[str, ...]:
        with github_errors(f"compare {branch} with {self.base_branch}"):
            comparison = self.repo.compare(self.base_branch, branch)
            return tuple(sorted(f.filename for f in comparison.files))

    def _text(self, refused: RefusedPullRequest, files: tuple[str, ...], compare: str) -> str:
        job, branch, refusal = refused.job, refused.branch, refused.refusal
        said = self.redact(refusal.message) or "no message"
        listed = [f"- `{path}`" for path in files]
        if len(files) >= _COMPARE_FILES:
            listed.append(f"- … GitHub lists the first {_COMPARE_FILES}; the compare view has all")
        lines = [
            "## Generated tests are waiting for a pull request",
            "",
            f"The job `{job}` pushed its generated tests to the branch `{branch}`, but GitHub "
            f"refused to open a pull request from it (HTTP {refusal.status}: {said}).",
            "",
            f"**To review them now,** open the pull request yourself: [{self.base_branch}..."
            f"{branch}]({compare}).",
            "",
            f'**So that the job opens it,** turn on **"{SETTING}"** in the repository\'s '
            f"{WHERE}. It is off by default for new repositories and organizations; when an "
            "organization turns it off (in the organization's own Settings → Actions → "
            "General → Workflow permissions) the repository's checkbox stays greyed out "
            "until an organization owner turns it on there. A workflow whose `permissions:` "
            "lack `pull-requests: write` is refused the same way.",
            "",
            "Until then every run of the job adds its new tests to this same branch and "
            "updates this issue; the first run with new tests that GitHub lets open the pull "
            "request opens it from this branch and closes this issue.",
            "",
            f"### Files on the branch ({len(files)})",
            "",
            *listed,
            "",
            "---",
            "",
            "The pull request, as it would have described the branch's files:",
            "",
            self.redact(refused.latest_run.rstrip()),
        ]
        return "\n".join(lines)


def _with_markers(text: str, markers: Sequence[str], record: str = "") -> str:
    """`text` with the markers and the files' record (dropped first when the body would
    pass GitHub's limit: the markers must stay)."""
    block = "\n".join([*dict.fromkeys(markers), record]).rstrip()
    if len(text) + len(block) > MAX_BODY - 200:
        block = "\n".join(dict.fromkeys(markers))
    room = MAX_BODY - len(block) - 200
    if len(text) > room:
        text = text[:room].rstrip() + "\n\n… (cut: GitHub's issue body limit)"
    return f"{text.rstrip()}\n\n{block}\n"
