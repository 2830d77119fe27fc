"""Findings fixed since the last review resolve their own threads: on the next run, a
finding the product posted inline whose file was reviewed again and which is no longer found
has its review thread resolved (GraphQL resolveReviewThread), unless someone replied in it
or someone else started it; the summary lists the fixed findings with links."""

from __future__ import annotations

from typing import Any

from ci_reviewer.github.client import GitHubSettings, make_github
from tests.emulators.github_fixtures import TOKEN
from tests.github.test_review_fixtures import REPO, World, numbered, world

__all__ = ["world"]

EVAL = {"line": 5, "title": "eval of user input", "severity": "high", "category": "security"}
EXEC = {"line": 7, "title": "exec of user input", "severity": "medium", "category": "security"}
BOTH = {5: "eval(input())", 7: "exec(input())"}


def first_review(world: World) -> int:
    """A PR whose app.py has two findings, reviewed once: two inline comments, two threads."""
    world.push({"app.py": numbered(BOTH)})
    number = world.open_pr()
    world.findings("app.py", EVAL, EXEC)
    world.run(number)
    assert len(world.comments(number)) == 2
    return number


def comment_on(world: World, number: int, line: int) -> dict[str, Any]:
    return next(c for c in world.comments(number) if c["line"] == line)


def resolved(world: World, comment: dict[str, Any]) -> bool:
    return comment["id"] in world.github.state.resolved_threads


def reply_as(world: World, number: int, comment_id: int, login: str, body: str) -> None:
    """`login` replies in the thread, through the REST API as a person would."""
    actor, world.github.actor = world.github.actor, login
    gh = make_github(GitHubSettings(world.github.url, TOKEN))
    try:
        gh.get_repo(REPO).get_pull(number).create_review_comment_reply(comment_id, body)
    finally:
        world.github.actor = actor
        gh.close()


def summary(world: World, number: int) -> str:
    return str(world.summaries(number)[0]["body"])


def test_a_fixed_findings_thread_is_resolved_and_the_summary_links_it(world: World) -> None:
    number = first_review(world)
    fixed, kept = comment_on(world, number, 5), comment_on(world, number, 7)

    world.push({"app.py": numbered({5: "value = int(input())", 7: BOTH[7]})}, "fix eval")
    world.findings("app.py", EXEC)  # the exec finding is found again
    outcome = world.run(number)

    assert outcome.error is None
    assert resolved(world, fixed) and not resolved(world, kept)
    assert world.github.state.resolved_threads[fixed["id"]] == world.github.actor
    assert len(world.comments(number)) == 2  # the exec finding is not posted again
    text = summary(world, number)
    assert "**Fixed since the last review (1):**" in text
    line = f"- [🟠 high · security: eval of user input]({fixed['html_url']}) in `app.py`"
    assert line in text.splitlines()
    assert "exec of user input" not in text  # still found: not fixed


def test_a_thread_with_a_reply_is_left_open_and_the_summary_says_so(world: World) -> None:
    number = first_review(world)
    fixed = comment_on(world, number, 5)
    reply_as(world, number, fixed["id"], "octocat", "Why is this a problem?")

    world.push({"app.py": numbered({5: "value = int(input())", 7: BOTH[7]})}, "fix eval")
    world.findings("app.py", EXEC)
    world.run(number)

    assert not resolved(world, fixed)
    left_open = (
        f"- [🟠 high · security: eval of user input]({fixed['html_url']}) in `app.py` "
        "(thread left open: someone replied)"
    )
    assert left_open in summary(world, number).splitlines()


def test_a_thread_someone_else_started_with_our_marker_stays_open(world: World) -> None:
    number = first_review(world)
    ours = comment_on(world, number, 5)
    # Anyone can paste our hidden fingerprint into a comment of their own.
    actor, world.github.actor = world.github.actor, "mallory"
    gh = make_github(GitHubSettings(world.github.url, TOKEN))
    pull = gh.get_repo(REPO).get_pull(number)
    pasted = pull.create_review_comment(
        ours["body"], pull.get_commits().reversed[0], "app.py", line=6, side="RIGHT"
    )
    world.github.actor = actor
    gh.close()

    world.push({"app.py": numbered({5: "value = int(input())", 7: BOTH[7]})}, "fix eval")
    world.findings("app.py", EXEC)
    world.run(number)

    assert resolved(world, ours)
    assert pasted.id not in world.github.state.resolved_threads
    assert summary(world, number).count("eval of user input") == 1


def test_a_finding_whose_file_was_not_reviewed_again_stays_open(world: World) -> None:
    number = first_review(world)

    asked = len(world.claude.requests)
    world.push({"other.py": "print('unrelated')\n"}, "another file")  # app.py unchanged
    world.findings("other.py")
    world.run(number)

    assert world.files_asked(since=asked) == {"other.py"}
    assert world.github.state.resolved_threads == {}
    assert "Fixed since the last review" not in summary(world, number)


def test_a_token_github_refuses_resolves_nothing_and_the_run_says_why(world: World) -> None:
    number = first_review(world)
    # The workflow's token may comment (issues, checks) but not write pull requests.
    world.github.set_token_scopes(
        {"contents": "read", "pull_requests": "read", "issues": "write", "checks": "write"}
    )

    world.push({"app.py": numbered({5: "value = int(input())", 7: BOTH[7]})}, "fix eval")
    world.findings("app.py", EXEC)
    outcome = world.run(number)

    assert world.github.state.resolved_threads == {}
    assert outcome.error is None
    said = [line for line in outcome.diagnostics if "no review thread resolved" in line]
    assert said and "FORBIDDEN" in said[0]
