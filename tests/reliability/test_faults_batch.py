"""Faults under `ci-reviewer batch run` (state and results on the GitHub emulator): Claude
and GitHub failures are survived by retries or end in exit 3 with what failed; the next run
then finishes the job with one batch and one issue."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from ci_reviewer.cli import main
from ci_reviewer.emulators.claude import ClaudeEmulator
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.github_faults import rate_limited
from ci_reviewer.emulators.server import Fault
from tests.batch.conftest import git, point_cli_at_emulators
from tests.reliability.test_kill_points import (
    TOKEN,
    a_schedule_later,
    assert_published_once,
    batches_created,
    checkout,
    claude,
    origin,
    report_issues,
)

__all__ = ["checkout", "claude", "origin"]  # fixtures shared with the kill-point tests
BATCHES = r"^/v1/messages/batches$"
ISSUES = r"^/repos/octo/demo/issues$"
STATE = r"^/repos/octo/demo/contents/state/overnight\.json$"


@pytest.fixture
def run(
    checkout: Path,
    origin: GitHubEmulator,
    claude: ClaudeEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Any:
    point_cli_at_emulators(
        monkeypatch, claude, origin.url, TOKEN, "555", api_key="sk-ant-api03-LEAKCANARY-faults-77c2"
    )

    def invoke() -> tuple[int, dict[str, Any], str]:
        with pytest.raises(SystemExit) as done:
            main(["--workdir", str(checkout), "batch", "run", "--job", "overnight",
                  "--format", "json"])  # fmt: skip
        out, err = capsys.readouterr()
        return int(done.value.code or 0), json.loads(out) if out.strip() else {}, err

    return invoke


def finish(run: Any) -> None:
    for _ in range(3):
        code, _, err = run()
        assert code == 0, err


@pytest.mark.parametrize("status", [429, 529, 500])
def test_claude_faults_on_batch_create_are_survived(
    run: Any, claude: ClaudeEmulator, origin: GitHubEmulator, status: int
) -> None:
    claude.inject(Fault(BATCHES, status=status, times=2, retry_after=0.01, method="POST"))
    finish(run)
    assert_published_once(claude, origin)


def test_a_lasting_claude_fault_is_exit_3_and_the_next_run_submits_once(
    run: Any, claude: ClaudeEmulator, origin: GitHubEmulator, tmp_path: Path
) -> None:
    claude.inject(Fault(BATCHES, status=529, times=50, retry_after=0.01, method="POST"))
    code, _, err = run()
    assert code == 3
    assert "529" in err and "Claude API" in err
    claude.faults.clear()
    # A failed create may still have made the batch (a timeout can): the intent waits out
    # its grace before being sent again, so the retry is the next scheduled run.
    a_schedule_later(origin, tmp_path)

    finish(run)

    assert_published_once(claude, origin)


def test_a_dropped_connection_on_results_is_retried(
    run: Any, claude: ClaudeEmulator, origin: GitHubEmulator
) -> None:
    assert run()[0] == 0
    claude.inject(Fault(r"/results$", kind="drop", times=1))
    finish(run)
    assert_published_once(claude, origin)


def test_a_409_on_the_state_write_is_resolved_without_a_second_batch(
    run: Any, claude: ClaudeEmulator, origin: GitHubEmulator
) -> None:
    origin.inject(Fault(STATE, status=409, times=1, method="PUT"))
    finish(run)
    assert_published_once(claude, origin)


def test_a_secondary_rate_limit_on_the_issue_is_waited_out(
    run: Any, claude: ClaudeEmulator, origin: GitHubEmulator
) -> None:
    assert run()[0] == 0
    origin.inject(rate_limited(ISSUES, retry_after=1, method="POST", content_creation=True))
    finish(run)
    assert_published_once(claude, origin)


@pytest.mark.parametrize(
    ("route", "method"),
    [(ISSUES, "POST"), (STATE, "PUT"), (STATE, "GET")],
    ids=["issue", "state-write", "state-read"],
)
def test_a_429_without_retry_after_is_waited_out_for_the_minimum(
    run: Any,
    claude: ClaudeEmulator,
    origin: GitHubEmulator,
    monkeypatch: pytest.MonkeyPatch,
    route: str,
    method: str,
) -> None:
    from ci_reviewer.github import client

    monkeypatch.setattr(client, "SECONDARY_RATE_WAIT", 0.5)
    assert run()[0] == 0
    origin.inject(rate_limited(route, status=429, method=method))
    started = time.monotonic()
    code, _, err = run()
    assert code == 0, err
    assert time.monotonic() - started >= 0.5
    finish(run)
    assert_published_once(claude, origin)


@pytest.mark.usefixtures("short_github_backoff")
def test_a_lasting_rate_limit_is_exit_3_naming_it_then_one_issue(
    run: Any, claude: ClaudeEmulator, origin: GitHubEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ci_reviewer.github import client

    monkeypatch.setattr(client, "SECONDARY_RATE_WAIT", 0.0)
    assert run()[0] == 0
    origin.inject(rate_limited(ISSUES, status=429, times=50, method="POST"))

    code, _, err = run()

    assert code == 3
    assert "open the issue" in err
    assert "GitHub's secondary rate limit refused the request (HTTP 429) after 6 retries" in err
    assert "it resets at" in err and "hint: GitHub limits how fast" in err
    assert report_issues(origin) == []
    origin.faults.clear()
    finish(run)
    assert_published_once(claude, origin)


@pytest.mark.usefixtures("short_github_backoff")
def test_a_lasting_5xx_on_the_issue_is_exit_3_then_one_issue(
    run: Any, claude: ClaudeEmulator, origin: GitHubEmulator
) -> None:
    assert run()[0] == 0
    origin.inject(Fault(ISSUES, status=502, times=50, method="POST"))
    code, _, err = run()
    assert code == 3 and "open the issue" in err
    assert "GitHub answered 502 (Bad Gateway) after 6 retries" in err
    assert report_issues(origin) == []
    origin.faults.clear()

    finish(run)

    assert_published_once(claude, origin)
    assert batches_created(claude) == 1


def test_a_state_branch_deleted_between_runs_is_recreated(
    run: Any, claude: ClaudeEmulator, origin: GitHubEmulator
) -> None:
    finish(run)
    git(origin.git.repo_dir, "branch", "-D", "ci-reviewer-state")

    code, document, err = run()

    # With its state gone the job starts over, as on its first run: the branch and the
    # document come back, and the one issue already published is left alone.
    assert code == 0, err
    assert "ci-reviewer-state" in git(origin.git.repo_dir, "branch", "--list")
    assert document["submitted"]["batches"]
    assert len(report_issues(origin)) == 1


def test_a_404_on_the_state_write_is_exit_3_then_one_batch_and_one_issue(
    run: Any, claude: ClaudeEmulator, origin: GitHubEmulator
) -> None:
    """The branch vanished under the run (deleted by hand while it ran)."""
    gone = {"message": "Branch not found"}
    origin.inject(Fault(STATE, status=404, times=1, method="PUT", body=gone))

    code, _, err = run()

    assert code == 3
    assert "write the batch state octo/demo@ci-reviewer-state" in err
    assert "HTTP 404: Branch not found" in err
    finish(run)
    assert_published_once(claude, origin)
