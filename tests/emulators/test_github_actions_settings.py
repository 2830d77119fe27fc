"""The repository setting "Allow GitHub Actions to create and approve pull requests", as the
emulator answers it to real PyGithub (every response checked against GitHub's OpenAPI)."""

from __future__ import annotations

from pathlib import Path

import github
import pytest
from github import GithubException

from ci_reviewer.emulators.github import GitHubEmulator
from tests.emulators.github_fixtures import (
    client,
    commit_files,
    emulator,
    gh,
    git,
    git_repo,
    github_openapi_responses,
)

__all__ = ["emulator", "gh", "git_repo", "github_openapi_responses"]  # fixtures in use

# GitHub's answer, as quoted in danielroe/uppt#11 and github/docs#36525 ("403 Forbidden").
REFUSED = {
    "message": "GitHub Actions is not permitted to create or approve pull requests.",
    "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
    "status": "403",
}


@pytest.fixture
def branch(git_repo: Path) -> str:
    git(git_repo, "checkout", "-q", "-b", "generated")
    commit_files(git_repo, {"tests/test_new.py": "def test_new():\n    pass\n"}, "tests")
    git(git_repo, "checkout", "-q", "main")
    return "generated"


def test_with_the_setting_off_the_actions_bot_is_refused_with_githubs_403(
    emulator: GitHubEmulator, gh: github.Github, branch: str
) -> None:
    emulator.set_workflow_permissions(can_approve_pull_request_reviews=False)
    repo = gh.get_repo("octo/demo")

    with pytest.raises(GithubException) as raised:
        repo.create_pull(base="main", head=branch, title="generated tests", body="")

    assert raised.value.status == 403
    assert raised.value.data == REFUSED
    assert emulator.state.pulls == {}


def test_with_the_setting_on_the_actions_bot_opens_the_pull_request(
    emulator: GitHubEmulator, gh: github.Github, branch: str
) -> None:
    pull = gh.get_repo("octo/demo").create_pull(base="main", head=branch, title="t", body="")

    assert emulator.state.pulls[pull.number]["head"] == branch


def test_the_setting_binds_only_github_actions_not_a_persons_token(
    emulator: GitHubEmulator, gh: github.Github, branch: str
) -> None:
    emulator.set_workflow_permissions(can_approve_pull_request_reviews=False)
    emulator.actor = "octocat"  # a personal access token: the Actions setting does not apply

    pull = gh.get_repo("octo/demo").create_pull(base="main", head=branch, title="t", body="")

    assert pull.user.login == "octocat"


def test_workflow_permissions_read_back_for_an_admin_and_refused_to_the_actions_token(
    emulator: GitHubEmulator,
) -> None:
    emulator.set_workflow_permissions(
        can_approve_pull_request_reviews=False, default_workflow_permissions="read"
    )
    g = client(emulator, retry=None)
    requester = g.get_repo("octo/demo").requester
    path = "/repos/octo/demo/actions/permissions/workflow"

    with pytest.raises(GithubException) as raised:
        requester.requestJsonAndCheck("GET", path)
    emulator.actor = "octocat"
    _, answered = requester.requestJsonAndCheck("GET", path)
    settings = {k: answered[k] for k in answered if k != "url"}  # PyGithub adds `url`

    # A workflow's GITHUB_TOKEN has no Administration permission, which this endpoint needs.
    assert raised.value.status == 403
    assert raised.value.data["message"] == "Resource not accessible by integration"
    assert settings == {
        "default_workflow_permissions": "read",
        "can_approve_pull_request_reviews": False,
    }
    g.close()
