"""Submit and collect against the Claude emulator with the real SDK: result types, retries,
handling once, crash recovery, refusals and budgets."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from ci_reviewer.batch.manifest import ManifestEntry, custom_id
from ci_reviewer.batch.pipeline import cancel, collect, run, status, submit
from ci_reviewer.batch.store_dir import DirectoryStore
from ci_reviewer.emulators.claude import BatchPolicy, ClaudeEmulator
from ci_reviewer.errors import UsageError
from tests.batch.conftest import MakeRun, commit_files, git


def cid_of(repo: Path, path: str, attempt: int = 1) -> str:
    blob = git(repo, "rev-parse", f"HEAD:{path}")
    return custom_id("report", ManifestEntry(path=path, content_hash=blob, attempt=attempt))


def batch_creates(claude: ClaudeEmulator) -> int:
    return sum(1 for r in claude.log if r.method == "POST" and r.path == "/v1/messages/batches")


@pytest.fixture
def five_files(repo: Path) -> Path:
    commit_files(repo, {f"src/m{i}.py": f"value = {i}\n" for i in range(5)})
    return repo


def test_shuffled_results_of_every_type_are_classified(
    five_files: Path, claude: ClaudeEmulator, make_run: MakeRun, tmp_path: Path
) -> None:
    repo = five_files
    claude.set_outcome(cid_of(repo, "src/m0.py"), "errored", "invalid_request_error")
    claude.set_outcome(cid_of(repo, "src/m1.py"), "errored", "overloaded_error")
    claude.set_outcome(cid_of(repo, "src/m2.py"), "expired")
    claude.set_outcome(cid_of(repo, "src/m3.py"), "canceled")
    job = make_run()
    submitted = submit(job)
    assert [b.requests for b in submitted.batches] == [7]

    result = collect(job)

    assert result.counts == {"succeeded": 3, "errored": 2, "expired": 1, "canceled": 1}
    assert [f.path for f in result.failures] == ["src/m0.py"]  # invalid request: permanent
    assert result.retried == 3
    retry = DirectoryStore(job.store.directory).load("digest").document.retry  # type: ignore[attr-defined]
    assert {(r.entry.path, r.entry.attempt) for r in retry} == {
        ("src/m1.py", 2),
        ("src/m2.py", 2),
        ("src/m3.py", 2),
    }
    report = Path(result.published.location).read_text()
    assert "`src/m4.py`" in report and "`src/a.py`" in report
    assert "src/m0.py" in report  # reported as not done


def test_retries_go_up_to_max_attempts_over_three_runs_then_are_reported(
    five_files: Path, claude: ClaudeEmulator, make_run: MakeRun
) -> None:
    repo = five_files
    for attempt in (1, 2, 3):
        claude.set_outcome(cid_of(repo, "src/m1.py", attempt), "expired")
    job = make_run(max_attempts=3)
    attempts = []
    for _ in range(3):
        outcome = run(job)
        attempts.append([b.requests for b in outcome.submitted.batches])
        claude.clock.advance(hours=1)
    final = collect(job)
    # First run sends all 7; each later run sends only the retried file, attempt 2 then 3.
    assert attempts == [[7], [1], [1]]
    assert [(f.path, f.attempt) for f in final.failures] == [("src/m1.py", 3)]
    assert "after 3 attempt(s)" in final.failures[0].reason
    document = job.store.load("digest").document
    assert document.retry == () and document.submissions == () and document.manifest == {}


def test_a_handled_result_is_never_handled_again(
    repo: Path, claude: ClaudeEmulator, make_run: MakeRun
) -> None:
    job = make_run()
    submit(job)
    first = collect(job)
    second = collect(job)
    assert first.counts == {"succeeded": 2}
    assert second.counts == {} and second.published is None and second.collected == ()
    downloads = [r for r in claude.log if r.path.endswith("/results")]
    assert len(downloads) == 1


def test_crash_between_create_and_save_recovers_without_a_second_batch(
    five_files: Path, claude: ClaudeEmulator, make_run: MakeRun
) -> None:
    class Killed(Exception):
        pass

    def die_after_create(point: str) -> None:
        if point == "batch-created":
            raise Killed

    job = make_run()
    with pytest.raises(Killed):
        submit(replace(job, checkpoint=die_after_create))
    orphan = job.store.load("digest").document.submissions[0]
    assert orphan.batch_id is None and batch_creates(claude) == 1

    claude.clock.advance(minutes=1)
    again = run(job)

    assert batch_creates(claude) == 1  # nothing submitted twice
    assert again.collected.adopted == ("msgbatch_emu00000001",)
    assert again.collected.counts == {"succeeded": 7}  # nothing lost
    assert again.submitted.batches == ()


def test_crash_before_create_resubmits_the_same_work_after_the_grace(
    repo: Path, claude: ClaudeEmulator, make_run: MakeRun
) -> None:
    def die_before_create(point: str) -> None:
        if point == "intent-recorded":
            raise RuntimeError("killed")

    job = make_run()
    with pytest.raises(RuntimeError):
        submit(replace(job, checkpoint=die_before_create))
    soon = submit(job)  # another run may still be creating the batch: wait
    assert soon.batches == () and soon.notes
    claude.clock.advance(hours=1)
    later = submit(job)
    assert later.requeued == 2 and [b.requests for b in later.batches] == [2]
    assert batch_creates(claude) == 1


def test_pending_batches_report_age_against_the_sla(
    repo: Path, claude: ClaudeEmulator, make_run: MakeRun
) -> None:
    claude.batch_policy = BatchPolicy.until_expired()
    job = make_run(sla_hours=30)
    submit(job)
    claude.clock.advance(hours=20)
    early = status(job).pending[0]
    claude.clock.advance(hours=3.5)
    late = collect(job).pending[0]
    assert (early.age_hours, early.at_risk) == (20.0, False)
    assert late.remaining_hours == pytest.approx(6.5) and not late.at_risk
    claude.clock.advance(hours=4)
    assert status(job).pending[0].at_risk


def test_cancel_then_collect_requeues_the_canceled_requests(
    repo: Path, claude: ClaudeEmulator, make_run: MakeRun
) -> None:
    claude.batch_policy = BatchPolicy.until_expired()
    job = make_run()
    submit(job)
    assert cancel(job) == ("msgbatch_emu00000001",)
    result = collect(job)
    assert result.counts == {"canceled": 2} and result.retried == 2


def test_a_job_with_tools_is_refused_with_the_reason(make_run: MakeRun) -> None:
    job = make_run()
    with_tools = job.job.model_construct(**{**job.job.model_dump(), "tools": [{"name": "read"}]})
    with pytest.raises(UsageError, match="multi-turn tool calling cannot run inside a batch"):
        submit(replace(job, job=with_tools))


def test_over_budget_is_refused_and_nothing_is_sent(
    repo: Path, claude: ClaudeEmulator, make_run: MakeRun
) -> None:
    job = make_run(max_cost_usd=0.0001)
    with pytest.raises(UsageError, match="max_cost_usd") as error:
        submit(job)
    assert error.value.exit_code == 2
    assert "jobs.digest.max_cost_usd" in str(error.value)
    assert batch_creates(claude) == 0
    assert job.store.load("digest").version is None


def test_dry_run_writes_jsonl_and_submits_nothing(
    repo: Path, claude: ClaudeEmulator, make_run: MakeRun
) -> None:
    job = make_run()
    sink = io.BytesIO()
    result = submit(job, dry_run_to=sink)
    lines = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert [line["params"]["messages"][0]["content"].split("\n")[0] for line in lines] == [
        "File: src/a.py",
        "File: src/b.py",
    ]
    assert result.dry_run and result.estimate.requests == 2
    assert result.estimate.bytes == sum(len(x) for x in sink.getvalue().splitlines())
    assert result.estimate.usd is not None and result.estimate.usd < result.estimate.sync_usd
    assert batch_creates(claude) == 0 and job.store.load("digest").version is None


def test_next_run_sends_only_what_changed(
    repo: Path, claude: ClaudeEmulator, make_run: MakeRun
) -> None:
    job = make_run()
    run(job)
    commit_files(repo, {"src/b.py": "print('changed')\n"})
    second = run(job)
    assert [b.requests for b in second.submitted.batches] == [1]
    third = run(job)
    assert third.submitted.batches == () and third.collected.counts == {"succeeded": 1}


def test_a_result_the_state_does_not_expect_is_ignored_with_a_warning(
    five_files: Path, claude: ClaudeEmulator, make_run: MakeRun
) -> None:
    repo = five_files
    job = make_run()
    submit(job)
    # The state restored from a copy saved before m4.py was recorded with this batch (as a
    # user who rolled the state branch back would have it): the batch answers for it anyway.
    store = DirectoryStore(job.store.directory)  # type: ignore[attr-defined]
    loaded = store.load("digest")
    stray = cid_of(repo, "src/m4.py")
    (submission,) = loaded.document.submissions
    kept = tuple(c for c in submission.custom_ids if c != stray)
    assert len(kept) == len(submission.custom_ids) - 1
    restored = loaded.document.model_copy(
        update={"submissions": (submission.model_copy(update={"custom_ids": kept}),)}
    )
    store.save(restored, loaded.version)

    result = collect(job)

    assert result.counts == {"succeeded": 6}  # the stray result is not counted
    assert (
        f"batch {submission.batch_id}: 1 result(s) with unknown custom_id ignored ({stray})"
        in result.warnings
    )
    report = Path(result.published.location).read_text()
    assert "`src/m4.py`" not in report and "`src/m3.py`" in report
