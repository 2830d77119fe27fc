"""Placing findings on the diff and posting the one review: ranges, both sides, suggestion
blocks, findings outside the diff, and the 422 split (against the GitHub emulator, which
refuses a whole review when one comment cannot be placed, as GitHub does)."""

from __future__ import annotations

from collections.abc import Iterator

import github
import pytest
from github.PullRequest import PullRequest

from ci_reviewer.emulators.github_routes import Quirks
from ci_reviewer.github.client import GitHubSettings, make_github
from ci_reviewer.github.publish_review import (
    InlineComment,
    ReviewPlan,
    place,
    plan_review,
    post_review,
)
from ci_reviewer.github.review_source import PullRequestRef, load_pull, pull_source
from ci_reviewer.review.diff import ReviewSource
from ci_reviewer.review.findings import Finding
from tests.emulators.github_fixtures import TOKEN
from tests.github.test_review_fixtures import REPO, World, numbered, world

__all__ = ["world"]
# app.py on the branch: lines 5-7 replaced, line 30 removed; everything else unchanged.
BRANCH_APP = numbered({5: "a = 1", 6: "b = 2", 7: "c = 3"}).replace("line 30\n", "")


def finding(line: int, end_line: int | None = None, **fields: object) -> Finding:
    values: dict[str, object] = {
        "path": "app.py",
        "line": line,
        "end_line": end_line,
        "severity": "medium",
        "category": "correctness",
        "title": f"problem at {line}",
        "body": "Explain.",
        **fields,
    }
    return Finding(**values)  # type: ignore[arg-type]


@pytest.fixture
def pr(world: World) -> Iterator[tuple[World, PullRequest, ReviewSource, github.Github]]:
    world.push({"app.py": BRANCH_APP})
    number = world.open_pr()
    gh = make_github(GitHubSettings(world.github.url, TOKEN))
    repo, pull, info = load_pull(gh, PullRequestRef(REPO, number, None, world.head()))
    try:
        yield world, pull, pull_source(repo, pull, info, world.repo), gh
    finally:
        gh.close()


def post(pull: PullRequest, gh: github.Github, plan: ReviewPlan, event: str = "COMMENT") -> object:
    commit = gh.get_repo(REPO).get_commit(pull.head.sha)
    return post_review(pull, commit, plan, event=event, headline="test", redact=str)


def test_placement_ranges_single_lines_and_outside_the_diff(pr: tuple) -> None:
    _, _, source, _ = pr
    app = source.file("app.py")

    ranged = place(finding(5, 7), app)
    assert ranged is not None
    assert (ranged.start_line, ranged.line, ranged.side, ranged.start_side) == (
        5,
        7,
        "RIGHT",
        "RIGHT",
    )
    context = place(finding(3), app)  # a context line shown in the hunk
    assert context is not None and context.line == 3
    assert place(finding(20), app) is None  # far from any hunk
    assert place(finding(5, path="README.md"), source.file("README.md")) is None
    # A range leaving its hunk shrinks to the first line, so the comment still lands.
    shrunk = place(finding(6, 20), app)
    assert shrunk is not None and (shrunk.start_line, shrunk.line) == (None, 6)


def test_inline_comments_land_on_both_sides_and_ranges(pr: tuple) -> None:
    world, pull, source, gh = pr
    assert source.file("app.py").commentable(30, "LEFT")  # the removed line
    plan = ReviewPlan(
        inline=(
            InlineComment(finding(5, 7, suggestion="a = b = c = 0"), 7, "RIGHT", 5, "RIGHT"),
            InlineComment(finding(30, title="removed line"), 30, "LEFT"),
            InlineComment(finding(6, title="mixed"), 6, "RIGHT", 5, "LEFT"),
        ),
        in_body=(finding(20, title="outside"),),
    )

    post(pull, gh, plan)

    comments = {c["body"].split("\n")[0]: c for c in world.comments(pull.number)}
    ranged = next(c for title, c in comments.items() if "problem at 5" in title)
    assert (ranged["start_line"], ranged["line"], ranged["side"]) == (5, 7, "RIGHT")
    assert "```suggestion\na = b = c = 0\n```" in ranged["body"]
    left = next(c for title, c in comments.items() if "removed line" in title)
    assert (left["line"], left["side"]) == (30, "LEFT")
    mixed = next(c for title, c in comments.items() if "mixed" in title)
    assert (mixed["start_side"], mixed["side"]) == ("LEFT", "RIGHT")
    (review,) = world.reviews(pull.number)
    assert "`app.py:20` outside" in review["body"]


