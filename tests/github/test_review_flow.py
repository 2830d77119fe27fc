"""The review on GitHub end to end through `run_github_review`, with the real PyGithub and
anthropic SDKs against the emulators: what a team sees on its pull request."""

from __future__ import annotations

from tests.github.test_review_fixtures import World, numbered, world

__all__ = ["world"]


def test_two_runs_leave_one_review_and_one_summary(world: World) -> None:
    head = world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    world.findings("app.py", {"line": 5, "title": "eval of user input", "severity": "critical"})

    first = world.run(number)
    second = world.run(number)

    assert len(world.reviews(number)) == 1
    assert len(world.summaries(number)) == 1
    assert first.exit_code == second.exit_code == 1
    assert world.reviews(number)[0]["state"] == "CHANGES_REQUESTED"
    assert world.reviews(number)[0]["commit_id"] == head
    assert "no new changes since" in world.summaries(number)[0]["body"]
    assert head[:12] in world.summaries(number)[0]["body"]
    assert [run["conclusion"] for run in world.check_runs()] == ["failure"]
    assert second.outputs["findings-count"] == "1"
    assert second.outputs["review-url"] == first.outputs["review-url"] != ""
