"""The GitHub emulator refuses a write whose scope the token lacks, as GitHub refuses a
GITHUB_TOKEN limited by a job's `permissions:`: 403 "Resource not accessible by integration",
the accepted permission in `x-accepted-github-permissions`. Driven by real PyGithub."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import github
import pytest

from ci_reviewer.emulators.github import ROUTERS, GitHubEmulator
from ci_reviewer.emulators.github_answers import answers
from ci_reviewer.emulators.github_permissions import writes_listed
from tests.emulators.github_fixtures import client, commit_files, git, git_repo

__all__ = ["git_repo"]  # fixture used here


def _sample(pattern: str) -> str:
    """A path the route's pattern matches: each named group filled with a plain value."""
    path = re.sub(r"\(\?P<\w+>\\d\+\)", "7", pattern.strip("^$"))
    return re.sub(r"\(\?P<\w+>[^)]*\)", "a/b", path)


def test_every_emulated_write_route_says_which_permission_it_needs() -> None:
    writes = [
        (route.method, _sample(route.pattern.pattern))
        for router in ROUTERS
        for route in router.routes
        if route.repo_scoped and route.method != "GET"
    ]
    assert len(writes) >= 20
    assert [w for w in writes if not writes_listed(*w)] == []


@pytest.fixture
def emu(git_repo: Path) -> Iterator[GitHubEmulator]:
    emulator = GitHubEmulator(git_repo).start()
    try:
        yield emulator
    finally:
        emulator.stop()


def test_contents_read_cannot_create_a_branch_and_contents_write_can(emu: GitHubEmulator) -> None:
    emu.set_token_scopes({"contents": "read", "issues": "write"})
    repo = client(emu, retry=None).get_repo("octo/demo")
    head = repo.get_branch("main").commit.sha
    with pytest.raises(github.GithubException) as refused:
        repo.create_git_ref("refs/heads/ci-reviewer-state", head)
    real = answers()["missing-token-permission"]
    assert refused.value.status == real.status == 403
    assert refused.value.data["message"] == "Resource not accessible by integration"
    assert refused.value.headers["x-accepted-github-permissions"] == "contents=write"
    assert "refs/heads/ci-reviewer-state" not in git(emu.git.repo_dir, "show-ref")

    emu.set_token_scopes({"contents": "write"})
    repo.create_git_ref("refs/heads/ci-reviewer-state", head)
    assert "refs/heads/ci-reviewer-state" in git(emu.git.repo_dir, "show-ref")


def test_an_issue_needs_issues_write_and_a_pull_request_comment_pull_requests_write(
    emu: GitHubEmulator,
) -> None:
    git(emu.git.repo_dir, "checkout", "-q", "-b", "feature")
    commit_files(emu.git.repo_dir, {"app.py": "x = 2\n"}, "change")
    number = emu.open_pull("feature")
    emu.set_token_scopes({"contents": "read", "pull-requests": "write"})
    repo = client(emu, retry=None).get_repo("octo/demo")
    with pytest.raises(github.GithubException) as refused:
        repo.create_issue("findings")
    assert refused.value.status == 403
    assert refused.value.headers["x-accepted-github-permissions"] == "issues=write"
    # A comment through the issues API on a pull request is keyed on the pull request.
    comment = repo.get_issue(number).create_comment("summary")
    comment.edit("summary, edited")

    emu.set_token_scopes({"issues": "write"})
    issue = repo.create_issue("findings")
    issue.create_comment("more")
    with pytest.raises(github.GithubException) as refused:
        repo.get_issue(number).create_comment("on the pull request")
    assert refused.value.headers["x-accepted-github-permissions"] == "pull_requests=write"


def test_reads_and_an_unmodelled_token_are_not_limited(emu: GitHubEmulator) -> None:
    emu.set_token_scopes({})
    repo = client(emu, retry=None).get_repo("octo/demo")
    assert repo.get_contents("README.md").decoded_content == b"# demo\n"
    emu.set_token_scopes(None)
    assert repo.create_issue("anything").number >= 1