def test_a_suggestion_is_a_block_only_when_the_comment_covers_its_lines(pr: tuple) -> None:
    _, _, source, _ = pr
    plan = plan_review(
        [finding(6, 20, suggestion="fixed = True", title="too wide")], source, posted=set()
    )
    (comment,) = plan.inline
    body = comment.payload(str)["body"]
    assert "```suggestion" not in body
    assert "Suggested change not attached: this comment could not be anchored" in body
    assert "fixed = True" in body


def test_a_suggestion_holding_backticks_gets_a_longer_fence(pr: tuple) -> None:
    _, _, source, _ = pr
    plan = plan_review([finding(5, suggestion="s = '```'")], source, posted=set())
    assert "````suggestion\ns = '```'\n````" in plan.inline[0].payload(str)["body"]


def test_a_422_moves_the_unplaceable_comments_into_the_body_and_posts_the_rest(
    pr: tuple,
) -> None:
    world, pull, _, gh = pr
    good = InlineComment(finding(5, title="good one"), 5)
    bad = InlineComment(finding(20, title="not in the diff"), 20)
    bad_range = InlineComment(finding(3, title="range across hunks"), 35, "RIGHT", 3, "RIGHT")

    posted = post(pull, gh, ReviewPlan((good, bad, bad_range), ()))

    (review,) = world.reviews(pull.number)
    assert [c["line"] for c in world.comments(pull.number)] == [5]
    assert "not in the diff" in review["body"] and "range across hunks" in review["body"]
    assert "GitHub: HTTP 422" in review["body"]
    assert len(posted.moved) == 2  # type: ignore[attr-defined]
    creates = [r for r in world.github.log if r.method == "POST" and r.path.endswith("/reviews")]
    assert len(creates) == 2  # the refused one, then the one that landed


def test_request_changes_on_ones_own_pull_request_becomes_a_comment(world: World) -> None:
    world.push({"app.py": BRANCH_APP})
    number = world.open_pr(user=world.github.actor)
    world.findings("app.py", {"line": 5, "title": "bad", "severity": "critical"})

    outcome = world.run(number)

    (review,) = world.reviews(number)
    assert review["state"] == "COMMENTED"
    assert [c["line"] for c in world.comments(number)] == [5]  # the comment stays inline
    assert outcome.exit_code == 1  # the gate still blocks


def test_a_422_after_which_github_kept_the_body_leaves_one_review_holding_every_finding(
    pr: tuple,
) -> None:
    """GitHub can answer 422 to a review whose comment it cannot place and keep the review's
    body all the same (max-sixty/tend#123): posting the body again would make two reviews."""
    world, pull, _, gh = pr
    world.github.quirks = Quirks(keep_body_of_refused_review=True)
    good = InlineComment(finding(5, title="good one"), 5)
    bad = InlineComment(finding(20, title="not in the diff"), 20)

    posted = post(pull, gh, ReviewPlan((good, bad), (finding(25, title="outside"),)))

    (review,) = world.reviews(pull.number)
    assert world.comments(pull.number) == []  # GitHub kept none of the refused review's
    for title in ("good one", "not in the diff", "outside"):
        assert title in review["body"]
    assert posted.kept and posted.review_id == review["id"]  # type: ignore[attr-defined]
    creates = [r for r in world.github.log if r.method == "POST" and r.path.endswith("/reviews")]
    assert len(creates) == 1
    assert [r.method for r in world.github.log if "/reviews/" in r.path] == ["PUT"]
