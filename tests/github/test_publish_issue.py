"""One issue per collection run (audit, report), through real PyGithub against the GitHub
emulator (every response checked against GitHub's OpenAPI description)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.server import Fault
from ci_reviewer.errors import EXIT_API, GitHubAPIError
from ci_reviewer.github.markers import fingerprint_marker
from ci_reviewer.github.publish_issue import (
    MAX_BODY,
    IssueDraft,
    IssuePublisher,
)
from ci_reviewer.secrets import Redactor
from tests.emulators.github_fixtures import client, emulator, git_repo, github_openapi_responses

__all__ = ["emulator", "git_repo", "github_openapi_responses"]  # fixtures in use

SECRET = "sk-ant-api03-secretvalue"


@pytest.fixture
def publisher(emulator: GitHubEmulator) -> Iterator[IssuePublisher]:
    gh = client(emulator, retry=None)
    try:
        yield IssuePublisher(gh.get_repo("octo/demo"), Redactor.of([SECRET]))
    finally:
        gh.close()


def report(collection: str, body: str = "report body", job: str = "digest") -> IssueDraft:
    return IssueDraft(job, collection, f"Report {collection}", body, labels=("ci",))


def test_the_issue_is_labelled_with_the_job_and_the_label_is_created(
    publisher: IssuePublisher, emulator: GitHubEmulator
) -> None:
    publisher.repo.create_label("ci", "000000")
    published = publisher.publish(report("c1"))

    issue = emulator.state.issues[published.number]
    assert published.created and [label["name"] for label in issue["labels"]] == ["digest", "ci"]
    assert emulator.state.labels["digest"]["color"] == "5319e7"
    assert emulator.state.labels["ci"]["color"] == "000000"  # an existing label is kept
    assert issue["body"].rstrip().endswith("<!-- ci-reviewer:digest:c1 -->")


def test_the_same_collection_edits_its_issue_even_when_closed(
    publisher: IssuePublisher, emulator: GitHubEmulator
) -> None:
    first = publisher.publish(report("c1"))
    emulator.state.issues[first.number]["state"] = "closed"

    again = publisher.publish(report("c1", body="second version"))

    assert not again.created and again.number == first.number
    assert len(emulator.state.issues) == 1
    assert emulator.state.issues[first.number]["body"].startswith("second version")


def test_another_collection_opens_another_issue(
    publisher: IssuePublisher, emulator: GitHubEmulator
) -> None:
    publisher.publish(report("c1"))
    publisher.publish(report("c2"))
    publisher.publish(report("c1", job="other-job"))

    assert len(emulator.state.issues) == 3


def test_open_fingerprints_come_from_the_jobs_other_open_issues(
    publisher: IssuePublisher, emulator: GitHubEmulator
) -> None:
    first = publisher.publish(report("c1", body=f"a {fingerprint_marker('aaaa1111')}"))
    closed = publisher.publish(report("c2", body=f"b {fingerprint_marker('bbbb2222')}"))
    emulator.state.issues[closed.number]["state"] = "closed"
    publisher.publish(report("c3", body=f"c {fingerprint_marker('cccc3333')}"))
    publisher.publish(report("c9", body=f"d {fingerprint_marker('dddd4444')}", job="other"))

    found = publisher.open_fingerprints("digest", exclude_collection="c3")

    assert set(found) == {"aaaa1111"}
    assert found["aaaa1111"].issue_number == first.number


def test_bodies_are_redacted_and_bounded(
    publisher: IssuePublisher, emulator: GitHubEmulator
) -> None:
    body = f"key {SECRET}\n" + "x" * (MAX_BODY + 10)
    published = publisher.publish(IssueDraft("digest", "c1", f"title {SECRET}", body))

    issue = emulator.state.issues[published.number]
    assert SECRET not in issue["body"] and SECRET not in issue["title"]
    assert len(issue["body"]) <= MAX_BODY and "<!-- ci-reviewer:digest:c1 -->" in issue["body"]


def test_a_failed_write_is_an_api_error_with_exit_3(
    publisher: IssuePublisher, emulator: GitHubEmulator
) -> None:
    emulator.inject(Fault(r"/issues$", status=502, method="POST"))

    with pytest.raises(GitHubAPIError) as failed:
        publisher.publish(report("c1"))

    assert failed.value.exit_code == EXIT_API and "open the issue" in str(failed.value)
