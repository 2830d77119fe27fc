"""Scheduled jobs with `api: sync`: the same pipeline, each request sent to the synchronous
Messages API, results published in the same run, and a crash between the calls and the
collect costing a re-send, never a lost or doubled file."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import anthropic
import pytest

from ci_reviewer.batch.api import BatchesAPI
from ci_reviewer.batch.job_run import JobRun
from ci_reviewer.batch.jobs.report import ReportKind
from ci_reviewer.batch.pipeline import run
from ci_reviewer.batch.store_dir import DirectoryStore
from ci_reviewer.batch.submit import submit
from ci_reviewer.batch.sync_api import SyncBatchesAPI
from ci_reviewer.cli import main
from ci_reviewer.config import JobConfig
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.server import Fault
from ci_reviewer.errors import ClaudeAPIError, UsageError
from tests.batch.conftest import commit_files, point_cli_at_emulators
from tests.batch.test_cli_kinds import TOKEN, origin

__all__ = ["origin"]  # a fixture, on this module's checkout

CONFIG = """
jobs:
  urgent-report:
    kind: report
    api: sync
    sla_hours: 6
    include: ["src/**/*.py"]
"""


def about(path: str) -> Any:
    return lambda body: path in json.dumps(body.get("messages", ""))


def batch_calls(claude: ClaudeEmulator) -> list[str]:
    return [r.path for r in claude.log if r.path.startswith("/v1/messages/batches")]


def message_calls(claude: ClaudeEmulator, path: str | None = None) -> int:
    return sum(
        1
        for call in claude.requests
        if call.status == 200 and (path is None or path in json.dumps(call.body["messages"]))
    )


# -- end to end through the CLI, as a scheduled workflow runs it -------------------------------


@pytest.fixture
def checkout(repo: Path) -> Path:
    commit_files(repo, {".github/ci-reviewer.yml": CONFIG}, "config")
    return repo


@pytest.fixture
def batch_cli(
    checkout: Path,
    origin: GitHubEmulator,
    claude: ClaudeEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Any:
    point_cli_at_emulators(
        monkeypatch, claude, origin.url, TOKEN, "777", api_key="sk-ant-sync-job-key"
    )

    def invoke(command: str, *args: str) -> tuple[int, dict[str, Any], str]:
        with pytest.raises(SystemExit) as done:
            main(["--workdir", str(checkout), "batch", command, *args, "--format", "json"])
        out, err = capsys.readouterr()
        return int(done.value.code or 0), json.loads(out) if out.strip() else {}, err

    return invoke


def issues_of(origin: GitHubEmulator) -> list[dict[str, Any]]:
    return [i for i in origin.state.issues.values() if "pull_request" not in i]


def test_a_sync_report_job_publishes_its_issue_in_one_run_without_any_batch(
    batch_cli: Any, claude: ClaudeEmulator, origin: GitHubEmulator
) -> None:
    claude.enqueue(Reply.json({"summary": "Prints a.", "notes": []}), when=about("src/a.py"))

    code, result, err = batch_cli("run", "--job", "urgent-report")

    assert code == 0, err
    [issue] = issues_of(origin)
    assert issue["title"] == "ci-reviewer urgent-report: report of 2 file(s)"
    assert "Prints a." in issue["body"] and "`src/b.py`" in issue["body"]
    assert "synchronous Messages API, full price" in issue["body"]
    assert "Message Batches API would have cost" in issue["body"]
    assert result["collected"]["published"]
    assert message_calls(claude) == 2 and batch_calls(claude) == []

    code, _again, err = batch_cli("run", "--job", "urgent-report")
    assert code == 0, err
    assert len(issues_of(origin)) == 1 and message_calls(claude) == 2


def test_submit_alone_publishes_too_since_the_answers_die_with_the_process(
    batch_cli: Any, claude: ClaudeEmulator, origin: GitHubEmulator
) -> None:
    code, submitted, err = batch_cli("submit", "--job", "urgent-report")
    assert code == 0, err
    assert submitted["batches"][0]["requests"] == 2
    assert len(issues_of(origin)) == 1

    code, collected, err = batch_cli("collect", "--job", "urgent-report")
    assert code == 0, err
    assert collected["collected"] == [] and len(issues_of(origin)) == 1
    assert message_calls(claude) == 2 and batch_calls(claude) == []


# -- the pipeline, with a report written to files ---------------------------------------------


@pytest.fixture
def retrying_client(claude: ClaudeEmulator) -> Iterator[anthropic.Anthropic]:
    sdk = anthropic.Anthropic(api_key="sk-test-sync", base_url=claude.url, max_retries=2)
    try:
        yield sdk
    finally:
        sdk.close()


@pytest.fixture
def sync_run(
    repo: Path,
    retrying_client: anthropic.Anthropic,
    claude: ClaudeEmulator,
    state_dir: Path,
    tmp_path: Path,
) -> Any:
    """A JobRun factory; each call is a new process: a new adapter holding no answers."""

    def make(**job: Any) -> JobRun:
        return JobRun(
            name="urgent",
            job=JobConfig(kind="report", api="sync", **job),
            model="claude-sonnet-5-5",
            kind=ReportKind(tmp_path / "reports"),
            workdir=repo,
            store=DirectoryStore(state_dir),
            api=SyncBatchesAPI(retrying_client, claude.clock.now, concurrency=2),
            now=claude.clock.now,
        )

    return make


def reported(where: Path) -> list[str]:
    """Every file heading across every report published under `where`/reports, one entry
    per publication."""
    reports = sorted((where / "reports").glob("*.md"))
    return [
        line.strip("#` ")
        for report in reports
        for line in report.read_text(encoding="utf-8").splitlines()
        if line.startswith("## `")
    ]


def test_a_lasting_overload_is_requeued_and_answered_on_the_next_run(
    sync_run: Any, claude: ClaudeEmulator, tmp_path: Path
) -> None:
    claude.faults.append(Fault(route=r"^/v1/messages$", status=529, times=3, retry_after=0))
    first = run(sync_run(include=["src/a.py"]))

    assert first.collected.counts == {"errored": 1} and first.collected.retried == 1
    assert first.collected.published is None and reported(tmp_path) == []

    second = run(sync_run(include=["src/a.py"]))
    assert second.collected.counts == {"succeeded": 1}
    assert reported(tmp_path) == ["src/a.py"]
    assert batch_calls(claude) == []


def test_an_invalid_request_is_a_permanent_failure_not_sent_again(
    sync_run: Any, claude: ClaudeEmulator, tmp_path: Path
) -> None:
    claude.enqueue(
        Reply(error_type="invalid_request_error", error_message="prompt is malformed"),
        when=about("src/a.py"),
    )
    first = run(sync_run())

    [failure] = first.collected.failures
    assert failure.path == "src/a.py" and "prompt is malformed" in failure.reason
    assert first.collected.retried == 0 and reported(tmp_path) == ["src/b.py"]
    calls = len(claude.requests)

    run(sync_run())
    assert len(claude.requests) == calls


class Killed(Exception):
    """Stands for SIGKILL at a checkpoint."""


def kill_at(point: str) -> Any:
    def checkpoint(name: str) -> None:
        if name == point:
            raise Killed(name)

    return checkpoint


@pytest.mark.parametrize("point", ["batch-created", "state-saved"])
def test_killed_between_the_calls_and_the_collect_each_file_is_published_once(
    point: str, sync_run: Any, claude: ClaudeEmulator, tmp_path: Path
) -> None:
    with pytest.raises(Killed):
        run(replace(sync_run(), checkpoint=kill_at(point)))
    assert message_calls(claude) == 2 and reported(tmp_path) == []

    claude.clock.advance(hours=1)  # the next scheduled run, past the orphan grace
    rerun = run(sync_run())

    assert sorted(reported(tmp_path)) == ["src/a.py", "src/b.py"]
    assert rerun.collected.counts == {"succeeded": 2} and not rerun.collected.failures
    assert any("stopped before its results were collected" in w for w in rerun.collected.warnings)
    assert message_calls(claude, "src/a.py") == 2  # sent again once: attempt 2

    claude.clock.advance(hours=1)
    run(sync_run())
    assert sorted(reported(tmp_path)) == ["src/a.py", "src/b.py"]
    assert message_calls(claude) == 4 and batch_calls(claude) == []


def test_a_crashed_run_still_within_the_grace_is_left_to_its_owner(
    sync_run: Any, claude: ClaudeEmulator, tmp_path: Path
) -> None:
    with pytest.raises(Killed):
        run(replace(sync_run(), checkpoint=kill_at("batch-created")))
    claude.clock.advance(minutes=5)

    rerun = run(sync_run())
    assert rerun.submitted.notes and reported(tmp_path) == []
    assert message_calls(claude) == 2


def test_the_budget_is_checked_at_synchronous_prices(
    sync_run: Any, claude: ClaudeEmulator, state_dir: Path
) -> None:
    preview = submit(sync_run(), dry_run_to=_Sink()).estimate
    assert preview.usd == preview.sync_usd  # a sync job spends full prices
    assert preview.batch_usd is not None and preview.sync_usd is not None
    between = (preview.batch_usd + preview.sync_usd) / 2  # enough at batch prices only

    with pytest.raises(UsageError) as refused:
        run(sync_run(max_cost_usd=between))

    assert "synchronous (full) prices" in str(refused.value)
    assert f"{preview.sync_usd:.2f}" in str(refused.value)
    assert claude.requests == [] and not state_dir.exists()
    assert run(sync_run(max_cost_usd=preview.sync_usd * 1.01)).collected.counts == {"succeeded": 2}


class _Sink:
    def write(self, data: bytes) -> int:
        return len(data)


def test_requests_go_out_a_few_at_a_time(
    sync_run: Any, claude: ClaudeEmulator, repo: Path, tmp_path: Path
) -> None:
    commit_files(repo, {f"src/m{i}.py": f"VALUE = {i}\n" for i in range(6)})
    claude.latency = 0.2

    result = run(sync_run())

    assert result.collected.counts == {"succeeded": 8}
    assert claude.peak_in_flight == 2  # the adapter's concurrency
    assert len(reported(tmp_path)) == 8


def test_a_refused_api_key_stops_the_run_with_exit_3_and_sends_nothing_more(
    sync_run: Any, claude: ClaudeEmulator, tmp_path: Path
) -> None:
    claude.api_key = "sk-the-right-key"

    with pytest.raises(ClaudeAPIError) as stopped:
        run(sync_run())

    assert stopped.value.exit_code == 3 and "401" in str(stopped.value)
    assert "sk-test-sync" not in str(stopped.value)
    assert message_calls(claude) == 0 and reported(tmp_path) == []


def test_sigkill_after_the_calls_then_a_rerun_publishes_each_file_once(
    repo: Path, claude: ClaudeEmulator, tmp_path: Path
) -> None:
    (repo / ".github").mkdir()
    (repo / ".github/ci-reviewer.yml").write_text(
        "jobs:\n  urgent:\n    kind: report\n    api: sync\n    output: file\n", encoding="utf-8"
    )
    state = tmp_path / "state"
    env = {
        "ANTHROPIC_API_KEY": "sk-test",
        "ANTHROPIC_BASE_URL": claude.url,
        "CI_REVIEWER_KILL_AT": "state-saved",
        "PATH": "/usr/bin:/bin",
        "GIT_CONFIG_GLOBAL": "/dev/null",
    }
    command = [sys.executable, "-m", "ci_reviewer", "--workdir", str(repo), "batch", "run",
               "--job", "urgent", "--state-dir", str(state), "--format", "json"]  # fmt: skip
    killed = subprocess.run(command, env=env, capture_output=True, cwd=tmp_path, check=False)
    assert killed.returncode == -9 and message_calls(claude) == 2

    env["CI_REVIEWER_KILL_AT"] = ""
    again = subprocess.run(command, env=env, capture_output=True, cwd=tmp_path, check=False)

    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["collected"]["counts"] == {"succeeded": 2}
    assert sorted(reported(state)) == ["src/a.py", "src/b.py"]
    assert message_calls(claude) == 4 and batch_calls(claude) == []


# -- a job switched between the APIs with work still pending ----------------------------------


def as_batch_job(job_run: JobRun, client: anthropic.Anthropic) -> JobRun:
    """The same job after its config says `api: batch` (the next scheduled run)."""
    return replace(
        job_run, job=job_run.job.model_copy(update={"api": "batch"}), api=BatchesAPI(client)
    )


def as_sync_job(job_run: JobRun, client: anthropic.Anthropic, claude: ClaudeEmulator) -> JobRun:
    """The same job after its config says `api: sync`."""
    job = job_run.job.model_copy(update={"api": "sync"})
    return replace(job_run, job=job, api=SyncBatchesAPI(client, claude.clock.now))


def test_switched_from_sync_to_batch_the_lost_runs_files_go_in_a_batch(
    sync_run: Any, claude: ClaudeEmulator, retrying_client: anthropic.Anthropic, tmp_path: Path
) -> None:
    with pytest.raises(Killed):  # answered, then the process died before collecting
        run(replace(sync_run(), checkpoint=kill_at("state-saved")))
    claude.clock.advance(hours=1)

    rerun = run(as_batch_job(sync_run(), retrying_client))

    assert any("stopped before its results were collected" in w for w in rerun.collected.warnings)
    assert [b.requests for b in rerun.submitted.batches] == [2]  # sent again, as a batch
    claude.clock.advance(hours=1)
    run(as_batch_job(sync_run(), retrying_client))
    assert sorted(reported(tmp_path)) == ["src/a.py", "src/b.py"]
    assert message_calls(claude) == 2  # the lost run's calls; nothing more was sent one by one


def test_switched_from_batch_to_sync_a_batch_whose_id_was_lost_is_adopted_not_resent(
    sync_run: Any, claude: ClaudeEmulator, retrying_client: anthropic.Anthropic, tmp_path: Path
) -> None:
    batch_job = as_batch_job(sync_run(), retrying_client)
    with pytest.raises(Killed):  # the batch was created; its id never reached the state
        run(replace(batch_job, checkpoint=kill_at("batch-created")))
    claude.clock.advance(hours=1)

    rerun = run(as_sync_job(sync_run(), retrying_client, claude))

    assert len(rerun.collected.adopted) == 1 and rerun.collected.counts == {"succeeded": 2}
    assert sorted(reported(tmp_path)) == ["src/a.py", "src/b.py"]
    assert message_calls(claude) == 0  # its files were not sent again one by one
    creates = [r for r in claude.log if r.method == "POST" and r.path == "/v1/messages/batches"]
    assert len(creates) == 1


class _DiesAfterPublishing(ReportKind):
    """A run that is killed right after its report landed, before its state is saved."""

    def publish(self, collection: Any) -> Any:
        super().publish(collection)
        raise Killed("published, state not saved")


def test_killed_after_publishing_the_rerun_edits_that_publication_not_a_second_one(
    sync_run: Any, claude: ClaudeEmulator, tmp_path: Path
) -> None:
    with pytest.raises(Killed):
        run(replace(sync_run(), kind=_DiesAfterPublishing(tmp_path / "reports")))
    assert sorted(reported(tmp_path)) == ["src/a.py", "src/b.py"]
    claude.clock.advance(hours=1)

    rerun = run(sync_run())  # the answers died with the process: asked again

    assert message_calls(claude) == 4
    assert rerun.collected.published is not None
    assert len(list((tmp_path / "reports").glob("*.md"))) == 1  # the same report, rewritten
    assert sorted(reported(tmp_path)) == ["src/a.py", "src/b.py"]
