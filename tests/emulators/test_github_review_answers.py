"""What the GitHub emulator answers on the review's routes, held to GitHub's recorded answers
(the expected bodies are written out here from the sources, not read from the table):
compare of unrelated or vanished commits, a PR's base.sha, a refused review whose body GitHub
kept, a review's body edited, the per-request annotation limit, and a token without checks:
write. Driven by real PyGithub; the autouse fixture checks every response against GitHub's
OpenAPI description."""

from __future__ import annotations

from pathlib import Path

import github
import pytest
from github import GithubException, UnknownObjectException

from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.github_routes import Quirks
from tests.emulators.github_fixtures import (
    commit_files,
    emulator,
    gh,
    git,
    git_repo,
    github_openapi_responses,
)

__all__ = ["emulator", "gh", "git_repo", "github_openapi_responses"]  # fixtures in use
REVIEW_DOCS = "https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request"


def orphan_commit(repo: Path) -> str:
    """A commit on a new root, sharing no history with main."""
    git(repo, "checkout", "-q", "--orphan", "elsewhere")
    sha = commit_files(repo, {"other.txt": "x\n"}, "another history")
    git(repo, "checkout", "-q", "main")
    return sha


# -- compare ---------------------------------------------------------------------------------
def test_compare_of_unrelated_histories_is_404_no_common_ancestor(
    git_repo: Path, gh: github.Github
) -> None:
    main = git(git_repo, "rev-parse", "main")
    other = orphan_commit(git_repo)
    with pytest.raises(GithubException) as unrelated:
        gh.get_repo("octo/demo").compare(main, other).status  # noqa: B018 - the call is lazy

    assert unrelated.value.status == 404
    assert unrelated.value.data == {
        "message": f"No common ancestor between {main} and {other}.",
        "documentation_url": "https://docs.github.com/rest/commits/commits#compare-two-commits",
        "status": "404",
    }
    # PyGithub's class follows the wording: this 404 is no UnknownObjectException.
    assert not isinstance(unrelated.value, UnknownObjectException)


def test_compare_with_a_commit_github_no_longer_has_is_404_not_found(
    git_repo: Path, gh: github.Github
) -> None:
    gone = "ab" * 20
    with pytest.raises(UnknownObjectException) as missing:
        gh.get_repo("octo/demo").compare(gone, "main").status  # noqa: B018
    assert (missing.value.status, missing.value.data["message"]) == (404, "Not Found")

    with pytest.raises(GithubException) as commit:
        gh.get_repo("octo/demo").get_commit(gone).html_url  # noqa: B018
    assert (commit.value.status, commit.value.data["message"]) == (
        422,
        f"No commit found for SHA: {gone}",
    )


# -- a pull request's base.sha ---------------------------------------------------------------
def test_base_sha_is_the_base_tip_at_open_and_at_each_push_not_the_merge_base(
    git_repo: Path, emulator: GitHubEmulator, gh: github.Github
) -> None:
    fork = git(git_repo, "rev-parse", "main")
    git(git_repo, "checkout", "-q", "-b", "feature")
    commit_files(git_repo, {"f.txt": "1\n"}, "feature")
    git(git_repo, "checkout", "-q", "main")
    first_tip = commit_files(git_repo, {"m.txt": "1\n"}, "main moves")
    number = emulator.open_pull("feature")  # github/docs#431: the base's tip at creation
    pull = gh.get_repo("octo/demo").get_pull(number)
    assert pull.base.sha == first_tip != fork

    second_tip = commit_files(git_repo, {"m.txt": "2\n"}, "main moves again")
    assert gh.get_repo("octo/demo").get_pull(number).base.sha == first_tip  # no push: kept

    git(git_repo, "checkout", "-q", "feature")
    commit_files(git_repo, {"f.txt": "2\n"}, "push to the head")
    pull = gh.get_repo("octo/demo").get_pull(number)
    assert pull.base.sha == second_tip  # synchronize: a new snapshot of the base's tip
    # The PR's files are still the three-dot diff from the fork point.
    assert [f.filename for f in pull.get_files()] == ["f.txt"]
    assert gh.get_repo("octo/demo").compare(pull.base.sha, pull.head.sha).merge_base_commit.sha == (
        fork
    )


