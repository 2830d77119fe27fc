"""The review on GitHub end to end through `run_github_review`, with the real PyGithub and
anthropic SDKs against the emulators: what a team sees on its pull request."""

from __future__ import annotations

import pytest

from ci_reviewer.emulators.server import Fault
from ci_reviewer.errors import ClaudeAPIError, GitHubAPIError
from ci_reviewer.github.client import GitHubSettings, make_github
from ci_reviewer.github.summary import SUMMARY_MARKER, ReviewedState
from tests.emulators.github_fixtures import TOKEN, git
from tests.github.test_review_fixtures import REPO, World, numbered, world
from tests.review.conftest import finding_json
from tests.secret_samples import filler

__all__ = ["world"]


def git_amend(world: World, files: dict[str, str]) -> str:
    """Rewrite the branch's last commit (a force-push)."""
    for name, text in files.items():
        (world.repo / name).write_text(text)
    git(world.repo, "add", "-A")
    git(world.repo, "commit", "-q", "--amend", "-m", "rewritten")
    return world.head()


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


def test_a_new_commit_is_reviewed_incrementally_and_earlier_findings_are_carried(
    world: World,
) -> None:
    first_head = world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    world.findings("app.py", {"line": 5, "title": "eval of user input", "severity": "critical"})
    world.run(number)
    asked = len(world.claude.requests)

    second_head = world.push({"lib.py": "def helper():\n    return 1\n"}, "add lib")
    world.findings("lib.py", {"line": 2, "title": "magic number", "severity": "low"})
    outcome = world.run(number)

    assert world.files_asked(since=asked) == {"lib.py"}
    summary = world.summaries(number)[0]["body"]
    assert second_head[:12] in summary and f"changes since {first_head[:12]}" in summary
    # The critical finding on app.py (unchanged since) still blocks the gate.
    assert outcome.exit_code == 1
    assert outcome.outputs["findings-count"] == "2"
    assert outcome.outputs["highest-severity"] == "critical"
    assert len(world.reviews(number)) == 2
    assert [c["path"] for c in world.comments(number)] == ["app.py", "lib.py"]


def test_a_force_push_falls_back_to_a_full_review(world: World) -> None:
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    world.run(number)
    asked = len(world.claude.requests)

    git_amend(world, {"lib.py": "x = 1\n"})
    outcome = world.run(number)

    assert world.files_asked(since=asked) == {"app.py", "lib.py"}
    assert "force-push" in world.summaries(number)[0]["body"]
    assert outcome.exit_code == 0


def test_full_rerun_posts_no_finding_twice(world: World) -> None:
    world.push({"app.py": numbered({5: "eval(input())", 9: "os.system(cmd)"})})
    number = world.open_pr()
    world.findings("app.py", {"line": 5, "title": "eval of user input", "severity": "medium"})
    world.run(number)

    world.findings(
        "app.py",
        {"line": 5, "title": "Eval of  user input", "severity": "medium"},  # same finding
        {"line": 9, "title": "shell injection", "severity": "medium"},
    )
    outcome = world.run(number, full=True)

    bodies = [c["body"] for c in world.comments(number)]
    assert len(bodies) == 2
    assert sum("eval of user input" in b.lower() for b in bodies) == 1
    assert all("<!-- ci-reviewer:fp:" in b for b in bodies)
    assert "1 finding(s) already posted" in world.reviews(number)[1]["body"]
    assert outcome.exit_code == 0


def test_a_rerun_with_only_known_findings_posts_no_review(world: World) -> None:
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    world.findings("app.py", {"line": 5, "title": "eval of user input", "severity": "high"})
    world.run(number)
    outcome = world.run(number, full=True)

    assert len(world.reviews(number)) == 1
    assert outcome.exit_code == 1  # still blocking: the finding is still there
    assert outcome.outputs["review-url"] == world.reviews(number)[0]["html_url"]


