"""The GitHub emulator gives GitHub's real answers where the batch state store meets them: a
ref that does not exist, a file over 1 MB, a ref that exists or that a ruleset refuses, and
rate-limit refusals. Each expectation is GitHub's documented or recorded answer, written out
here, not read from the emulator's table."""

from __future__ import annotations

import time
from pathlib import Path

import github
import pytest
from github import GithubException

from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.github_faults import rate_limited
from ci_reviewer.emulators.github_gitdata import ruleset_matches
from tests.emulators.github_fixtures import commit_files, git

REFS_DOCS = "https://docs.github.com/rest/git/refs#create-a-reference"


def test_contents_of_a_missing_ref_is_404_no_commit_found(gh: github.Github) -> None:
    repo = gh.get_repo("octo/demo")
    with pytest.raises(GithubException) as raised:
        repo.get_contents("state/digest.json", ref="ci-reviewer-state")
    # GitHub's words (packit/packit#767); PyGithub makes them a plain GithubException.
    assert raised.value.status == 404
    assert raised.value.data["message"] == "No commit found for the ref ci-reviewer-state"
    assert type(raised.value) is GithubException


def test_contents_of_a_missing_path_is_404_not_found(gh: github.Github) -> None:
    with pytest.raises(github.UnknownObjectException) as raised:
        gh.get_repo("octo/demo").get_contents("absent.txt", ref="main")
    assert raised.value.data["message"] == "Not Found"


def test_a_file_over_1_mb_comes_without_content_and_its_blob_holds_it(
    emulator: GitHubEmulator, gh: github.Github, git_repo: Path
) -> None:
    big = "".join(f"{i:07d}\n" for i in range(150_000))  # 1,200,000 bytes
    small = "x" * (1024 * 1024)  # exactly 1 MB: still sent
    commit_files(git_repo, {"big.txt": big, "small.txt": small}, "sizes")
    repo = gh.get_repo("octo/demo")

    large = repo.get_contents("big.txt", ref="main")
    exact = repo.get_contents("small.txt", ref="main")

    assert not isinstance(large, list) and not isinstance(exact, list)
    # Docs, "Get repository content": 1-100 MB -> "encoding": "none", "content": "".
    assert (large.encoding, large.content, large.size) == ("none", "", 1_200_000)
    assert exact.encoding == "base64" and exact.decoded_content == small.encode()
    blob = repo.get_git_blob(large.sha)
    assert blob.size == 1_200_000 and blob.encoding == "base64"


def test_creating_an_existing_ref_is_422_reference_already_exists(gh: github.Github) -> None:
    repo = gh.get_repo("octo/demo")
    main = repo.get_git_ref("heads/main").object.sha
    with pytest.raises(GithubException) as raised:
        repo.create_git_ref("refs/heads/main", main)
    assert raised.value.status == 422
    assert raised.value.data["message"] == "Reference already exists"
    assert raised.value.data["documentation_url"] == REFS_DOCS


@pytest.mark.parametrize(
    ("answer_key", "message"),
    [
        (
            "ref-creation-restricted",
            "Repository rule violations found\n\n"
            "Cannot create ref due to creations being restricted.\n\n",
        ),
        ("ref-update-failed", "Reference update failed"),
    ],
)
def test_a_ruleset_restricting_creation_refuses_matching_refs_only(
    emulator: GitHubEmulator, gh: github.Github, git_repo: Path, answer_key: str, message: str
) -> None:
    emulator.restrict_ref_creation("refs/heads/ci-reviewer-*", answer_key)
    repo = gh.get_repo("octo/demo")
    main = repo.get_git_ref("heads/main").object.sha

    with pytest.raises(GithubException) as raised:
        repo.create_git_ref("refs/heads/ci-reviewer-state", main)
    allowed = repo.create_git_ref("refs/heads/other", main)

    assert (raised.value.status, raised.value.data["message"]) == (422, message)
    assert raised.value.data["documentation_url"] == REFS_DOCS
    assert allowed.ref == "refs/heads/other"
    assert git(git_repo, "branch", "--list", "ci-reviewer-state") == ""


