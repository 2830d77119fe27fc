"""Generated files whose pull request GitHub refuses (the repository setting "Allow GitHub
Actions to create and approve pull requests" off, GitHub's default for new repositories):
real PyGithub against the GitHub emulator, which answers as GitHub does (403, its message)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import github
import pytest

from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.server import Fault
from ci_reviewer.errors import EXIT_API, GitHubAPIError
from ci_reviewer.github.publish_pr import (
    PublishedPullRequest,
    PullRequestDraft,
    PullRequestPublisher,
)
from ci_reviewer.github.waiting_branch import WaitingPullRequest
from ci_reviewer.secrets import Redactor
from tests.emulators.github_fixtures import (
    client,
    emulator,
    git,
    git_repo,
    github_openapi_responses,
)

__all__ = ["emulator", "git_repo", "github_openapi_responses"]  # fixtures in use

SETTING = "Allow GitHub Actions to create and approve pull requests"
GITHUB_SAYS = "GitHub Actions is not permitted to create or approve pull requests."
A, B, C = (f"tests/generated/test_{n}.py" for n in "abc")


@pytest.fixture
def gh(emulator: GitHubEmulator) -> Iterator[github.Github]:
    g = client(emulator, retry=None)
    try:
        yield g
    finally:
        g.close()


@pytest.fixture
def publisher(gh: github.Github) -> PullRequestPublisher:
    return PullRequestPublisher(gh.get_repo("octo/demo"), Redactor.of([]))


@pytest.fixture
def refusing(emulator: GitHubEmulator) -> GitHubEmulator:
    emulator.set_workflow_permissions(can_approve_pull_request_reviews=False)
    return emulator


def draft(collection: str, files: dict[str, str], run_id: str, **kw: Any) -> PullRequestDraft:
    return PullRequestDraft(
        job="nightly",
        collection_id=collection,
        run_id=run_id,
        title="generated tests",
        body=f"results of {collection}",
        files=files,
        **kw,
    )


def job_branches(repo: Path) -> list[str]:
    """Every branch the job has in the repository: orphans would show here."""
    out = git(repo, "for-each-ref", "--format=%(refname)", "refs/heads/ci-reviewer/")
    return out.splitlines()


def on_branch(repo: Path, branch: str) -> list[str]:
    return sorted(git(repo, "diff", "--name-only", f"main...{branch}").splitlines())


def job_issues(emulator: GitHubEmulator) -> list[dict[str, Any]]:
    return [
        i
        for i in emulator.state.issues.values()
        if "nightly" in {label["name"] for label in i["labels"]}
    ]


def test_a_refused_pull_request_leaves_one_branch_and_one_issue_that_says_how_to_open_it(
    publisher: PullRequestPublisher, refusing: GitHubEmulator, git_repo: Path, gh: github.Github
) -> None:
    waiting = publisher.publish(draft("c1", {A: "a\n"}, run_id="101"))

    assert isinstance(waiting, WaitingPullRequest)
    assert refusing.state.pulls == {}
    assert job_branches(git_repo) == ["refs/heads/ci-reviewer/nightly/101"]
    assert on_branch(git_repo, "ci-reviewer/nightly/101") == [A]
    [issue] = job_issues(refusing)
    assert issue["state"] == "open" and issue["number"] == waiting.issue_number
    html_url = gh.get_repo("octo/demo").html_url
    body = issue["body"]
    assert f"{html_url}/compare/main...ci-reviewer/nightly/101?expand=1" in body
    assert SETTING in body and "Settings → Actions → General → Workflow permissions" in body
    assert "organization" in body
    assert f"- `{A}`" in body and GITHUB_SAYS in body and "HTTP 403" in body
    assert "results of c1" in body  # what the pull request would have said
    assert waiting.refusal.status == 403 and waiting.created


def test_a_later_refused_run_adds_to_the_same_branch_and_edits_the_same_issue(
    publisher: PullRequestPublisher, refusing: GitHubEmulator, git_repo: Path
) -> None:
    first = publisher.publish(draft("c1", {A: "a\n"}, run_id="101"))
    second = publisher.publish(draft("c2", {B: "b\n"}, run_id="102"))

    assert isinstance(first, WaitingPullRequest) and isinstance(second, WaitingPullRequest)
    assert job_branches(git_repo) == ["refs/heads/ci-reviewer/nightly/101"]
    assert on_branch(git_repo, "ci-reviewer/nightly/101") == [A, B]
    assert len(git(git_repo, "rev-list", "main..ci-reviewer/nightly/101").split()) == 2
    [issue] = job_issues(refusing)
    assert second.issue_number == first.issue_number and not second.created
    assert f"- `{A}`" in issue["body"] and f"- `{B}`" in issue["body"]
    assert "results of c2" in issue["body"] and "results of c1" not in issue["body"]
    assert "2 generated file(s)" in issue["title"]


def test_once_github_allows_it_the_pull_request_opens_from_that_branch_and_the_issue_closes(
    publisher: PullRequestPublisher, refusing: GitHubEmulator, git_repo: Path
) -> None:
    publisher.publish(draft("c1", {A: "a\n"}, run_id="101"))
    publisher.publish(draft("c2", {B: "b\n"}, run_id="102"))
    refusing.set_workflow_permissions(can_approve_pull_request_reviews=True)

    opened = publisher.publish(draft("c3", {C: "c\n"}, run_id="103"))

    assert isinstance(opened, PublishedPullRequest) and opened.action == "opened"
    assert job_branches(git_repo) == ["refs/heads/ci-reviewer/nightly/101"]
    [pull] = refusing.state.pulls.values()
    assert pull["head"] == "ci-reviewer/nightly/101" and on_branch(git_repo, pull["head"]) == [
        A,
        B,
        C,
    ]
    [issue] = job_issues(refusing)
    assert issue["state"] == "closed"
    assert f"#{opened.number}" in issue["body"] and opened.url in issue["body"]
    # The PR carries every collection the branch holds, so replaying any edits this PR.
    for collection in ("c1", "c2", "c3"):
        assert f"<!-- ci-reviewer:nightly:{collection} -->" in pull["body"]
    again = publisher.publish(draft("c1", {A: "a\n"}, run_id="104"))
    assert isinstance(again, PublishedPullRequest) and again.action == "replayed"
    assert len(refusing.state.pulls) == 1


def test_replaying_a_refused_collection_edits_its_issue_and_adds_no_commit(
    publisher: PullRequestPublisher, refusing: GitHubEmulator, git_repo: Path
) -> None:
    first = publisher.publish(draft("c1", {A: "a\n"}, run_id="101"))
    again = publisher.publish(draft("c1", {A: "a\n"}, run_id="102"))

    assert isinstance(again, WaitingPullRequest) and isinstance(first, WaitingPullRequest)
    assert again.issue_number == first.issue_number and len(job_issues(refusing)) == 1
    assert job_branches(git_repo) == ["refs/heads/ci-reviewer/nightly/101"]
    assert len(git(git_repo, "rev-list", "main..ci-reviewer/nightly/101").split()) == 1


def test_a_pull_request_a_person_opened_from_the_link_becomes_the_jobs(
    publisher: PullRequestPublisher, refusing: GitHubEmulator, git_repo: Path
) -> None:
    publisher.publish(draft("c1", {A: "a\n"}, run_id="101"))
    by_hand = refusing.open_pull("ci-reviewer/nightly/101", title="from the link", user="octocat")

    later = publisher.publish(draft("c2", {B: "b\n"}, run_id="102"))

    assert isinstance(later, PublishedPullRequest) and later.number == by_hand
    assert list(refusing.state.pulls) == [by_hand]
    assert on_branch(git_repo, "ci-reviewer/nightly/101") == [A, B]
    [issue] = job_issues(refusing)
    assert issue["state"] == "closed" and f"#{by_hand}" in issue["body"]
    body = refusing.state.pulls[by_hand]["body"]
    assert "<!-- ci-reviewer:nightly:c1 -->" in body and "<!-- ci-reviewer:nightly:c2 -->" in body


def test_with_update_a_still_open_pull_request_gets_the_files_whatever_the_setting(
    publisher: PullRequestPublisher, emulator: GitHubEmulator, git_repo: Path
) -> None:
    first = publisher.publish(draft("c1", {A: "a\n"}, run_id="101"))
    emulator.set_workflow_permissions(can_approve_pull_request_reviews=False)

    second = publisher.publish(draft("c2", {B: "b\n"}, run_id="102", on_open_pr="update"))

    assert isinstance(first, PublishedPullRequest) and isinstance(second, PublishedPullRequest)
    assert second.action == "updated" and second.number == first.number
    assert job_branches(git_repo) == ["refs/heads/ci-reviewer/nightly/101"]
    assert job_issues(emulator) == []


def test_a_rate_limit_403_is_not_taken_for_the_setting(
    publisher: PullRequestPublisher, emulator: GitHubEmulator
) -> None:
    emulator.inject(
        Fault(
            r"/pulls$",
            status=403,
            method="POST",
            retry_after=60,
            body={
                "message": "You have exceeded a secondary rate limit.",
                "documentation_url": "https://docs.github.com/rest",
            },
        )
    )

    with pytest.raises(GitHubAPIError) as failed:
        publisher.publish(draft("c1", {A: "a\n"}, run_id="101"))

    assert failed.value.exit_code == EXIT_API and "HTTP 403" in str(failed.value)
    assert job_issues(emulator) == []


def test_when_no_issue_can_be_written_the_branch_goes_and_the_run_fails_naming_both_fixes(
    publisher: PullRequestPublisher, refusing: GitHubEmulator, git_repo: Path
) -> None:
    # A workflow token without `issues: write`: GitHub refuses the label and the issue.
    denied = {
        "message": "Resource not accessible by integration",
        "documentation_url": "https://docs.github.com/rest/issues/labels#create-a-label",
        "status": "403",
    }
    refusing.inject(Fault(r"/labels$", status=403, method="POST", body=denied))

    with pytest.raises(GitHubAPIError) as failed:
        publisher.publish(draft("c1", {A: "a\n"}, run_id="101"))

    message = str(failed.value)
    assert failed.value.exit_code == EXIT_API
    assert SETTING in message and "issues: write" in message and GITHUB_SAYS in message
    assert job_branches(git_repo) == []  # nothing left unannounced
    assert job_issues(refusing) == []


def test_a_run_that_stopped_before_closing_the_issue_closes_it_when_replayed(
    publisher: PullRequestPublisher, refusing: GitHubEmulator
) -> None:
    first = publisher.publish(draft("c1", {A: "a\n"}, run_id="101"))
    assert isinstance(first, WaitingPullRequest)
    refusing.set_workflow_permissions(can_approve_pull_request_reviews=True)
    issue_path = rf"/issues/{first.issue_number}$"
    refusing.inject(Fault(issue_path, status=502, method="PATCH"))
    with pytest.raises(GitHubAPIError):
        publisher.publish(draft("c2", {B: "b\n"}, run_id="102"))
    [pull] = refusing.state.pulls.values()
    assert job_issues(refusing)[0]["state"] == "open"  # the run stopped in between

    replayed = publisher.publish(draft("c2", {B: "b\n"}, run_id="103"))

    assert isinstance(replayed, PublishedPullRequest) and replayed.action == "replayed"
    assert replayed.number == pull["number"] and len(refusing.state.pulls) == 1
    [issue] = job_issues(refusing)
    assert issue["state"] == "closed" and f"#{pull['number']}" in issue["body"]


def described(row: list[str]) -> Any:
    """A kind's render, as test generation's: the body lists every row, earlier ones first
    (the rows recorded in the body it replaces), then this run's."""

    def render(earlier: list[list[str]]) -> tuple[str, str, list[list[str]]]:
        every = [*earlier, row]
        lines = [f"| `{path}` | {result} |" for path, result in every]
        return f"{len(every)} generated file(s)", "\n".join(["| file | result |", *lines]), every

    return render


