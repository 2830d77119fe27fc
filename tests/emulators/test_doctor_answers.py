"""The answers `doctor` reads, from the emulators through the real SDKs: the Models API's
ModelInfo and 404, branch protection (404 "Branch not protected" as recorded, 403 to the
Actions bot naming administration=read), and the rules that apply to a branch."""

from __future__ import annotations

import anthropic
import github
import pytest
import requests

from ci_reviewer.emulators.claude import ClaudeEmulator
from ci_reviewer.emulators.github import GitHubEmulator
from tests.emulators.github_fixtures import TOKEN, git


def test_models_retrieve_answers_model_info_and_404_for_an_unknown_id() -> None:
    with ClaudeEmulator(api_key="sk-ant-models") as claude:
        client = anthropic.Anthropic(api_key="sk-ant-models", base_url=claude.url, max_retries=0)
        info = client.models.retrieve("claude-sonnet-4-5-20250929")  # a dated alias
        retired = client.models.retrieve("claude-mythos-preview")
        with pytest.raises(anthropic.NotFoundError) as unknown:
            client.models.retrieve("claude-sonnet-9")

    assert (info.id, info.type, info.lifecycle) == ("claude-sonnet-4-5", "model", "active")
    assert info.display_name == "Claude Sonnet 4.5"
    assert retired.lifecycle == "retired"
    assert unknown.value.body["error"] == {  # type: ignore[index]
        "type": "not_found_error",
        "message": "model: claude-sonnet-9",
    }


def test_branch_protection_as_github_answers_it(
    emulator: GitHubEmulator, gh: github.Github
) -> None:
    git(emulator.git.repo_dir, "branch", "state")
    repo = gh.get_repo("octo/demo")
    emulator.actor = "octocat"

    with pytest.raises(github.GithubException) as unprotected:
        repo.get_branch("state").get_protection()
    emulator.protect_branch("state", checks=("ci",))
    protection = repo.get_branch("state").get_protection()
    emulator.actor = "github-actions[bot]"
    refused = requests.get(
        f"{emulator.url}/repos/octo/demo/branches/state/protection",
        headers={"Authorization": f"token {TOKEN}"},
        timeout=10,
    )

    assert unprotected.value.status == 404
    assert unprotected.value.data["message"] == "Branch not protected"  # type: ignore[index]
    assert protection.required_pull_request_reviews.required_approving_review_count == 1
    assert protection.required_status_checks.contexts == ["ci"]
    assert repo.get_branch("state").protected is True
    assert refused.status_code == 403
    assert refused.headers["x-accepted-github-permissions"] == "administration=read"


def test_the_rules_of_a_branch_name_their_ruleset(emulator: GitHubEmulator) -> None:
    emulator.restrict_ref_creation("refs/heads/ci-reviewer-*")
    emulator.add_branch_rule("~ALL", "update")

    def rules(branch: str) -> list[str]:
        answer = requests.get(
            f"{emulator.url}/repos/octo/demo/rules/branches/{branch}",
            headers={"Authorization": f"token {TOKEN}"},
            timeout=10,
        )
        assert answer.status_code == 200
        return [rule["type"] for rule in answer.json()]

    assert rules("ci-reviewer-state") == ["creation", "update"]
    assert rules("main") == ["update"]
