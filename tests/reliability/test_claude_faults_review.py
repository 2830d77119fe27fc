"""The Claude API failing under `ci-reviewer review`: transient faults are survived (the SDK
retries, honouring retry-after), lasting ones end in exit 3 (or 0 under on_api_error:
neutral) with a message that says what happened; odd answers (refusal, cut at max_tokens,
output breaking the schema) are reported per file, never taken as a clean review."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_reviewer.claude import build_client
from ci_reviewer.config import ReviewConfig
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from ci_reviewer.emulators.server import Fault
from tests.reliability.conftest import CLI, MakeRepo
from tests.review.conftest import CALC_BASE, CALC_HEAD, answer, review

MESSAGES = r"^/v1/messages$"
# retry-after is honoured exactly by the SDK: a short one keeps the suite fast.
QUICK = 0.01


def run_review(cli: CLI, repo: Path, *extra: str) -> tuple[int, dict[str, object], str]:
    run = cli(
        "review", "--local", "--base", "main", "--workdir", str(repo), "--format", "json", *extra
    )
    return run.code, (json.loads(run.out) if run.out.strip() else {}), run.err


def config_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "ci-reviewer.yml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def message_posts(claude: ClaudeEmulator) -> int:
    return sum(1 for r in claude.log if r.method == "POST" and r.path == "/v1/messages")


@pytest.mark.parametrize(("status", "times"), [(429, 2), (529, 2), (500, 2), (503, 4)])
def test_transient_status_faults_are_survived_by_retries(
    cli: CLI, claude: ClaudeEmulator, make_repo: MakeRepo, status: int, times: int
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    claude.inject(Fault(MESSAGES, status=status, times=times, retry_after=QUICK))
    claude.enqueue(Reply.json(answer({"line": 2, "severity": "critical"})))

    code, document, _ = run_review(cli, repo)

    assert code == 1  # the critical finding blocks: the review completed
    assert document["findings"] and not document["api_error"]
    assert message_posts(claude) == times + 1


def test_a_dropped_connection_is_retried(
    cli: CLI, claude: ClaudeEmulator, make_repo: MakeRepo
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    claude.inject(Fault(MESSAGES, kind="drop", times=1))

    code, document, _ = run_review(cli, repo)

    assert code == 0 and document["api_error"] is None
    assert document["files"][0]["status"] == "reviewed"


@pytest.mark.parametrize(
    ("status", "said"),
    [
        (429, "429"),
        (529, "529"),
        (500, "500"),
    ],
)
def test_a_lasting_fault_is_exit_3_saying_what_failed(
    cli: CLI, claude: ClaudeEmulator, make_repo: MakeRepo, status: int, said: str
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    claude.inject(Fault(MESSAGES, status=status, times=50, retry_after=QUICK))

    code, document, err = run_review(cli, repo)

    assert code == 3
    assert f"the Claude API refused to answer a review request: {said}" in err
    assert "re-run the job later" in err
    # The result still says which file went unreviewed, and why.
    assert document["files"][0]["status"] == "not-reviewed"
    assert "API error" in document["files"][0]["reason"]


def test_a_lasting_fault_under_on_api_error_neutral_exits_0_and_says_so(
    cli: CLI, claude: ClaudeEmulator, make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    claude.inject(Fault(MESSAGES, status=529, times=50, retry_after=QUICK))

    code, document, err = run_review(
        cli, repo, "--config", config_file(tmp_path, "review:\n  on_api_error: neutral\n")
    )

    assert code == 0
    assert "on_api_error: neutral, so exit 0" in err and "529" in err
    assert document["api_error"]


def test_unreachable_api_is_exit_3_naming_the_connection(
    cli: CLI, claude: ClaudeEmulator, make_repo: MakeRepo
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    # Every attempt (first try and 4 retries) is cut off: what a dead proxy looks like.
    claude.inject(Fault(MESSAGES, kind="drop", times=50))

    code, _, err = run_review(cli, repo)

    assert code == 3
    assert "could not reach the Claude API" in err and "ANTHROPIC_BASE_URL" in err


def test_a_refusal_is_reported_for_the_file_not_taken_as_clean(
    cli: CLI, claude: ClaudeEmulator, make_repo: MakeRepo
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    claude.enqueue(Reply.stop("refusal", category="cyber"))

    code, document, _ = run_review(cli, repo)

    assert code == 0
    review_of = document["files"][0]
    assert review_of["status"] != "reviewed" or review_of["reason"]
    assert "refus" in json.dumps(review_of).lower()


def test_an_answer_cut_at_max_tokens_is_retried_shorter_then_reported(
    cli: CLI, claude: ClaudeEmulator, make_repo: MakeRepo
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    cut = json.dumps(answer({"line": 2, "severity": "high"}))[:60]
    claude.enqueue(Reply.stop("max_tokens", cut))
    claude.enqueue(Reply.stop("max_tokens", cut))

    code, document, _ = run_review(cli, repo)

    assert code == 0
    assert "max_tokens" in json.dumps(document["files"][0])
    assert message_posts(claude) == 2


def test_output_that_breaks_the_schema_gets_one_repair_turn_then_is_reported(
    cli: CLI, claude: ClaudeEmulator, make_repo: MakeRepo
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    broken = {"summary": "s", "findings": [{"path": "src/calc.py", "severity": "apocalyptic"}]}
    claude.enqueue(Reply.json(broken))
    claude.enqueue(Reply.text("not json at all"))

    code, document, _ = run_review(cli, repo)

    assert code == 0
    review_of = document["files"][0]
    assert review_of["status"] == "not-reviewed"
    assert "invalid answer after a repair turn" in review_of["reason"]
    assert document["findings"] == []


def test_a_slow_reply_past_the_timeout_is_retried_then_fails_cleanly(
    claude: ClaudeEmulator, make_repo: MakeRepo
) -> None:
    # The CLI's client waits 600 s; the engine is driven here with a short client timeout.
    repo = make_repo(CALC_BASE, CALC_HEAD)
    claude.inject(Fault(MESSAGES, kind="hang", seconds=1.0, times=1))
    with build_client("sk-timeout-test-key", claude.url, max_retries=1, timeout=0.3) as sdk:
        survived = review(sdk, repo)
    claude.reset()
    claude.inject(Fault(MESSAGES, kind="hang", seconds=1.0, times=5))
    with build_client("sk-timeout-test-key", claude.url, max_retries=1, timeout=0.3) as sdk:
        failed = review(sdk, repo, ReviewConfig())

    assert survived.api_error is None and survived.files[0].status == "reviewed"
    assert failed.api_error is not None
    assert "the Claude API timed out: no reply within 0.3 s" in failed.api_error


def test_a_reply_slower_than_review_timeout_seconds_is_exit_3_naming_the_timeout(
    cli: CLI, claude: ClaudeEmulator, make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    claude.inject(Fault(MESSAGES, kind="hang", seconds=1.0, times=5))

    config = config_file(tmp_path, "review:\n  timeout_seconds: 0.3\n  max_retries: 1\n")
    code, _, err = run_review(cli, repo, "--config", config)

    assert code == 3
    assert "the Claude API timed out: no reply within 0.3 s" in err
    assert "review.timeout_seconds" in err
    assert message_posts(claude) == 2  # the first try and max_retries: 1