def test_more_than_fifty_findings_reach_the_check_run_in_chunks(world: World) -> None:
    lines = {i: f"value_{i} = {i}" for i in range(1, 41)}
    world.push({"app.py": numbered(lines), "b.py": "".join(f"b{i} = 1\n" for i in range(80))})
    number = world.open_pr()
    world.findings(
        "app.py", *({"line": i, "title": f"t{i}", "severity": "low"} for i in range(1, 41))
    )
    world.findings(
        "b.py", *({"line": i, "title": f"b{i}", "severity": "info"} for i in range(1, 81))
    )
    world.run(number)

    (run,) = world.check_runs()
    assert len(world.github.state.annotations[run["id"]]) == 120
    writes = [r.method for r in world.github.log if "/check-runs" in r.path]
    assert [w for w in writes if w != "GET"] == ["POST", "PATCH", "PATCH"]
    assert run["conclusion"] == "success"


def test_claude_outage_with_neutral_on_api_error_passes_and_says_so(world: World) -> None:
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    world.config = world.config.model_copy(update={"on_api_error": "neutral"})
    world.claude.inject(Fault(route="/v1/messages", status=529, times=50))

    outcome = world.run(number)

    assert outcome.exit_code == 0 and outcome.error is None
    assert world.reviews(number) == []
    assert "did not run" in world.summaries(number)[0]["body"]
    assert [run["conclusion"] for run in world.check_runs()] == ["neutral"]


def test_claude_outage_fails_the_run_by_default(world: World) -> None:
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    world.claude.inject(Fault(route="/v1/messages", status=529, times=50))

    outcome = world.run(number)

    assert isinstance(outcome.error, ClaudeAPIError)
    assert outcome.error.exit_code == 3
    assert [run["conclusion"] for run in world.check_runs()] == ["failure"]
    # Nothing was reviewed, so the next run reviews everything again.
    assert "ci-reviewer:state" not in world.summaries(number)[0]["body"]


def test_a_closed_or_merged_pull_request_is_skipped(world: World) -> None:
    world.push({"app.py": numbered({5: "x"})})
    number = world.open_pr()
    world.github.close_pull(number, merged=True)

    outcome = world.run(number)

    assert outcome.exit_code == 0
    assert "is merged: nothing to review" in outcome.diagnostics[0]
    assert world.check_runs() == [] and world.summaries(number) == []


def test_nothing_in_scope_gives_a_neutral_check(world: World) -> None:
    world.push({"vendor/lib.py": "x = 1\n"})
    world.config = world.config.model_copy(update={"exclude": ["vendor/**"]})
    number = world.open_pr()

    outcome = world.run(number)

    assert outcome.exit_code == 0
    assert [run["conclusion"] for run in world.check_runs()] == ["neutral"]
    assert "vendor/lib.py" in world.summaries(number)[0]["body"]
    assert world.claude.requests == []


def test_a_summary_marker_pasted_by_the_pr_author_is_ignored(world: World) -> None:
    head = world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr(fork=True, user="outsider")
    world.findings("app.py", {"line": 5, "title": "eval of user input", "severity": "critical"})
    forged = ReviewedState(head).marker()
    world.github.actor = "outsider"
    gh = make_github(GitHubSettings(world.github.url, TOKEN))
    gh.get_repo(REPO).get_pull(number).create_issue_comment(f"{SUMMARY_MARKER}\n{forged}")
    gh.close()
    world.github.state.issue_comments[number][0]["author_association"] = "CONTRIBUTOR"
    world.github.actor = "github-actions[bot]"

    outcome = world.run(number)

    assert outcome.exit_code == 1  # reviewed, not waved through as "no new changes"
    assert len(world.summaries(number)) == 2
    assert world.files_asked() == {"app.py"}


def test_a_github_write_failing_after_retries_is_exit_3(world: World) -> None:
    world.push({"app.py": numbered({5: "x = 1"})})
    number = world.open_pr()
    world.github.inject(Fault(route="/issues/1/comments", status=502, times=10, method="POST"))

    with pytest.raises(GitHubAPIError) as failed:
        world.run(number, retries=1)

    assert failed.value.exit_code == 3
    assert "summary comment" in str(failed.value)


