"""The report kind's Markdown published as one issue through the generic issue publisher,
with the same re-run rules: a replayed collection edits its issue."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ci_reviewer.batch.jobs.base import Collection, Published
from ci_reviewer.batch.jobs.report import ReportKind, render
from ci_reviewer.batch.pipeline import collect, submit
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.github.publish_issue import IssueDraft, IssuePublisher
from ci_reviewer.secrets import Redactor
from tests.batch.conftest import MakeRun
from tests.batch.test_jobs_test_generation import checkout, origin, repository
from tests.emulators.github_fixtures import github_openapi_responses

__all__ = ["checkout", "github_openapi_responses", "origin", "repository"]  # fixtures


class ReportAsIssue(ReportKind):
    """How the report kind publishes through IssuePublisher (`output: issue`)."""

    def __init__(self, issues: IssuePublisher, tmp: Path) -> None:
        super().__init__(tmp)
        self.issues = issues
        self.collections: list[Collection] = []

    def publish(self, collection: Collection) -> Published | None:
        self.collections.append(collection)
        if not (collection.accepted or collection.failures):
            return None
        draft = IssueDraft(collection.job, collection.collection_id, "Report", render(collection))
        issue = self.issues.publish(draft)
        return Published(issue.url, "created" if issue.created else "updated")


def test_the_report_issue_is_opened_once_and_edited_on_replay(
    checkout: Path, repository: Any, origin: GitHubEmulator, make_run: MakeRun, tmp_path: Path
) -> None:
    kind = ReportAsIssue(IssuePublisher(repository, Redactor()), tmp_path)
    job_run = replace(make_run(), kind=kind)
    submit(job_run)

    first = collect(job_run)
    replay = kind.publish(kind.collections[0])

    [issue] = origin.state.issues.values()
    assert first.published is not None and first.published.detail == "created"
    assert replay is not None and replay.detail == "updated"
    assert [label["name"] for label in issue["labels"]] == ["digest"]
    assert "# Report: digest" in issue["body"] and "`src/calc.py`" in issue["body"]
