"""The review when history moves under it, as GitHub reports it: a force-push onto an
unrelated history (compare answers 404 "No common ancestor", which PyGithub raises as a plain
GithubException), and a base branch that moved on after the PR opened (GitHub's `base.sha`
is the base's tip then, not where the PR forked). A reviewed commit that is gone altogether
is in test_review_flow."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ci_reviewer.emulators.claude import Reply
from ci_reviewer.github.client import GitHubSettings, make_github
from ci_reviewer.github.review_source import PullRequestRef, load_pull, pull_source
from tests.emulators.github_fixtures import TOKEN, commit_files, git
from tests.github.test_review_fixtures import BASE_APP, REPO, World, numbered, world
from tests.review.conftest import answer, file_of

__all__ = ["world"]


def rewrite_history(world: World, feature_files: dict[str, str]) -> str:
    """Rewrite the whole repository (as `git filter-repo` does): `main` and `feature` are
    force-pushed onto a new root commit with main's files; no commit is shared with before."""
    repo = world.repo
    git(repo, "checkout", "-q", "--orphan", "rewritten-main", "main")
    git(repo, "commit", "-q", "-m", "initial (rewritten)")
    git(repo, "checkout", "-q", "-b", "rewritten-feature")
    head = commit_files(repo, feature_files, "feature (rewritten)")
    git(repo, "branch", "-f", "main", "rewritten-main")
    git(repo, "checkout", "-q", "-B", "feature", "rewritten-feature")
    return head


def has_common_ancestor(repo: Path, a: str, b: str) -> bool:
    command = ["git", "-C", str(repo), "merge-base", a, b]
    found = subprocess.run(command, capture_output=True, check=False)
    return found.returncode == 0


def test_a_force_push_onto_an_unrelated_history_means_a_full_review_and_later_runs_work(
    world: World,
) -> None:
    reviewed = world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    world.run(number)
    asked = len(world.claude.requests)

    rewritten = rewrite_history(world, {"app.py": numbered({5: "x = 1"}), "lib.py": "y = 2\n"})
    assert not has_common_ancestor(world.repo, reviewed, rewritten)
    outcome = world.run(number)  # GitHub's compare answers 404 "No common ancestor ..."

    assert outcome.error is None and outcome.exit_code == 0
    assert world.files_asked(since=asked) == {"app.py", "lib.py"}
    summary = world.summaries(number)[0]["body"]
    assert f"reviewed {rewritten[:12]}" in summary
    assert f"{reviewed[:12]} shares no history with the head" in summary

    # The next push is reviewed incrementally again, from the rewritten head.
    asked = len(world.claude.requests)
    world.push({"extra.py": "z = 3\n"}, "one more")
    world.run(number)
    assert world.files_asked(since=asked) == {"extra.py"}
    assert f"changes since {rewritten[:12]}" in world.summaries(number)[0]["body"]


# -- a base branch that moved on ---------------------------------------------------------------
MAIN_MOVED = BASE_APP.replace("line 30\n", "line 30 changed on main\n")


def base_moves_on(world: World) -> tuple[str, str]:
    """`feature` forks from main, changes app.py line 5; then main changes line 30 of app.py
    and adds other.py. Returns (the fork point, main's new tip)."""
    fork = git(world.repo, "rev-parse", "main")
    world.push({"app.py": numbered({5: "eval(input())"})})
    git(world.repo, "checkout", "-q", "main")
    tip = commit_files(world.repo, {"app.py": MAIN_MOVED, "other.py": "o = 1\n"}, "main moves")
    git(world.repo, "checkout", "-q", "feature")
    return fork, tip


def read_base_then_answer(body: Mapping[str, Any]) -> Reply:
    """The model reads app.py at the base, then answers without findings."""
    if len(body["messages"]) == 1:
        return Reply.tool_use([("read_base_file", {"path": file_of(body)})])
    return Reply.json(answer())


def base_file_read(world: World) -> str:
    """What read_base_file returned to the model (the tool_result of its second call)."""
    second = next(c for c in world.claude.requests if len(c.body["messages"]) > 1)
    return json.dumps(second.body["messages"][-1]["content"])


def test_a_base_branch_that_moved_on_shows_the_model_only_the_prs_own_changes(
    world: World,
) -> None:
    fork, tip = base_moves_on(world)
    number = world.open_pr()  # opened after main moved: GitHub's base.sha is main's tip
    world.claude.responder = read_base_then_answer

    outcome = world.run(number)

    assert outcome.exit_code == 0
    gh = make_github(GitHubSettings(world.github.url, TOKEN))
    assert gh.get_repo(REPO).get_pull(number).base.sha == tip != fork
    gh.close()
    assert world.files_asked() == {"app.py"}  # not other.py, which main added
    first = json.dumps(world.claude.requests[0].body["messages"][0]["content"])
    assert f"Base commit {fork}" in first and tip not in first
    assert "changed on main" not in first  # main's line 30 is no part of the PR's diff
    read = base_file_read(world)
    assert f"app.py at base {fork[:12]}" in read
    assert "line 30" in read and "changed on main" not in read


def test_a_push_after_the_base_moved_takes_a_new_base_snapshot_and_the_fork_point_holds(
    world: World,
) -> None:
    fork = git(world.repo, "rev-parse", "main")
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()  # base.sha: main's tip now, which is the fork point
    git(world.repo, "checkout", "-q", "main")
    tip = commit_files(world.repo, {"app.py": MAIN_MOVED}, "main moves")
    git(world.repo, "checkout", "-q", "feature")
    gh = make_github(GitHubSettings(world.github.url, TOKEN))
    assert gh.get_repo(REPO).get_pull(number).base.sha == fork  # no push yet: no new snapshot
    world.push({"app.py": numbered({5: "eval(input())", 6: "exec(input())"})}, "push")
    assert gh.get_repo(REPO).get_pull(number).base.sha == tip  # synchronize: main's tip
    gh.close()
    world.claude.responder = read_base_then_answer

    world.run(number)

    read = base_file_read(world)
    assert f"app.py at base {fork[:12]}" in read and "changed on main" not in read


def test_without_the_history_in_the_checkout_the_fork_point_comes_from_github(
    world: World, tmp_path: Path
) -> None:
    fork, tip = base_moves_on(world)
    number = world.open_pr()
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", "-b", "feature", f"file://{world.repo}", "shallow")
    gh = make_github(GitHubSettings(world.github.url, TOKEN))
    repo, pull, info = load_pull(gh, PullRequestRef(REPO, number, None, world.head()))

    source = pull_source(repo, pull, info, shallow)
    gh.close()

    assert info.base_sha == tip
    assert source.base_sha == fork
    assert [changed.path for changed in source.files] == ["app.py"]
    asked = [r.path for r in world.github.log if "/compare/" in r.path]
    assert asked == [f"/repos/{REPO}/compare/{tip}...{world.head()}"]