def test_the_summary_counts_findings_and_lists_skipped_files_with_reasons(world: World) -> None:
    world.push({"app.py": numbered({5: "eval(input())"}), "vendor/x.py": "x = 1\n"})
    world.config = world.config.model_copy(update={"exclude": ["vendor/**"]})
    number = world.open_pr()
    world.findings(
        "app.py",
        {"line": 5, "title": "eval of user input", "severity": "critical"},
        {"line": 6, "title": "naming", "severity": "low"},
    )

    outcome = world.run(number)

    body = world.summaries(number)[0]["body"]
    assert "| 🔴 critical | 1 |" in body and "| 🔵 low | 1 |" in body
    assert "| 🟠 high | 0 |" in body
    assert "files reviewed: 1" in body and "skipped: 1" in body
    assert "- `vendor/x.py`: excluded by config" in body
    assert f"cost: ${float(outcome.outputs['cost-usd']):.4f}" in body
    assert "duration: " in body
    assert ReviewedState.parse(body) == ReviewedState(
        world.head(),
        (("app.py", "critical"), ("app.py", "low")),
        world.reviews(number)[0]["html_url"],
        ReviewedState.parse(body).cost_usd,  # type: ignore[union-attr]
    )


def test_a_reviewed_commit_that_no_longer_exists_means_a_full_review(world: World) -> None:
    world.push({"app.py": numbered({5: "x = 1"}), "lib.py": "y = 2\n"})
    number = world.open_pr()
    gone = ReviewedState("1234567890abcdef" * 2 + "12345678").marker()
    gh = make_github(GitHubSettings(world.github.url, TOKEN))
    gh.get_repo(REPO).get_pull(number).create_issue_comment(f"{SUMMARY_MARKER}\n{gone}")
    gh.close()

    world.run(number)  # compare: 404 "Not Found"; the commit itself: 422 "No commit found"

    assert world.files_asked() == {"app.py", "lib.py"}
    (summary,) = world.summaries(number)
    assert "1234567890ab no longer exists on GitHub (force-push)" in summary["body"]
    assert world.head()[:12] in summary["body"]


def test_a_pr_adding_a_dotenv_is_reviewed_and_the_summary_says_it_was_not_sent(
    world: World,
) -> None:
    value = "API_TOKEN=" + filler("flow-env", 30)
    world.push({".env": value + "\n", "app.py": numbered({5: "x = 1"})})
    number = world.open_pr()

    world.run(number)

    assert value not in str([call.body for call in world.claude.requests])
    assert world.files_asked() == {"app.py"}
    summary = world.summaries(number)[0]["body"]
    assert "**Not sent to the model (secret policy):**\n- `.env`: secret by name: .env" in summary


def test_the_same_finding_from_two_conversations_is_one_comment_counted_once(
    world: World,
) -> None:
    """The conversation about util.py reports the finding on app.py that app.py's own
    conversation reports (same path, line, category and title: one fingerprint)."""
    world.push({"app.py": numbered({5: "eval(input())"}), "util.py": "import app\n"})
    number = world.open_pr()
    same = {"line": 5, "title": "eval of user input", "severity": "high"}
    world.findings("app.py", same)
    world.answers["util.py"] = [finding_json(path="app.py", excerpt="eval(input())", **same)]

    outcome = world.run(number)

    assert world.files_asked() == {"app.py", "util.py"}  # two conversations answered
    [comment] = world.comments(number)
    assert comment["path"] == "app.py" and comment["line"] == 5
    [review] = world.reviews(number)
    assert "already posted" not in review["body"]
    body = world.summaries(number)[0]["body"]
    assert "| 🟠 high | 1 |" in body
    assert "already posted" not in body + outcome.job_summary
    assert outcome.outputs["findings-count"] == "1"
    assert "1 finding in 2 files" in outcome.status
