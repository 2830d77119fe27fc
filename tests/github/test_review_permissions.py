"""Fork safety and missing permissions: a read-only token never crashes the run (results go
to the job summary and workflow-command annotations), and pull_request_target refuses a
checkout of the PR's code unless the config accepts the risk."""

from __future__ import annotations

import pytest

from ci_reviewer.emulators.server import Fault
from ci_reviewer.errors import InputError
from tests.emulators.github_fixtures import git
from tests.github.test_review_fixtures import World, numbered, world

__all__ = ["world"]
FORBIDDEN = {"message": "Resource not accessible by integration", "status": "403"}


def test_a_fork_pr_with_a_read_only_token_reports_through_the_job(world: World) -> None:
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr(fork=True, user="outsider")
    world.github.set_permissions(write=False)
    world.findings("app.py", {"line": 5, "title": "eval of user input", "severity": "high"})

    outcome = world.run(number)

    assert outcome.exit_code == 1  # the gate still holds
    assert world.reviews(number) == [] and world.check_runs() == []
    assert any(c.startswith("::error file=app.py,line=5") for c in outcome.commands)
    assert "eval of user input" in outcome.job_summary
    notes = " ".join(outcome.diagnostics)
    assert "no review posted" in notes and "no summary comment" in notes
    assert "checks: write" in notes


def test_without_checks_write_the_findings_become_workflow_annotations(world: World) -> None:
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    world.findings("app.py", {"line": 5, "title": "eval of user input", "severity": "medium"})
    world.github.inject(Fault(route="/check-runs", status=403, method="POST", body=FORBIDDEN))

    outcome = world.run(number)

    assert len(world.reviews(number)) == 1 and len(world.summaries(number)) == 1
    assert outcome.commands == (
        "::warning file=app.py,line=5,endLine=5,title=medium%3A eval of user input::"
        "add returns a - b.",
    )
    assert "written as workflow-command annotations" in world.summaries(number)[0]["body"]


def test_pull_request_target_refuses_a_checkout_of_the_pr_head(world: World) -> None:
    world.push({"app.py": numbered({5: "x"})})
    number = world.open_pr()

    with pytest.raises(InputError) as refused:
        world.run(number, event="pull_request_target")

    assert "pull_request_target" in str(refused.value)
    assert "allow_pull_request_target_checkout" in str(refused.value)
    assert world.claude.requests == [] and world.check_runs() == []


def test_pull_request_target_with_the_base_checked_out_is_reviewed(world: World) -> None:
    head = world.push({"app.py": numbered({5: "x"})})
    number = world.open_pr()
    git(world.repo, "checkout", "-q", "main")

    outcome = world.run(number, head_sha=head, event="pull_request_target")

    assert outcome.exit_code == 0
    assert [run["head_sha"] for run in world.check_runs()] == [head]


ALLOW = "review:\n  allow_pull_request_target_checkout: true\n"


def test_pull_request_target_checkout_allowed_by_the_base_config(world: World) -> None:
    git(world.repo, "checkout", "-q", "main")
    world.push({".github/ci-reviewer.yml": ALLOW}, "accept the risk on main")
    git(world.repo, "checkout", "-q", "feature")
    git(world.repo, "merge", "-q", "main")
    world.push({"app.py": numbered({5: "x"})})
    number = world.open_pr()

    assert world.run(number, event="pull_request_target").exit_code == 0


def test_pull_request_target_ignores_an_allowance_the_pr_itself_adds(world: World) -> None:
    """The checkout's config is the PR author's: it cannot accept the risk for the base."""
    world.push({"app.py": numbered({5: "x"}), ".github/ci-reviewer.yml": ALLOW})
    number = world.open_pr()
    world.config = world.config.model_copy(update={"allow_pull_request_target_checkout": True})

    with pytest.raises(InputError, match="allow_pull_request_target_checkout"):
        world.run(number, event="pull_request_target")
    assert world.claude.requests == []


def test_without_checks_write_only_what_github_shows_is_printed_most_important_first(
    world: World,
) -> None:
    """GitHub shows at most 10 error, 10 warning and 10 notice annotations of a step (actions/
    toolkit docs/problem-matchers.md, "Limitations"): 37 findings print 30, and say so."""
    world.push({"app.py": numbered({i: f"v{i} = {i}" for i in range(1, 38)})})
    number = world.open_pr()
    spec = (
        [(line, "high", 0.5) for line in range(1, 5)]
        + [(line, "high", 0.8) for line in range(5, 9)]
        + [(line, "critical", 0.9) for line in range(9, 13)]
        + [(line, "medium", 0.9) for line in range(13, 26)]
        + [(line, "low", 0.9) for line in range(26, 32)]
        + [(line, "info", 0.9) for line in range(32, 38)]
    )
    world.findings(
        "app.py",
        *(
            {"line": line, "severity": level, "confidence": sure, "title": f"issue {line:02}"}
            for line, level, sure in spec
        ),
    )
    world.github.set_permissions(write=True, checks=False)

    outcome = world.run(number)

    # errors: the 4 critical, then the 4 surest high, then the first 2 others; warnings: the
    # first 10 medium; notices: the 6 low, then 4 info. Left out: lines 3, 4, 23-25, 36, 37.
    expected = [9, 10, 11, 12, 5, 6, 7, 8, 1, 2, *range(13, 23), *range(26, 36)]
    assert [int(c.split(",line=")[1].split(",")[0]) for c in outcome.commands] == expected
    levels = [c.split(" ", 1)[0] for c in outcome.commands]
    assert levels == ["::error"] * 10 + ["::warning"] * 10 + ["::notice"] * 10
    notes = " ".join(outcome.diagnostics)
    assert "30 finding(s) written as workflow-command annotations instead" in notes
    assert "7 more not written there" in notes
    assert "the job summary lists every finding" in notes
    assert all(f"issue {line:02}" in outcome.job_summary for line, _, _ in spec)
    assert "7 more not written there" in world.summaries(number)[0]["body"]


def test_pull_request_target_judges_the_changed_files_at_the_head(world: World) -> None:
    """With the base checked out, which files are reviewed is decided on their content at
    the head: a file the PR marks as generated is skipped although the base's copy on disk
    is not marked."""
    git(world.repo, "checkout", "-q", "main")
    world.push({"schema.py": "x = 1\n"}, "a plain module on main")
    git(world.repo, "checkout", "-q", "feature")
    git(world.repo, "merge", "-q", "main")
    head = world.push(
        {"schema.py": "# @generated by protoc\nx = 2\n", "app.py": numbered({5: "y"})}
    )
    number = world.open_pr()
    git(world.repo, "checkout", "-q", "main")

    outcome = world.run(number, head_sha=head, event="pull_request_target")

    assert outcome.result is not None
    assert [review.path for review in outcome.result.files] == ["app.py"]
    skipped = {s.path: s.reason for s in outcome.result.skipped}
    assert skipped["schema.py"] == "generated file (marked as generated in its header)"
    assert world.files_asked() == {"app.py"}
    assert outcome.diagnostics[0] == (
        f"the checkout's HEAD ({world.head()[:12]}) is not the head of pull request #{number} "
        f"({head[:12]}): the review reads the head commit's files from git objects"
    )