# -- reviews ---------------------------------------------------------------------------------
def review_outside_the_diff(emulator: GitHubEmulator, gh: github.Github) -> GithubException:
    git_repo = emulator.git.repo_dir
    git(git_repo, "checkout", "-q", "-b", "feature")
    commit_files(
        git_repo, {"app.py": "changed\n" + "".join(f"line {i}\n" for i in range(2, 41))}, "c"
    )
    number = emulator.open_pull("feature")
    pull = gh.get_repo("octo/demo").get_pull(number)
    commit = gh.get_repo("octo/demo").get_commit(pull.head.sha)
    outside = [{"path": "app.py", "line": 30, "side": "RIGHT", "body": "far from the hunk"}]
    with pytest.raises(GithubException) as refused:
        pull.create_review(commit=commit, body="summary", event="COMMENT", comments=outside)
    return refused.value


LINE_UNRESOLVED = {
    "message": "Unprocessable Entity",
    "errors": ["Line could not be resolved"],
    "documentation_url": REVIEW_DOCS,
    "status": "422",
}


def test_a_refused_review_keeps_nothing_by_default(
    emulator: GitHubEmulator, gh: github.Github
) -> None:
    refused = review_outside_the_diff(emulator, gh)

    assert (refused.status, refused.data) == (422, LINE_UNRESOLVED)
    assert emulator.state.reviews == {} and emulator.state.review_comments == {}


def test_with_the_quirk_a_refused_review_keeps_its_body_and_none_of_its_comments(
    emulator: GitHubEmulator, gh: github.Github
) -> None:
    emulator.quirks = Quirks(keep_body_of_refused_review=True)

    refused = review_outside_the_diff(emulator, gh)

    assert (refused.status, refused.data) == (422, LINE_UNRESOLVED)
    (kept,) = gh.get_repo("octo/demo").get_pull(1).get_reviews()
    assert (kept.body, kept.state) == ("summary", "COMMENTED")
    assert emulator.state.review_comments.get(1, []) == []

    kept.edit("summary, completed")
    (edited,) = gh.get_repo("octo/demo").get_pull(1).get_reviews()
    assert edited.body == "summary, completed"


def test_request_changes_on_ones_own_pull_request_is_refused_as_github_words_it(
    emulator: GitHubEmulator, gh: github.Github
) -> None:
    git(emulator.git.repo_dir, "checkout", "-q", "-b", "feature")
    commit_files(emulator.git.repo_dir, {"f.txt": "1\n"}, "c")
    number = emulator.open_pull("feature", user=emulator.actor)
    pull = gh.get_repo("octo/demo").get_pull(number)

    with pytest.raises(GithubException) as refused:
        pull.create_review(body="no", event="REQUEST_CHANGES")

    assert refused.value.data["errors"] == [
        "Review Can not request changes on your own pull request"
    ]


# -- check runs ------------------------------------------------------------------------------
def test_more_than_fifty_annotations_in_one_request_is_refused_as_github_words_it(
    git_repo: Path, gh: github.Github
) -> None:
    head = git(git_repo, "rev-parse", "HEAD")
    notes = [
        {
            "path": "app.py",
            "start_line": 1,
            "end_line": 1,
            "annotation_level": "notice",
            "message": "m",
        }
    ] * 51
    with pytest.raises(GithubException) as refused:
        gh.get_repo("octo/demo").create_check_run(
            name="ci-reviewer",
            head_sha=head,
            output={"title": "t", "summary": "s", "annotations": notes},
        )
    assert (refused.value.status, refused.value.data["message"]) == (
        422,
        "Invalid request.\n\nNo more than 50 items are allowed; 51 were supplied.",
    )


def test_a_token_without_checks_write_may_still_comment(
    git_repo: Path, emulator: GitHubEmulator, gh: github.Github
) -> None:
    emulator.set_permissions(write=True, checks=False)
    repo = gh.get_repo("octo/demo")
    with pytest.raises(GithubException) as denied:
        repo.create_check_run(name="ci-reviewer", head_sha=git(git_repo, "rev-parse", "HEAD"))
    assert (denied.value.status, denied.value.data["message"]) == (
        403,
        "Resource not accessible by integration",
    )
    assert repo.create_issue(title="still allowed").number == 1