@pytest.mark.parametrize(
    ("pattern", "ref", "matches"),
    [
        ("~ALL", "refs/heads/ci-reviewer-state", True),
        ("~DEFAULT_BRANCH", "refs/heads/main", True),
        ("~DEFAULT_BRANCH", "refs/heads/ci-reviewer-state", False),
        ("refs/heads/ci-reviewer-*", "refs/heads/ci-reviewer-state", True),
        # GitHub's glob: `*` stays within a segment, `**` crosses them (dial9-rs/dial9#633).
        ("refs/heads/release-*", "refs/heads/release-plz/2026", False),
        ("refs/heads/release-**", "refs/heads/release-plz/2026", True),
    ],
)
def test_ruleset_ref_name_patterns(pattern: str, ref: str, matches: bool) -> None:
    assert ruleset_matches(pattern, ref, "main") is matches


def test_a_primary_rate_limit_fault_carries_githubs_headers_and_message(
    emulator: GitHubEmulator, gh: github.Github
) -> None:
    before = int(time.time())
    emulator.inject(rate_limited(r"/repos/octo/demo$", primary=True, status=429, reset_in=120))
    with pytest.raises(GithubException) as raised:
        gh.get_repo("octo/demo")
    headers = raised.value.headers or {}
    assert raised.value.status == 429
    assert raised.value.data["message"].startswith("API rate limit exceeded for installation ID")
    assert headers["x-ratelimit-remaining"] == "0"
    assert before + 120 <= int(headers["x-ratelimit-reset"]) <= int(time.time()) + 120
    assert "retry-after" not in headers


def test_a_secondary_rate_limit_fault_carries_retry_after_when_given(
    emulator: GitHubEmulator, gh: github.Github
) -> None:
    emulator.inject(rate_limited(r"/repos/octo/demo$", retry_after=30))
    with pytest.raises(GithubException) as raised:
        gh.get_repo("octo/demo")
    headers = raised.value.headers or {}
    assert raised.value.status == 403
    assert raised.value.data["message"] == (
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    )
    assert headers["retry-after"] == "30"
    assert headers["x-ratelimit-remaining"] != "0"  # KnpLabs/php-github-api#1072


def test_a_contents_write_on_a_protected_branch_is_409_like_a_stale_sha(
    emulator: GitHubEmulator, gh: github.Github
) -> None:
    """GitHub's answer quoted in BobAnkh/auto-generate-changelog#78 (a branch requiring
    status checks): the status a stale sha gets too, whatever sha is sent."""
    repo = gh.get_repo("octo/demo")
    current = repo.get_contents("README.md", ref="main")
    emulator.refuse_contents_writes("refs/heads/main")

    with pytest.raises(GithubException) as raised:
        repo.update_file("README.md", "edit", "new\n", sha=current.sha, branch="main")  # type: ignore[union-attr]

    assert raised.value.status == 409
    assert raised.value.data["message"] == (
        "Could not update file: 2 of 2 required status checks are expected. "
        "Changes must be made through a pull request."
    )
    assert "about-protected-branches" in raised.value.data["documentation_url"]


def test_a_contents_write_with_a_stale_or_no_sha_is_409_or_422_as_on_github(
    gh: github.Github,
) -> None:
    """Quoted in agorapulse/pierrot#45 and octokit/octokit.js#1374 (stale: "<path> does not
    match <sha>", 409) and xorbitsai/xagent#2403 (no sha: 422)."""
    repo = gh.get_repo("octo/demo")
    stale = "5717457c84de250e7d17c4714e1217d76b6dc123"

    with pytest.raises(GithubException) as raised:
        repo.update_file("README.md", "edit", "new\n", sha=stale, branch="main")
    assert raised.value.status == 409
    assert raised.value.data["message"] == f"README.md does not match {stale}"

    with pytest.raises(GithubException) as raised:
        repo.create_file("README.md", "again", "new\n", branch="main")
    assert raised.value.status == 422
    assert raised.value.data["message"] == 'Invalid request.\n\n"sha" wasn\'t supplied.'
