"""One issue per collection run of a batch job (security audit, report), found again by a
hidden marker so that replaying the same collection edits it instead of opening another.

The issue is labelled with the job name (the label is created when missing), which is also
how a job's earlier issues are found: findings an earlier open issue already carries (by
their hidden fingerprints) can be linked instead of repeated. An issue or label GitHub may
have created without saying so (a 5xx, a dropped connection) is looked for before a resend.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from ci_reviewer.github.client import github_errors, write_once, written
from ci_reviewer.github.markers import fingerprints_in
from ci_reviewer.secrets import Redactor

if TYPE_CHECKING:
    from github.Issue import Issue
    from github.Label import Label
    from github.Repository import Repository

_LABEL_COLOR = "5319e7"
# GitHub rejects issue bodies longer than this many characters.
MAX_BODY = 65_536


def issue_marker(job: str, collection_id: str) -> str:
    return f"<!-- ci-reviewer:{job}:{collection_id} -->"


@dataclass(frozen=True)
class IssueDraft:
    """What a kind wants published; the publisher adds the marker and redacts."""

    job: str
    collection_id: str
    title: str
    body: str
    labels: Sequence[str] = ()


@dataclass(frozen=True)
class PublishedIssue:
    number: int
    url: str
    created: bool


@dataclass(frozen=True)
class EarlierFinding:
    """A fingerprint already open in an earlier issue of the job."""

    issue_number: int
    issue_url: str


class IssuePublisher:
    """Writes a job's issues in one repository; every body passes through `redact`."""

    def __init__(self, repo: Repository, redact: Redactor) -> None:
        self.repo = repo
        self.redact = redact

    def publish(self, draft: IssueDraft) -> PublishedIssue:
        """Create the collection's issue, or edit it when this collection was published."""
        labels = list(dict.fromkeys([draft.job, *draft.labels]))
        for label in labels:
            self.ensure_label(label)
        body = self._body(draft)
        title = self.redact(draft.title)
        existing = self.find(draft.job, draft.collection_id)
        if existing is not None:
            edit = partial(existing.edit, title=title, body=body)
            written("edit the issue", existing, edit)
            return PublishedIssue(existing.number, existing.html_url, created=False)
        issue = written(
            "open the issue",
            self.repo,
            partial(self.repo.create_issue, title=title, body=body, labels=labels),
            partial(self.find, draft.job, draft.collection_id),
        )
        return PublishedIssue(issue.number, issue.html_url, created=True)

    def find(self, job: str, collection_id: str) -> Issue | None:
        """The issue this collection was published as, open or closed."""
        marker = issue_marker(job, collection_id)
        return next((i for i in self._job_issues(job, "all") if marker in (i.body or "")), None)

    def open_fingerprints(self, job: str, exclude_collection: str) -> dict[str, EarlierFinding]:
        """Fingerprints carried by the job's open issues other than this collection's."""
        mine = issue_marker(job, exclude_collection)
        found: dict[str, EarlierFinding] = {}
        for issue in self._job_issues(job, "open"):
            body = issue.body or ""
            if mine in body:
                continue
            for fingerprint in fingerprints_in(body):
                found.setdefault(fingerprint, EarlierFinding(issue.number, issue.html_url))
        return found

    def _job_issues(self, job: str, state: str) -> Iterator[Issue]:
        prefix = f"<!-- ci-reviewer:{job}:"
        with github_errors(f"list the issues labelled {job}"):
            for issue in self.repo.get_issues(state=state, labels=[job]):
                if issue.pull_request is None and prefix in (issue.body or ""):
                    yield issue

    def ensure_label(self, name: str) -> None:
        """The label `name` in the repository, created when missing."""
        import github

        action = f"create the label {name}"
        with github_errors(action):
            if self._label(name) is not None:
                return
            try:
                write_once(
                    action, self.repo, partial(self._create_label, name), partial(self._label, name)
                )
            except github.GithubException as error:
                if error.status != 422:  # created meanwhile by an overlapping run
                    raise

    def _create_label(self, name: str) -> Label:
        return self.repo.create_label(name, _LABEL_COLOR, "Opened by ci-reviewer")

    def _label(self, name: str) -> Label | None:
        import github

        try:
            return self.repo.get_label(name)
        except github.UnknownObjectException:
            return None

    def _body(self, draft: IssueDraft) -> str:
        marker = issue_marker(draft.job, draft.collection_id)
        body = self.redact(draft.body.rstrip())
        room = MAX_BODY - len(marker) - 200
        if len(body) > room:
            body = body[:room].rstrip() + "\n\n… (cut: GitHub's issue body limit)"
        return f"{body}\n\n{marker}\n"
