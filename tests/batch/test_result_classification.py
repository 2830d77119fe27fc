"""What `batch collect` decides for each kind of result (DESIGN.md section 2, the Message
Batches result types), with the reason the user reads: an invalid request and a model the
API does not serve fail for good; an overloaded, expired or canceled request is sent again
as the next attempt, until the job's max_attempts, then reported with how many it took. A
real batch on the Claude emulator (whose preset errors carry the message "preset")."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_reviewer.batch.pipeline import collect, submit
from ci_reviewer.batch.state import Failure
from ci_reviewer.emulators.claude import ClaudeEmulator
from tests.batch.conftest import MakeRun, commit_files
from tests.batch.test_pipeline import cid_of


@pytest.fixture
def six_files(repo: Path) -> Path:
    commit_files(repo, {f"src/m{i}.py": f"value = {i}\n" for i in range(6)})
    return repo


def _outcomes(repo: Path, claude: ClaudeEmulator) -> None:
    claude.set_outcome(cid_of(repo, "src/m0.py"), "errored", "invalid_request_error")
    claude.set_outcome(cid_of(repo, "src/m1.py"), "errored", "not_found_error")
    claude.set_outcome(cid_of(repo, "src/m2.py"), "errored", "overloaded_error")
    claude.set_outcome(cid_of(repo, "src/m3.py"), "expired")
    claude.set_outcome(cid_of(repo, "src/m4.py"), "canceled")


def test_each_result_type_gets_its_decision_and_reason(
    six_files: Path, claude: ClaudeEmulator, make_run: MakeRun
) -> None:
    repo = six_files
    _outcomes(repo, claude)
    job = make_run()
    submit(job)

    result = collect(job)

    # Results arrive in any order; the decisions are per file.
    assert sorted(result.failures, key=lambda f: f.path) == [
        Failure(
            custom_id=cid_of(repo, "src/m0.py"),
            path="src/m0.py",
            attempt=1,
            reason="invalid request: preset",
        ),
        Failure(
            custom_id=cid_of(repo, "src/m1.py"),
            path="src/m1.py",
            attempt=1,
            reason="the API does not serve the job's model (change `model`): preset",
        ),
    ]
    # Sent again as attempt 2, in the state the next run submits from.
    retry = job.store.load("digest").document.retry
    assert sorted((r.entry.path, r.entry.attempt, r.reason, r.replays) for r in retry) == [
        ("src/m2.py", 2, "errored (overloaded_error)", ()),
        ("src/m3.py", 2, "expired", ()),
        ("src/m4.py", 2, "canceled", ()),
    ]
    assert result.retried == 3 and result.retries == retry
    # src/a.py, src/b.py and src/m5.py succeeded and were taken.
    assert result.counts == {"succeeded": 3, "errored": 3, "expired": 1, "canceled": 1}
    assert result.accepted == 3
    assert result.warnings == ()


def test_the_last_attempt_is_reported_with_how_many_it_took(
    six_files: Path, claude: ClaudeEmulator, make_run: MakeRun
) -> None:
    repo = six_files
    _outcomes(repo, claude)
    job = make_run(max_attempts=1)
    submit(job)

    result = collect(job)

    assert sorted((f.path, f.attempt, f.reason) for f in result.failures) == [
        ("src/m0.py", 1, "invalid request: preset"),
        ("src/m1.py", 1, "the API does not serve the job's model (change `model`): preset"),
        ("src/m2.py", 1, "errored (overloaded_error), after 1 attempt(s)"),
        ("src/m3.py", 1, "expired, after 1 attempt(s)"),
        ("src/m4.py", 1, "canceled, after 1 attempt(s)"),
    ]
    assert result.retried == 0
    document = job.store.load("digest").document
    assert document.retry == () and document.submissions == () and document.manifest == {}
