"""GitHub failing under the pull-request review (real PyGithub against the GitHub emulator):
a 422 on the review, a secondary rate limit on the review or the summary, a lasting 5xx, a
head commit GitHub no longer has. Each is survived (one review, one summary) or ends in
exit 3 with what GitHub answered; the next run then completes without writing anything twice.
"""

from __future__ import annotations

import re

import pytest

from ci_reviewer.cli import cli as cli_group
from ci_reviewer.cli.errors import run_guarded
from ci_reviewer.emulators.server import Fault
from ci_reviewer.errors import GitHubAPIError
from tests.github.test_review_fixtures import World, numbered, world

__all__ = ["world"]
REVIEWS = r"^/repos/octo/demo/pulls/\d+/reviews$"
SUMMARY = r"^/repos/octo/demo/issues/\d+/comments$"
SECONDARY = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}


def pr_with_findings(world: World) -> int:
    """A PR whose review holds one inline finding (line 5) and one outside the diff (20)."""
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    world.findings(
        "app.py",
        {"line": 5, "title": "eval of user input", "severity": "critical"},
        {"line": 20, "title": "unused constant", "severity": "low"},
    )
    return number


def posts(world: World, route: str) -> int:
    return sum(1 for r in world.github.log if r.method == "POST" and re.search(route, r.path))


def assert_written_once(world: World, number: int) -> None:
    """One review holding both findings once, one summary, one check run."""
    (review,) = world.reviews(number)
    everything = review["body"] + "".join(c["body"] for c in world.comments(number))
    assert everything.count("eval of user input") == 1
    assert everything.count("unused constant") == 1
    assert len(world.summaries(number)) == 1
    assert len(world.check_runs()) == 1


def test_a_422_on_the_review_moves_the_comments_into_one_review(world: World) -> None:
    number = pr_with_findings(world)
    refusal = {"message": "Unprocessable Entity", "errors": ["Line could not be resolved"]}
    # GitHub refuses the comment (its diff fits ours, so the event is tried first) for as
    # long as the review carries it inline: the REQUEST_CHANGES and the COMMENT that keep it.
    world.github.inject(Fault(REVIEWS, status=422, times=2, method="POST", body=refusal))

    outcome = world.run(number)

    assert outcome.exit_code == 1
    assert posts(world, REVIEWS) == 3  # refused twice, then posted with it in the body
    assert_written_once(world, number)
    (review,) = world.reviews(number)
    assert review["state"] == "CHANGES_REQUESTED"  # the event asked for, once it was not it
    assert "Line could not be resolved" in review["body"]
    assert any("moved to the review body" in note for note in outcome.diagnostics)
    # A full re-run finds every fingerprint (in the body too) and posts no second review.
    world.run(number, full=True)
    assert_written_once(world, number)


@pytest.mark.parametrize("route", [REVIEWS, SUMMARY], ids=["review", "summary"])
def test_a_secondary_rate_limit_is_waited_out(world: World, route: str) -> None:
    number = pr_with_findings(world)
    world.github.inject(
        Fault(route, status=403, times=1, retry_after=1, method="POST", body=SECONDARY)
    )

    outcome = world.run(number)

    assert outcome.exit_code == 1
    assert posts(world, route) == 2
    assert_written_once(world, number)


@pytest.mark.parametrize(
    ("route", "action"),
    [(REVIEWS, "posting the review"), (SUMMARY, "writing the summary comment")],
    ids=["review", "summary"],
)
def test_a_lasting_5xx_is_exit_3_and_the_next_run_writes_once(
    world: World, route: str, action: str
) -> None:
    number = pr_with_findings(world)
    world.github.inject(Fault(route, status=502, times=50, method="POST"))

    with pytest.raises(GitHubAPIError) as failed:
        world.run(number, retries=2)

    assert failed.value.exit_code == 3
    assert f"{action}: GitHub answered 502 (Bad Gateway) after 2 retries" in str(failed.value)
    world.github.faults.clear()

    outcome = world.run(number)

    assert outcome.exit_code == 1
    assert_written_once(world, number)


def test_a_head_commit_github_no_longer_has_is_exit_3_naming_it(world: World) -> None:
    """The event names a head that a force-push has since replaced and GitHub dropped."""
    number = pr_with_findings(world)
    head = world.head()
    world.github.inject(Fault(rf"/commits/{head}$", status=404, times=50, method="GET"))

    with pytest.raises(GitHubAPIError) as failed:
        world.run(number)

    assert f"reading commit {head[:12]}" in str(failed.value)
    assert "404" in str(failed.value)
    assert world.reviews(number) == []
    assert world.summaries(number) == []


@pytest.mark.usefixtures("short_github_backoff")
def test_through_the_cli_a_lasting_5xx_says_what_github_answered(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    number = pr_with_findings(world)
    for name, value in world.env(number).items():
        monkeypatch.setenv(name, value)
    world.github.inject(Fault(SUMMARY, status=503, times=50, method="POST"))

    code = run_guarded(lambda: cli_group.main(args=["review"], standalone_mode=False))

    err = capsys.readouterr().err
    assert code == 3
    assert "writing the summary comment: GitHub answered 503 (Service Unavailable)" in err
    assert "after 6 retries" in err
    assert world.summaries(number) == []
    assert len(world.reviews(number)) == 1
