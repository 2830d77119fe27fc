"""Generated files as one pull request, through real PyGithub against the GitHub emulator
(a real git repository behind it; every response checked against GitHub's OpenAPI)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.server import Fault
from ci_reviewer.errors import EXIT_API, GitHubAPIError
from ci_reviewer.github.publish_pr import PullRequestDraft, PullRequestPublisher, branch_name
from ci_reviewer.secrets import Redactor
from tests.emulators.github_fixtures import (
    client,
    emulator,
    git,
    git_repo,
    github_openapi_responses,
)

__all__ = ["emulator", "git_repo", "github_openapi_responses"]  # fixtures in use

SECRET = "ghs_verysecrettokenvalue"


@pytest.fixture
def publisher(emulator: GitHubEmulator) -> Iterator[PullRequestPublisher]:
    gh = client(emulator, retry=None)
    try:
        yield PullRequestPublisher(gh.get_repo("octo/demo"), Redactor.of([SECRET]))
    finally:
        gh.close()


def draft(collection: str, files: dict[str, str], run_id: str = "1", **kw: Any) -> PullRequestDraft:
    return PullRequestDraft(
        job="nightly",
        collection_id=collection,
        run_id=run_id,
        title="generated tests",
        body=kw.pop("body", f"results of {collection}"),
        files=files,
        **kw,
    )


def branch_files(repo: Path, branch: str) -> list[str]:
    return sorted(git(repo, "diff", "--name-only", f"main...{branch}").splitlines())


def commits_on(repo: Path, branch: str) -> list[str]:
    return git(repo, "rev-list", f"main..{branch}").split()


def test_all_files_land_in_one_commit_on_the_run_branch(
    publisher: PullRequestPublisher, emulator: GitHubEmulator, git_repo: Path
) -> None:
    files = {"tests/generated/test_a.py": "a\n", "tests/generated/deep/test_b.py": "b\n"}
    published = publisher.publish(draft("c1", files, run_id="4242"))

    assert published.action == "opened" and published.branch == "ci-reviewer/nightly/4242"
    assert commits_on(git_repo, published.branch) == [published.commit_sha]
    assert branch_files(git_repo, published.branch) == sorted(files)
    assert git(git_repo, "show", f"{published.branch}:tests/generated/deep/test_b.py") == "b"
    pull = emulator.state.pulls[published.number]
    assert pull["base"] == "main" and "<!-- ci-reviewer:nightly:c1 -->" in pull["body"]


def test_replaying_a_collection_edits_its_pull_request(
    publisher: PullRequestPublisher, emulator: GitHubEmulator, git_repo: Path
) -> None:
    files = {"tests/generated/test_a.py": "a\n"}
    first = publisher.publish(draft("c1", files, run_id="1"))
    again = publisher.publish(draft("c1", files, run_id="2", body="replayed body"))

    assert len(emulator.state.pulls) == 1
    assert again.number == first.number and again.action == "replayed"
    assert again.commit_sha is None  # the branch already holds exactly these files
    assert commits_on(git_repo, first.branch) == [first.commit_sha]
    assert emulator.state.pulls[first.number]["body"].startswith("replayed body")


def test_with_update_a_new_run_adds_a_commit_to_the_open_pull_request(
    publisher: PullRequestPublisher, emulator: GitHubEmulator, git_repo: Path
) -> None:
    first = publisher.publish(draft("c1", {"tests/generated/test_a.py": "a\n"}, run_id="1"))
    second = publisher.publish(
        draft("c2", {"tests/generated/test_b.py": "b\n"}, run_id="2", on_open_pr="update")
    )

    assert len(emulator.state.pulls) == 1 and second.action == "updated"
    assert commits_on(git_repo, first.branch) == [second.commit_sha, first.commit_sha]
    assert branch_files(git_repo, first.branch) == [
        "tests/generated/test_a.py",
        "tests/generated/test_b.py",
    ]
    body = emulator.state.pulls[first.number]["body"]
    # Both collections stay findable, so replaying either edits this PR.
    assert "<!-- ci-reviewer:nightly:c1 -->" in body and "<!-- ci-reviewer:nightly:c2 -->" in body
    assert publisher.publish(draft("c1", {}, run_id="3")).number == first.number


def test_with_new_a_new_run_opens_another_pull_request(
    publisher: PullRequestPublisher, emulator: GitHubEmulator
) -> None:
    publisher.publish(draft("c1", {"tests/generated/test_a.py": "a\n"}, run_id="1"))
    second = publisher.publish(
        draft("c2", {"tests/generated/test_b.py": "b\n"}, run_id="2", on_open_pr="new")
    )

    assert second.action == "opened" and len(emulator.state.pulls) == 2


def test_a_closed_pull_request_is_not_updated_by_a_new_run(
    publisher: PullRequestPublisher, emulator: GitHubEmulator
) -> None:
    first = publisher.publish(draft("c1", {"tests/generated/test_a.py": "a\n"}, run_id="1"))
    emulator.close_pull(first.number, merged=True)

    second = publisher.publish(draft("c2", {"tests/generated/test_b.py": "b\n"}, run_id="2"))

    assert second.action == "opened" and second.number != first.number


def test_a_branch_left_by_a_crashed_run_is_replaced_not_built_upon(
    publisher: PullRequestPublisher, emulator: GitHubEmulator, git_repo: Path
) -> None:
    emulator.inject(Fault(r"/pulls$", status=500, method="POST"))
    with pytest.raises(GitHubAPIError) as failed:
        publisher.publish(draft("c1", {"tests/generated/test_a.py": "half\n"}, run_id="9"))
    assert failed.value.exit_code == EXIT_API

    published = publisher.publish(draft("c1", {"tests/generated/test_a.py": "whole\n"}, "9"))

    assert len(commits_on(git_repo, published.branch)) == 1
    assert git(git_repo, "show", f"{published.branch}:tests/generated/test_a.py") == "whole"


def test_secrets_never_reach_the_body(
    publisher: PullRequestPublisher, emulator: GitHubEmulator
) -> None:
    published = publisher.publish(
        draft("c1", {"tests/generated/t.py": "x\n"}, body=f"token {SECRET} leaked")
    )
    body = emulator.state.pulls[published.number]["body"]
    assert SECRET not in body and "token *** leaked" in body


def test_run_ids_become_safe_branch_names() -> None:
    assert branch_name("nightly", "123") == "ci-reviewer/nightly/123"
    assert branch_name("nightly", "../x y~1") == "ci-reviewer/nightly/x-y-1"


def test_the_rows_a_body_records_come_back_to_the_next_render_redacted(
    publisher: PullRequestPublisher, emulator: GitHubEmulator
) -> None:
    seen: list[list[list[str]]] = []

    def render(new: list[str]) -> Any:
        def call(earlier: list[list[str]]) -> tuple[str, str, list[list[str]]]:
            seen.append(earlier)
            every = [*earlier, new]
            return f"{len(every)} file(s)", "\n".join(r[0] for r in every), every

        return call

    # A cell with "-->" would end the HTML comment; one with the token must be redacted.
    first = ["src/a.py", f"notes --> {SECRET}"]
    publisher.publish(draft("c1", {"tests/generated/test_a.py": "a\n"}, render=render(first)))
    second = ["src/b.py", "plain"]
    pull = publisher.publish(
        draft("c2", {"tests/generated/test_b.py": "b\n"}, run_id="2", render=render(second))
    )

    assert seen[0] == []
    assert seen[1] == [["src/a.py", "notes --> ***"]]
    stored = emulator.state.pulls[pull.number]
    assert stored["title"] == "2 file(s)"
    assert stored["body"].startswith("src/a.py\nsrc/b.py")
    assert SECRET not in stored["body"]
