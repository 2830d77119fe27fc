"""The GitHub emulator, driven by real PyGithub; every response is checked against GitHub's
OpenAPI description by the autouse fixture in github_fixtures."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import github
import pytest
from github import GithubException

from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.server import Fault
from tests.emulators import openapi
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


def feature_branch(repo: Path, files: dict[str, str], name: str = "feature") -> str:
    git(repo, "checkout", "-q", "-b", name)
    sha = commit_files(repo, files, f"change on {name}")
    git(repo, "checkout", "-q", "main")
    return sha


def edited_app() -> str:
    """app.py with line 10 replaced and a line added after 30: two hunks."""
    lines = [f"line {i}\n" for i in range(1, 41)]
    lines[9] = "line ten, edited\n"
    lines.insert(30, "inserted after 30\n")
    return "".join(lines)


# -- pull requests and pagination ----------------------------------------------------------
def test_pull_files_paginate_over_three_pages(git_repo: Path, emulator: GitHubEmulator) -> None:
    feature_branch(git_repo, {f"pkg/mod_{i:03}.py": f"value = {i}\n" for i in range(250)})
    number = emulator.open_pull("feature")
    g = client(emulator, per_page=100)
    pull = g.get_repo("octo/demo").get_pull(number)

    files = pull.get_files()
    names = [f.filename for f in files]

    assert files.totalCount == 250
    assert names == sorted(f"pkg/mod_{i:03}.py" for i in range(250))
    assert pull.changed_files == 250
    pages = [r for r in emulator.log if r.path.endswith("/files")]
    assert {r.param("page") for r in pages} >= {"2", "3"}
    g.close()


def test_link_header_has_github_format(git_repo: Path, emulator: GitHubEmulator) -> None:
    feature_branch(git_repo, {f"f{i}.txt": "x\n" for i in range(65)})
    number = emulator.open_pull("feature")
    g = client(emulator)
    requester = g.get_repo("octo/demo")._requester
    headers, _ = requester.requestJsonAndCheck(
        "GET", f"/repos/octo/demo/pulls/{number}/files", parameters={"page": 2}
    )
    base = f"{emulator.url}/repos/octo/demo/pulls/{number}/files"
    assert headers["link"] == (
        f'<{base}?per_page=30&page=1>; rel="prev", <{base}?per_page=30&page=3>; rel="next", '
        f'<{base}?per_page=30&page=3>; rel="last", <{base}?per_page=30&page=1>; rel="first"'
    )
    g.close()


def test_pull_shape_points_back_at_emulator(
    git_repo: Path, emulator: GitHubEmulator, gh: github.Github
) -> None:
    head = feature_branch(git_repo, {"app.py": edited_app()})
    number = emulator.open_pull("feature", title="Edit app", body="why")
    pull = gh.get_repo("octo/demo").get_pull(number)

    assert pull.url.startswith(emulator.url)
    assert pull.head.sha == head
    assert pull.title == "Edit app"
    (patched,) = list(pull.get_files())
    assert patched.filename == "app.py"
    assert patched.patch.startswith("@@ -7,7 +7,7 @@")
    assert [c.sha for c in pull.get_commits()] == [head]


# -- review comments on the diff -------------------------------------------------------------
def test_inline_comment_inside_diff_is_created(
    git_repo: Path, emulator: GitHubEmulator, gh: github.Github
) -> None:
    feature_branch(git_repo, {"app.py": edited_app()})
    number = emulator.open_pull("feature")
    pull = gh.get_repo("octo/demo").get_pull(number)

    review = pull.create_review(
        body="one finding",
        event="COMMENT",
        comments=[{"path": "app.py", "line": 10, "side": "RIGHT", "body": "why edit?"}],
    )

    assert review.state == "COMMENTED"
    (comment,) = emulator.state.review_comments[number]
    assert (comment["path"], comment["line"], comment["side"]) == ("app.py", 10, "RIGHT")
    assert comment["diff_hunk"].endswith("+line ten, edited")
    assert [c.body for c in pull.get_review_comments()] == ["why edit?"]


def test_inline_comment_outside_diff_is_422_and_review_atomic(
    git_repo: Path, emulator: GitHubEmulator, gh: github.Github
) -> None:
    feature_branch(git_repo, {"app.py": edited_app()})
    number = emulator.open_pull("feature")
    pull = gh.get_repo("octo/demo").get_pull(number)

    with pytest.raises(GithubException) as raised:
        pull.create_review(
            body="two findings",
            event="COMMENT",
            comments=[
                {"path": "app.py", "line": 10, "body": "inside"},
                {"path": "app.py", "line": 20, "body": "outside every hunk"},
            ],
        )

    assert raised.value.status == 422
    assert raised.value.data["errors"] == ["Line could not be resolved"]
    assert emulator.state.reviews.get(number, []) == []
    assert emulator.state.review_comments.get(number, []) == []


def test_range_and_left_side_comments(
    git_repo: Path, emulator: GitHubEmulator, gh: github.Github
) -> None:
    feature_branch(git_repo, {"app.py": edited_app()})
    number = emulator.open_pull("feature")
    pull = gh.get_repo("octo/demo").get_pull(number)

    pull.create_review(
        body="",
        event="COMMENT",
        comments=[
            {"path": "app.py", "line": 10, "side": "LEFT", "body": "old line 10"},
            {"path": "app.py", "start_line": 8, "line": 11, "body": "range in one hunk"},
        ],
    )
    with pytest.raises(GithubException) as across:
        pull.create_review(
            event="COMMENT",
            comments=[{"path": "app.py", "start_line": 10, "line": 31, "body": "two hunks"}],
        )
    with pytest.raises(GithubException) as left_outside:
        pull.create_review(
            event="COMMENT",
            comments=[{"path": "app.py", "line": 20, "side": "LEFT", "body": "not shown"}],
        )

    left, ranged = emulator.state.review_comments[number]
    assert (left["side"], left["line"]) == ("LEFT", 10)
    assert (ranged["start_line"], ranged["line"]) == (8, 11)
    assert across.value.status == left_outside.value.status == 422
    assert len(emulator.state.reviews[number]) == 1


def test_single_review_comment_outside_diff(
    git_repo: Path, emulator: GitHubEmulator, gh: github.Github
) -> None:
    head = feature_branch(git_repo, {"app.py": edited_app()})
    number = emulator.open_pull("feature")
    repo = gh.get_repo("octo/demo")
    pull = repo.get_pull(number)
    commit = repo.get_commit(head)

    pull.create_review_comment("fine", commit, "app.py", line=31, side="RIGHT")
    with pytest.raises(GithubException) as raised:
        pull.create_review_comment("nope", commit, "app.py", line=2, side="RIGHT")

    assert raised.value.status == 422
    assert [c["body"] for c in emulator.state.review_comments[number]] == ["fine"]


# -- contents compare-and-swap --------------------------------------------------------------
def test_contents_cas(git_repo: Path, emulator: GitHubEmulator, gh: github.Github) -> None:
    repo = gh.get_repo("octo/demo")
    created = repo.create_file("state/job.json", "create", '{"n": 1}', branch="main")
    first_sha = created["content"].sha

    repo.update_file("state/job.json", "update", '{"n": 2}', first_sha, branch="main")
    with pytest.raises(GithubException) as stale:
        repo.update_file("state/job.json", "stale", '{"n": 3}', first_sha, branch="main")

    current = repo.get_contents("state/job.json", ref="main")
    assert stale.value.status == 409
    assert current.decoded_content == b'{"n": 2}'
    assert git(git_repo, "show", "main:state/job.json") == '{"n": 2}'
    assert not (git_repo / "state").exists()  # plumbing only: the checkout is untouched


def test_contents_put_without_sha_on_existing_file_is_422(
    emulator: GitHubEmulator, gh: github.Github
) -> None:
    requester = gh.get_repo("octo/demo")._requester
    content = base64.b64encode(b"new readme").decode()
    with pytest.raises(GithubException) as raised:
        requester.requestJsonAndCheck(
            "PUT",
            "/repos/octo/demo/contents/README.md",
            input={"message": "overwrite", "content": content},
        )
    assert raised.value.status == 422
    assert '"sha" wasn\'t supplied' in raised.value.data["message"]


# -- a PR opened through the API is real in git --------------------------------------------
def test_pr_opened_through_git_data_api_is_in_backing_repo(
    git_repo: Path, emulator: GitHubEmulator, gh: github.Github
) -> None:
    repo = gh.get_repo("octo/demo")
    main = repo.get_branch("main")
    blob = repo.create_git_blob("def test_x():\n    assert True\n", "utf-8")
    tree = repo.create_git_tree(
        [github.InputGitTreeElement("tests/generated/test_x.py", "100644", "blob", sha=blob.sha)],
        base_tree=repo.get_git_tree(main.commit.commit.tree.sha),
    )
    commit = repo.create_git_commit(
        "Add generated tests", tree, [repo.get_git_commit(main.commit.sha)]
    )
    repo.create_git_ref("refs/heads/ci-reviewer/tests", commit.sha)
    pull = repo.create_pull(
        base="main", head="ci-reviewer/tests", title="Generated tests", body="table"
    )

    subprocess.run(["git", "-C", str(git_repo), "cat-file", "-e", commit.sha], check=True)
    assert git(git_repo, "show", "ci-reviewer/tests:tests/generated/test_x.py").startswith("def")
    assert git(git_repo, "show", "-s", "--format=%s", "ci-reviewer/tests") == "Add generated tests"
    assert [f.filename for f in pull.get_files()] == ["tests/generated/test_x.py"]
    assert emulator.state.pulls[pull.number]["head"] == "ci-reviewer/tests"
    assert repo.get_pulls(state="open", head="octo:ci-reviewer/tests").totalCount == 1


def test_ref_update_must_fast_forward_unless_forced(
    git_repo: Path, emulator: GitHubEmulator, gh: github.Github
) -> None:
    first = git(git_repo, "rev-parse", "main")
    commit_files(git_repo, {"b.txt": "b\n"}, "second")
    repo = gh.get_repo("octo/demo")
    ref = repo.get_git_ref("heads/main")

    with pytest.raises(GithubException) as raised:
        ref.edit(first)
    ref.edit(first, force=True)

    assert raised.value.status == 422
    assert git(git_repo, "rev-parse", "refs/heads/main") == first
    with pytest.raises(GithubException) as missing:
        repo.get_git_ref("heads/nope")
    assert missing.value.status == 404


# -- issues, labels, search, comments --------------------------------------------------------
def test_issues_by_label_and_state_and_search(emulator: GitHubEmulator, gh: github.Github) -> None:
    repo = gh.get_repo("octo/demo")
    repo.create_label("weekly-audit", "d73a4a")
    audit = repo.create_issue(
        "Audit", body="<!-- ci-reviewer:audit -->\nfindings", labels=["weekly-audit"]
    )
    other = repo.create_issue("Other", body="nothing")
    other.edit(state="closed")

    labelled = repo.get_issues(state="open", labels=[repo.get_label("weekly-audit")])
    closed = repo.get_issues(state="closed")
    found = gh.search_issues('repo:octo/demo is:issue is:open in:body "ci-reviewer:audit"')

    assert [i.number for i in labelled] == [audit.number]
    assert [i.number for i in closed] == [other.number]
    assert [i.number for i in found] == [audit.number]
    assert found.totalCount == 1


def test_issue_comment_create_list_edit(
    git_repo: Path, emulator: GitHubEmulator, gh: github.Github
) -> None:
    feature_branch(git_repo, {"app.py": edited_app()})
    number = emulator.open_pull("feature")
    issue = gh.get_repo("octo/demo").get_issue(number)

    comment = issue.create_comment("<!-- ci-reviewer:summary -->\nfirst")
    comment.edit("<!-- ci-reviewer:summary -->\nsecond")

    assert [c.body for c in issue.get_comments()] == ["<!-- ci-reviewer:summary -->\nsecond"]
    assert emulator.state.issue_comments[number][0]["body"].endswith("second")


# -- check runs ------------------------------------------------------------------------------
def test_check_run_annotations_in_chunks(
    git_repo: Path, emulator: GitHubEmulator, gh: github.Github
) -> None:
    head = git(git_repo, "rev-parse", "main")
    repo = gh.get_repo("octo/demo")
    notes = [
        {
            "path": "app.py",
            "start_line": i,
            "end_line": i,
            "annotation_level": "warning",
            "message": f"finding {i}",
        }
        for i in range(1, 71)
    ]
    run = repo.create_check_run(
        "ci-reviewer",
        head,
        status="in_progress",
        output={"title": "t", "summary": "s", "annotations": notes[:50]},
    )
    run.edit(conclusion="failure", output={"title": "t", "summary": "s", "annotations": notes[50:]})
    with pytest.raises(GithubException) as too_many:
        run.edit(output={"title": "t", "summary": "s", "annotations": notes[:51]})

    assert too_many.value.status == 422
    assert run.get_annotations().totalCount == 70
    listed = repo.get_commit(head).get_check_runs()
    assert [(r.name, r.conclusion) for r in listed] == [("ci-reviewer", "failure")]
    assert emulator.state.check_runs[0]["output"]["annotations_count"] == 70


# -- compare ---------------------------------------------------------------------------------
def test_compare_statuses(git_repo: Path, emulator: GitHubEmulator, gh: github.Github) -> None:
    feature_branch(git_repo, {"f.txt": "f\n"})
    repo = gh.get_repo("octo/demo")
    assert repo.compare("main", "main").status == "identical"
    ahead = repo.compare("main", "feature")
    assert (ahead.status, ahead.ahead_by, ahead.behind_by) == ("ahead", 1, 0)
    assert [f.filename for f in ahead.files] == ["f.txt"]
    assert repo.compare("feature", "main").status == "behind"
    commit_files(git_repo, {"m.txt": "m\n"}, "main moves on")
    diverged = repo.compare("main", "feature")
    assert (diverged.status, diverged.ahead_by, diverged.behind_by) == ("diverged", 1, 1)
    assert diverged.merge_base_commit.sha == git(git_repo, "rev-parse", "main~1")


# -- faithful failures -----------------------------------------------------------------------
def test_missing_and_wrong_token_are_401(emulator: GitHubEmulator) -> None:
    anonymous = github.Github(base_url=emulator.url, retry=None)
    wrong = client(emulator, token="not-the-token", retry=None)
    with pytest.raises(GithubException) as missing:
        anonymous.get_repo("octo/demo")
    with pytest.raises(GithubException) as bad:
        wrong.get_repo("octo/demo")
    assert (missing.value.status, missing.value.data["message"]) == (401, "Requires authentication")
    assert (bad.value.status, bad.value.data["message"]) == (401, "Bad credentials")
    anonymous.close()
    wrong.close()


def test_unknown_route_is_404_json_and_recorded(
    emulator: GitHubEmulator, gh: github.Github
) -> None:
    repo = gh.get_repo("octo/demo")
    with pytest.raises(GithubException) as raised:
        repo.get_deployments().totalCount  # noqa: B018 - fetching is the point
    assert raised.value.status == 404
    assert raised.value.data["message"] == "Not Found"
    assert ("GET", "/repos/octo/demo/deployments") in emulator.unknown_routes


def test_read_only_token_cannot_write(emulator: GitHubEmulator, gh: github.Github) -> None:
    emulator.set_permissions(write=False)
    repo = gh.get_repo("octo/demo")
    with pytest.raises(GithubException) as raised:
        repo.create_issue("nope")
    assert raised.value.status == 403
    assert raised.value.data["message"] == "Resource not accessible by integration"
    assert emulator.state.issues == {}


def test_secondary_rate_limit_and_5xx_are_retried(emulator: GitHubEmulator) -> None:
    retry = github.GithubRetry(total=3, backoff_factor=0.01, secondary_rate_wait=0.01)
    g = client(emulator, retry=retry)
    emulator.inject(
        Fault(
            route=r"/issues$",
            status=403,
            retry_after=0,
            method="POST",
            body={
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes "
                "before you try again.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            },
        )
    )
    emulator.inject(Fault(route=r"/repos/octo/demo$", status=502))

    issue = g.get_repo("octo/demo").create_issue("after retries")

    posts = [r for r in emulator.log if r.method == "POST"]
    gets = [r for r in emulator.log if r.path == "/repos/octo/demo"]
    assert issue.number in emulator.state.issues
    assert (len(posts), len(gets)) == (2, 2)
    g.close()


def test_rate_limit_not_retried_without_retry(emulator: GitHubEmulator) -> None:
    g = client(emulator, retry=None)
    emulator.inject(
        Fault(
            route=r"/repos/octo/demo$",
            status=403,
            retry_after=60,
            body={
                "message": "You have exceeded a secondary rate limit.",
                "documentation_url": "https://docs.github.com/rest",
            },
        )
    )
    with pytest.raises(GithubException) as raised:
        g.get_repo("octo/demo")
    assert raised.value.status == 403
    assert raised.value.headers.get("retry-after") == "60"
    g.close()


def test_missing_openapi_description_fails_with_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"scripts/fetch-github-openapi\.sh"):
        openapi.read_spec(tmp_path / "absent.json")


def test_validator_rejects_a_wrong_shape() -> None:
    problems = openapi.validation_errors("GET", "/repos/octo/demo/pulls/1", 200, {"number": 1})
    unknown = openapi.validation_errors("GET", "/repos/octo/demo/no-such-thing", 200, {})
    assert problems and all("is a required property" in p for p in problems)
    assert unknown == [
        "GET /repos/octo/demo/no-such-thing: no operation in the OpenAPI description"
    ]


def test_authenticated_user_validates_and_names_the_actor(
    emulator: GitHubEmulator, gh: github.Github
) -> None:
    me = gh.get_user()
    assert me.login == emulator.actor
    assert me.type == "Bot"


def test_contents_of_a_symlink_as_github_answers_it(
    git_repo: Path, emulator: GitHubEmulator, gh: github.Github
) -> None:
    """Docs, "Get repository content": a link to a regular file of the repository is
    answered with that file (its `path` is the target's, hub4j/github-api#875); any other
    link with `"type": "symlink"` and its `target`, no content."""
    (git_repo / "alias.py").symlink_to("app.py")
    (git_repo / "out").symlink_to("../elsewhere.txt")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "links")
    repo = gh.get_repo("octo/demo")

    alias = repo.get_contents("alias.py", ref="main")
    out = repo.get_contents("out", ref="main")

    assert not isinstance(alias, list) and not isinstance(out, list)
    assert (alias.type, alias.path) == ("file", "app.py")
    assert alias.decoded_content.decode().splitlines()[0] == "line 1"
    assert (out.type, out.path, out.target) == ("symlink", "out", "../elsewhere.txt")