def test_the_pull_request_opened_from_a_waiting_branch_describes_every_run_s_files(
    publisher: PullRequestPublisher, refusing: GitHubEmulator, git_repo: Path
) -> None:
    publisher.publish(draft("c1", {A: "a\n"}, run_id="101", render=described([A, "passed"])))
    refusing.set_workflow_permissions(can_approve_pull_request_reviews=True)

    opened = publisher.publish(draft("c2", {B: "b\n"}, run_id="102", render=described([B, "ok"])))

    assert isinstance(opened, PublishedPullRequest) and opened.action == "opened"
    pull = refusing.state.pulls[opened.number]
    assert on_branch(git_repo, pull["head"]) == [A, B]
    assert pull["title"] == "2 generated file(s)"
    assert pull["body"].startswith(f"| file | result |\n| `{A}` | passed |\n| `{B}` | ok |\n\n")


def test_a_pull_request_a_person_opened_from_the_link_describes_every_run_s_files(
    publisher: PullRequestPublisher, refusing: GitHubEmulator
) -> None:
    publisher.publish(draft("c1", {A: "a\n"}, run_id="101", render=described([A, "passed"])))
    publisher.publish(draft("c2", {B: "b\n"}, run_id="102", render=described([B, "ok"])))
    by_hand = refusing.open_pull("ci-reviewer/nightly/101", title="from the link", user="octocat")

    publisher.publish(draft("c3", {C: "c\n"}, run_id="103", render=described([C, "failed"])))

    body = refusing.state.pulls[by_hand]["body"]
    assert body.startswith(
        f"| file | result |\n| `{A}` | passed |\n| `{B}` | ok |\n| `{C}` | failed |\n\n"
    )
    assert refusing.state.pulls[by_hand]["title"] == "3 generated file(s)"
