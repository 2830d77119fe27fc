"""What `batch collect` makes of each result line, driven directly: the state is written as a
submitting run leaves it, the batch is created on the Claude emulator through the SDK, and its
results download answers with the lines written here, in the documented format of the Message
Batches results (`{"custom_id", "result": {"type": "succeeded", "message"} | {"type":
"errored", "error": {"type": "error", "error": {"type", "message"}, "request_id"}} | {"type":
"canceled"} | {"type": "expired"}}`, the API reference's "Retrieve Message Batch results"),
each line checked against the SDK's own model of a result line. No planning, and a git
repository only for the two kinds that read one (the audit, the issue): a test takes a
fraction of a second, so the mutation run of `results.py` uses these (benchmarks/mutation.py).
A line the API does not send (a repeat, an errored line without its error object) is written
here too, for what the module promises about it. Every expected reason, count and warning
is the text the module's contract gives (ci_reviewer/batch/results.py docstring, DESIGN.md
section 2), written out by hand."""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import anthropic
import pytest
from anthropic.types.messages import MessageBatchIndividualResponse

from ci_reviewer.batch.api import BatchesAPI
from ci_reviewer.batch.job_run import JobRun
from ci_reviewer.batch.jobs.base import Accepted, BatchJobKind
from ci_reviewer.batch.jobs.report import ReportKind
from ci_reviewer.batch.jobs.security_audit import AuditFinding, SecurityAuditKind
from ci_reviewer.batch.manifest import ManifestEntry, lost_batch_id
from ci_reviewer.batch.results import collect, findings_of
from ci_reviewer.batch.state import Failure, RetryItem, StateDocument, Submission
from ci_reviewer.batch.store_dir import DirectoryStore
from ci_reviewer.config import JobConfig
from ci_reviewer.emulators.claude import BatchPolicy, ClaudeEmulator
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.server import Fault
from ci_reviewer.github.publish_issue import IssuePublisher
from ci_reviewer.secrets import Redactor
from tests.batch.conftest import START
from tests.batch.test_jobs_test_generation import checkout, origin, repository
from tests.emulators.github_fixtures import github_openapi_responses

__all__ = ["checkout", "github_openapi_responses", "origin", "repository"]  # fixtures

PARAMS = {
    "model": "claude-sonnet-5-5",
    "max_tokens": 256,
    "messages": [{"role": "user", "content": "x"}],
}
# The digest the report kind asks for, as a model answers it (its output schema).
DIGEST = '{"summary": "Adds two numbers.", "notes": [{"severity": "low", "text": "untested"}]}'
OTHER = '{"summary": "Something else.", "notes": []}'


def entry(path: str, attempt: int = 1) -> ManifestEntry:
    return ManifestEntry(path, hashlib.sha1(path.encode()).hexdigest(), attempt)


def cid(name: str, attempt: int = 1) -> str:
    return f"report-{name}-a{attempt}"


def succeeded(custom_id: str, text: str = DIGEST, stop: str = "end_turn") -> dict[str, Any]:
    message = {
        "id": f"msg_{custom_id}",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-5-5",
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 11, "output_tokens": 36},
    }
    return {"custom_id": custom_id, "result": {"type": "succeeded", "message": message}}


def errored(custom_id: str, error_type: str, message: str) -> dict[str, Any]:
    error = {"type": error_type, "message": message}
    body = {"type": "error", "error": error, "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}
    return {"custom_id": custom_id, "result": {"type": "errored", "error": body}}


def ended(custom_id: str, kind: str) -> dict[str, Any]:
    return {"custom_id": custom_id, "result": {"type": kind}}


class Lines:
    """The batches of one test on the emulator, each answering with the lines given."""

    def __init__(self, claude: ClaudeEmulator, client: anthropic.Anthropic) -> None:
        self.claude = claude
        self.client = client

    def batch(self, custom_ids: Iterable[str], *, pending: bool = False) -> str:
        requests = [{"custom_id": c, "params": PARAMS} for c in custom_ids]
        if pending:
            self.claude.batch_policy = BatchPolicy.until_expired()
        try:
            batch = self.client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
        finally:
            self.claude.batch_policy = BatchPolicy.immediate()
        return batch.id

    def answer(self, batch_id: str, lines: Iterable[Mapping[str, Any]]) -> None:
        """The results download of `batch_id` answers exactly `lines`, in that order."""
        body = b""
        for line in lines:
            parsed = MessageBatchIndividualResponse.model_validate(line)  # the SDK's shape
            assert parsed.result.type == line["result"]["type"]
            body += json.dumps(line).encode() + b"\n"
        route = f"/v1/messages/batches/{batch_id}/results$"
        self.claude.inject(Fault(route=route, status=200, body=body, method="GET"))


@pytest.fixture
def lines(claude: ClaudeEmulator, client: anthropic.Anthropic) -> Lines:
    return Lines(claude, client)


MakeJob = Callable[..., JobRun]


@pytest.fixture
def make_job(tmp_path: Path, client: anthropic.Anthropic, claude: ClaudeEmulator) -> MakeJob:
    def make(kind: BatchJobKind | None = None, name: str = "digest", **job: Any) -> JobRun:
        return JobRun(
            name=name,
            job=JobConfig(kind="report", **job),
            model="claude-sonnet-5-5",
            kind=kind or ReportKind(tmp_path / "reports"),
            workdir=tmp_path,
            store=DirectoryStore(tmp_path / "state"),
            api=BatchesAPI(client),
            now=claude.clock.now,
        )

    return make


def submission(
    intent: str, custom_ids: Iterable[str], batch_id: str | None, **extra: Any
) -> Submission:
    extra.setdefault("intent_at", START - timedelta(minutes=1))
    return Submission(
        intent_id=intent,
        custom_ids=tuple(custom_ids),
        batch_id=batch_id,
        created_at=START if batch_id else None,
        **extra,
    )


def save_state(
    job: JobRun,
    submissions: Iterable[Submission],
    manifest: Mapping[str, ManifestEntry],
    retry: Iterable[RetryItem] = (),
) -> None:
    document = StateDocument(
        job=job.name, submissions=tuple(submissions), manifest=dict(manifest), retry=tuple(retry)
    )
    job.store.save(document, None)


def state(job: JobRun) -> StateDocument:
    return job.store.load(job.name).document


def retried(document: StateDocument) -> list[tuple[str, int, str, tuple[str, ...]]]:
    return [(r.entry.path, r.entry.attempt, r.reason, r.replays) for r in document.retry]


def test_each_result_type_and_error_type_gets_its_decision(
    lines: Lines, make_job: MakeJob, tmp_path: Path
) -> None:
    names = [
        "ok",
        "refused",
        "invalid",
        "nomodel",
        "overloaded",
        "apierror",
        "ratelimit",
        "timeout",
        "canceled",
        "expired",
    ]
    manifest = {cid(n): entry(f"src/{n}.py") for n in names}
    job = make_job()
    batch = lines.batch(manifest)
    save_state(job, [submission("i1", manifest, batch)], manifest)
    lines.answer(
        batch,
        [
            errored(cid("invalid"), "invalid_request_error", "max_tokens: Field required"),
            succeeded(cid("ok")),
            errored(cid("nomodel"), "not_found_error", "model: claude-gone"),
            succeeded(cid("refused"), "", stop="refusal"),
            errored(cid("overloaded"), "overloaded_error", "Overloaded"),
            ended(cid("canceled"), "canceled"),
            errored(cid("apierror"), "api_error", "Internal server error"),
            ended(cid("expired"), "expired"),
            errored(cid("ratelimit"), "rate_limit_error", "Number of requests has exceeded"),
            errored(cid("timeout"), "timeout_error", "Request timed out"),
        ],
    )

    result = collect(job)

    assert result.job == "digest"
    assert result.collected == (batch,) and result.pending == ()
    assert result.counts == {"succeeded": 2, "errored": 6, "canceled": 1, "expired": 1}
    assert result.result_count == 10
    assert result.accepted == 1
    assert sorted(result.failures, key=lambda f: f.path) == [
        Failure(
            custom_id=cid("invalid"),
            path="src/invalid.py",
            attempt=1,
            reason="invalid request: max_tokens: Field required",
        ),
        Failure(
            custom_id=cid("nomodel"),
            path="src/nomodel.py",
            attempt=1,
            reason="the API does not serve the job's model (change `model`): model: claude-gone",
        ),
        Failure(
            custom_id=cid("refused"),
            path="src/refused.py",
            attempt=1,
            reason="the model declined to answer (refusal)",
        ),
    ]
    expected_retries = [
        ("src/apierror.py", 2, "errored (api_error)", ()),
        ("src/canceled.py", 2, "canceled", ()),
        ("src/expired.py", 2, "expired", ()),
        ("src/overloaded.py", 2, "errored (overloaded_error)", ()),
        ("src/ratelimit.py", 2, "errored (rate_limit_error)", ()),
        ("src/timeout.py", 2, "errored (timeout_error)", ()),
    ]
    document = state(job)
    assert sorted(retried(document)) == expected_retries
    assert result.retried == 6 and result.retries == document.retry
    # The collected batch left the state, manifest and all, in the same save.
    assert document.submissions == () and document.manifest == {}
    assert result.warnings == () and result.adopted == () and result.findings == ()
    assert result.withheld == {} and result.noise == {}
    # Published as one report, named by the collection: sha256("msgbatch_emu00000001")[:12].
    assert result.published is not None
    report = tmp_path / "reports" / "digest-f5a797129a9f.md"
    assert result.published.location == str(report)
    text = report.read_text()
    assert "## `src/ok.py`\n\nAdds two numbers.\n\n- **low**: untested" in text
    assert "| `src/invalid.py` | 1 | invalid request: max_tokens: Field required |" in text
    assert "| `src/canceled.py` | 2 | the batch was canceled before this request ran |" in text


def test_the_last_attempt_is_reported_and_the_one_before_is_sent_again(
    lines: Lines, make_job: MakeJob
) -> None:
    # max_attempts 3: a request at its 2nd attempt goes out a 3rd time; at its 3rd, no more.
    manifest = {
        cid("a", 2): entry("src/a.py", 2),
        cid("b", 3): entry("src/b.py", 3),
        cid("c", 3): entry("src/c.py", 3),
        cid("d", 3): entry("src/d.py", 3),
    }
    job = make_job(max_attempts=3)
    batch = lines.batch(manifest)
    save_state(job, [submission("i1", manifest, batch)], manifest)
    lines.answer(
        batch,
        [
            ended(cid("a", 2), "expired"),
            ended(cid("b", 3), "expired"),
            errored(cid("c", 3), "overloaded_error", "Overloaded"),
            errored(cid("d", 3), "invalid_request_error", "bad"),
        ],
    )

    result = collect(job)

    assert sorted((f.path, f.attempt, f.reason) for f in result.failures) == [
        ("src/b.py", 3, "expired, after 3 attempt(s)"),
        ("src/c.py", 3, "errored (overloaded_error), after 3 attempt(s)"),
        ("src/d.py", 3, "invalid request: bad"),  # permanent: no count of attempts
    ]
    assert retried(state(job)) == [("src/a.py", 3, "expired", ())]
    assert sorted(f.custom_id for f in result.failures) == [cid("b", 3), cid("c", 3), cid("d", 3)]


def test_a_repeated_line_is_handled_once(lines: Lines, make_job: MakeJob, tmp_path: Path) -> None:
    manifest = {cid("a"): entry("src/a.py"), cid("b"): entry("src/b.py")}
    job = make_job()
    batch = lines.batch(manifest)
    save_state(job, [submission("i1", manifest, batch)], manifest)
    lines.answer(
        batch,
        [
            succeeded(cid("a")),
            succeeded(cid("a"), OTHER),
            ended(cid("b"), "expired"),
            ended(cid("b"), "expired"),
        ],
    )

    result = collect(job)

    assert result.counts == {"succeeded": 1, "expired": 1}
    assert result.accepted == 1
    assert retried(state(job)) == [("src/b.py", 2, "expired", ())]
    text = (tmp_path / "reports" / "digest-f5a797129a9f.md").read_text()
    assert "Adds two numbers." in text and "Something else." not in text
    assert result.warnings == ()


def test_unknown_custom_ids_are_counted_and_the_first_five_named_per_batch(
    lines: Lines, make_job: MakeJob
) -> None:
    strays = [f"report-stray{i}-a1" for i in range(7)]
    job = make_job()
    first = lines.batch([cid("a"), *strays])
    second = lines.batch([cid("b"), "report-other-a1"])
    manifest = {cid("a"): entry("src/a.py"), cid("b"): entry("src/b.py")}
    save_state(
        job,
        [submission("i1", [cid("a")], first), submission("i2", [cid("b")], second)],
        manifest,
    )
    # The order the lines arrive in is the order the warning names them.
    arrival = [strays[i] for i in (3, 0, 6, 1, 5, 2, 4)]
    first_lines = [ended(arrival[0], "expired"), succeeded(cid("a"))]
    lines.answer(first, first_lines + [succeeded(s) for s in arrival[1:]])
    lines.answer(second, [succeeded("report-other-a1"), succeeded(cid("b"))])

    result = collect(job)

    assert result.counts == {"succeeded": 2}  # only the two the state expects
    assert result.accepted == 2 and result.failures == () and result.retried == 0
    assert result.warnings == (
        f"batch {first}: 7 result(s) with unknown custom_id ignored "
        "(report-stray3-a1, report-stray0-a1, report-stray6-a1, report-stray1-a1, "
        "report-stray5-a1)",
        f"batch {second}: 1 result(s) with unknown custom_id ignored (report-other-a1)",
    )
    # Two batches, one collection: sha256("msgbatch_emu00000001,msgbatch_emu00000002")[:12].
    assert result.published is not None
    assert result.published.location.endswith("digest-25170bbabcfb.md")


def test_a_batch_without_some_results_sends_the_missing_ones_again(
    lines: Lines, make_job: MakeJob
) -> None:
    manifest = {cid(n): entry(f"src/{n}.py") for n in ("a", "b", "c")}
    job = make_job()
    batch = lines.batch(manifest)
    save_state(job, [submission("i1", manifest, batch)], manifest)
    lines.answer(batch, [succeeded(cid("b"))])

    result = collect(job)

    # In custom_id order, each as its next attempt; no crash warning: the batch was ours.
    assert retried(state(job)) == [
        ("src/a.py", 2, "no result was returned", ()),
        ("src/c.py", 2, "no result was returned", ()),
    ]
    assert result.warnings == () and result.counts == {"succeeded": 1}


def test_an_adopted_batch_holding_none_of_its_requests_sends_them_again(
    lines: Lines, make_job: MakeJob, claude: ClaudeEmulator
) -> None:
    # A run died between creating its batch and saving the id; the batch found since (as
    # many requests, created after the intent) holds other requests than the intent's.
    manifest = {cid("a"): entry("src/a.py"), cid("b"): entry("src/b.py")}
    job = make_job()
    batch = lines.batch(["report-x-a1", "report-y-a1"])
    save_state(job, [submission("i1", manifest, None)], manifest)
    lines.answer(batch, [succeeded("report-y-a1"), succeeded("report-x-a1")])

    result = collect(job)

    assert result.adopted == (batch,) and result.collected == (batch,)
    assert result.warnings == (
        f"batch {batch}, found after a crash, holds none of the recorded requests; "
        "they will be sent again",
        f"batch {batch}: 2 result(s) with unknown custom_id ignored (report-y-a1, report-x-a1)",
    )
    assert result.counts == {} and result.published is None  # nothing to publish
    document = state(job)
    assert retried(document) == [
        ("src/a.py", 2, "no result was returned", ()),
        ("src/b.py", 2, "no result was returned", ()),
    ]
    assert document.submissions == () and document.manifest == {}


def test_an_adopted_batch_holding_its_requests_is_collected_without_a_warning(
    lines: Lines, make_job: MakeJob
) -> None:
    manifest = {cid("a"): entry("src/a.py"), cid("b"): entry("src/b.py")}
    job = make_job()
    batch = lines.batch(manifest)
    save_state(job, [submission("i1", manifest, None)], manifest)
    lines.answer(batch, [succeeded(cid("b")), succeeded(cid("a"))])

    result = collect(job)

    assert result.adopted == (batch,) and result.warnings == ()
    assert result.counts == {"succeeded": 2} and state(job).retry == ()


def test_a_crash_while_publishing_keeps_the_adoption_and_the_rerun_publishes(
    lines: Lines, make_job: MakeJob, tmp_path: Path
) -> None:
    class Killed(Exception):
        pass

    points: list[str] = []

    def die_at_publishing(point: str) -> None:
        points.append(point)
        if point == "publishing":
            raise Killed

    manifest = {cid("a"): entry("src/a.py")}
    job = make_job()
    batch = lines.batch(manifest)
    save_state(job, [submission("i1", manifest, None)], manifest)
    lines.answer(batch, [succeeded(cid("a"))])

    with pytest.raises(Killed):
        collect(replace(job, checkpoint=die_at_publishing))

    # Nothing published, nothing settled; the batch found is recorded as adopted.
    assert not (tmp_path / "reports").exists()
    (kept,) = state(job).submissions
    assert (kept.batch_id, kept.adopted) == (batch, True)
    assert state(job).manifest == manifest

    lines.answer(batch, [succeeded(cid("a"))])
    points.clear()
    again = collect(replace(job, checkpoint=points.append))
    assert points == ["publishing", "state-saved"]
    assert again.adopted == () and again.counts == {"succeeded": 1}
    assert again.published is not None
    assert again.published.location == str(tmp_path / "reports" / "digest-f5a797129a9f.md")
    assert state(job).submissions == ()


def test_a_crash_after_the_save_leaves_the_batch_settled(lines: Lines, make_job: MakeJob) -> None:
    def die_after_save(point: str) -> None:
        if point == "state-saved":
            raise RuntimeError("killed")

    manifest = {cid("a"): entry("src/a.py"), cid("b"): entry("src/b.py")}
    job = make_job()
    batch = lines.batch(manifest)
    save_state(job, [submission("i1", manifest, batch)], manifest)
    lines.answer(batch, [succeeded(cid("a")), ended(cid("b"), "canceled")])

    with pytest.raises(RuntimeError):
        collect(replace(job, checkpoint=die_after_save))

    document = state(job)
    assert document.submissions == () and document.manifest == {}
    assert retried(document) == [("src/b.py", 2, "canceled", ())]


def test_a_lost_synchronous_run_sends_its_requests_again_as_its_replay(
    make_job: MakeJob, tmp_path: Path
) -> None:
    # A job on `api: sync` whose process died after its calls: the answers are gone.
    manifest = {
        cid("a"): entry("src/a.py"),
        cid("b"): entry("src/b.py"),
        cid("c", 3): entry("src/c.py", 3),
    }
    lost = lost_batch_id("i1")
    job = make_job(max_attempts=3)
    save_state(job, [submission("i1", manifest, lost, api="sync")], manifest)

    result = collect(job)

    reason = "the run that sent it stopped before collecting its answer"
    assert result.collected == (lost,)
    assert result.warnings == (
        f"synchronous run {lost} stopped before its results were collected; "
        "its 3 request(s) are sent again",
    )
    # Sent again as a replay of the lost run, so its publication is edited, not repeated.
    assert retried(state(job)) == [
        ("src/a.py", 2, reason, (lost,)),
        ("src/b.py", 2, reason, (lost,)),
    ]
    assert [(f.path, f.attempt, f.reason) for f in result.failures] == [
        ("src/c.py", 3, f"{reason}, after 3 attempt(s)")
    ]
    assert result.counts == {}
    assert result.published is not None  # the failure is reported
    # sha256("sync_lost_" + sha256("i1")[:20])[:12], worked out with sha256sum.
    assert lost == "sync_lost_4cd9b7672d7fbee8fb51"
    assert result.published.location == str(tmp_path / "reports" / "digest-07b9a9a4b516.md")


def test_a_lost_replay_replays_what_it_stood_for(make_job: MakeJob, tmp_path: Path) -> None:
    # The lost run was itself a replay of two earlier runs: its work still stands for them,
    # and its collection is published under theirs.
    manifest = {cid("a"): entry("src/a.py"), cid("b", 3): entry("src/b.py", 3)}
    lost = lost_batch_id("i2")
    job = make_job(max_attempts=3)
    replays = ("sync_run_b", "sync_lost_a")
    save_state(job, [submission("i2", manifest, lost, api="sync", replays=replays)], manifest)

    result = collect(job)

    reason = "the run that sent it stopped before collecting its answer"
    assert retried(state(job)) == [("src/a.py", 2, reason, replays)]
    assert result.warnings == (
        f"synchronous run {lost} stopped before its results were collected; "
        "its 2 request(s) are sent again",
    )
    # sha256("sync_lost_a,sync_run_b")[:12]: the replayed ids, sorted, worked out by hand.
    assert result.published is not None
    assert result.published.location == str(tmp_path / "reports" / "digest-3dbec671d7b7.md")


def test_a_lost_run_sent_again_in_two_batches_publishes_under_the_lost_run_once(
    lines: Lines, make_job: MakeJob, tmp_path: Path
) -> None:
    # The requests of lost run sync_lost_a went out again split over two batches, each a
    # replay of it: their collection is the lost run's, so its publication is edited.
    job = make_job()
    first = lines.batch([cid("a")])
    second = lines.batch([cid("b")])
    manifest = {cid("a"): entry("src/a.py", 2), cid("b"): entry("src/b.py", 2)}
    replays = ("sync_lost_a",)
    save_state(
        job,
        [
            submission("i1", [cid("a")], first, replays=replays),
            submission("i2", [cid("b")], second, replays=replays),
        ],
        manifest,
    )
    lines.answer(first, [succeeded(cid("a"))])
    lines.answer(second, [succeeded(cid("b"))])

    result = collect(job)

    assert result.collected == (first, second) and result.accepted == 2
    # sha256("sync_lost_a")[:12], worked out with sha256sum: the id once, not once a batch.
    assert result.published is not None
    assert result.published.location == str(tmp_path / "reports" / "digest-b818c6fd9e58.md")


def test_a_lost_run_with_nothing_left_to_report_publishes_nothing(make_job: MakeJob) -> None:
    manifest = {cid("a"): entry("src/a.py")}
    lost = lost_batch_id("i2")
    job = make_job()
    save_state(job, [submission("i2", manifest, lost, api="sync")], manifest)

    result = collect(job)

    assert result.published is None  # nothing taken, nothing failed: nothing to publish
    assert result.retried == 1 and result.failures == ()


def test_withheld_and_noise_are_summed_over_the_collected_batches_only(
    lines: Lines, make_job: MakeJob, tmp_path: Path
) -> None:
    job = make_job()
    first = lines.batch([cid("a")])
    second = lines.batch([cid("b")])
    waiting = lines.batch([cid("c")], pending=True)
    manifest = {cid(n): entry(f"src/{n}.py") for n in ("a", "b", "c")}
    save_state(
        job,
        [
            submission(
                "i1",
                [cid("a")],
                first,
                withheld={"secret by name: .env file": 2, "secret by content: GitHub token": 1},
                noise={"noise: lockfile": 1},
            ),
            submission(
                "i2",
                [cid("c")],
                waiting,
                withheld={"secret by name: .env file": 5},
                noise={"noise: lockfile": 5},
            ),
            submission(
                "i3",
                [cid("b")],
                second,
                withheld={"secret by name: .env file": 1},
                noise={"noise: generated code": 2, "noise: lockfile": 1},
            ),
        ],
        manifest,
    )
    lines.answer(first, [succeeded(cid("a"))])
    lines.answer(second, [succeeded(cid("b"))])

    result = collect(job)

    # In reason order, as the account lists them; the pending batch's count waits for it.
    assert list(result.withheld.items()) == [
        ("secret by content: GitHub token", 1),
        ("secret by name: .env file", 3),
    ]
    assert list(result.noise.items()) == [("noise: generated code", 2), ("noise: lockfile", 2)]
    assert result.collected == (first, second)
    assert [(p.batch_id, p.status) for p in result.pending] == [(waiting, "in_progress")]
    assert result.published is not None
    text = Path(result.published.location).read_text()
    assert (
        "**Not sent to the model (secret policy):** 4 file(s): "
        "secret by content: GitHub token (1), secret by name: .env file (3)."
    ) in text
    assert (
        "**Not sent to the model (noise, not worth paying for):** 4 file(s): "
        "generated code (2), lockfile (2)."
    ) in text
    # The pending submission stays, with its manifest; the collected ones are gone.
    document = state(job)
    assert [s.intent_id for s in document.submissions] == ["i2"]
    assert document.manifest == {cid("c"): entry("src/c.py")}


def test_nothing_ended_publishes_nothing_and_saves_nothing(lines: Lines, make_job: MakeJob) -> None:
    job = make_job(sla_hours=6)
    waiting = lines.batch([cid("a")], pending=True)
    manifest = {cid("a"): entry("src/a.py")}
    # An intent whose batch another run may still be creating is left alone too.
    save_state(
        job,
        [
            submission("i0", [cid("z")], None),
            submission("i1", [cid("a")], waiting, withheld={"secret by name: .env file": 1}),
        ],
        manifest,
    )
    before = job.store.load("digest")
    points: list[str] = []

    result = collect(replace(job, checkpoint=points.append))

    assert result.collected == () and result.published is None and points == []
    (age,) = result.pending
    assert (age.batch_id, age.status, age.age_hours) == (waiting, "in_progress", 0.0)
    assert (age.sla_hours, age.remaining_hours) == (6, 6)  # the job's SLA, all of it left
    assert result.withheld == {} and result.noise == {} and result.counts == {}
    assert job.store.load("digest").version == before.version


def test_an_intent_still_waiting_does_not_stop_the_ended_batch_after_it(
    lines: Lines, make_job: MakeJob, claude: ClaudeEmulator
) -> None:
    # Two runs: the first recorded intent i0 and is still creating its batch (no batch of
    # its two requests yet, within the grace); the second recorded i1 later, created its
    # batch and died before saving the id. i1's batch is found and collected all the same.
    job = make_job()
    manifest = {cid("a"): entry("src/a.py"), cid("z"): entry("src/z.py")}
    ready = lines.batch([cid("a")])
    waiting = submission("i0", [cid("z"), cid("y")], None)
    save_state(job, [waiting, submission("i1", [cid("a")], None, intent_at=START)], manifest)
    lines.answer(ready, [succeeded(cid("a"))])

    result = collect(job)

    assert result.adopted == (ready,) and result.collected == (ready,)
    assert result.counts == {"succeeded": 1}
    assert [s.intent_id for s in state(job).submissions] == ["i0"]
    assert state(job).manifest == {cid("z"): entry("src/z.py")}


def test_a_request_the_manifest_lost_is_neither_judged_nor_sent_again(
    lines: Lines, make_job: MakeJob
) -> None:
    # A state restored by hand can list a custom_id its manifest no longer holds.
    job = make_job()
    batch = lines.batch([cid("a"), cid("b"), cid("c")])
    manifest = {cid("a"): entry("src/a.py")}
    save_state(job, [submission("i1", [cid("a"), cid("b"), cid("c")], batch)], manifest)
    lines.answer(batch, [succeeded(cid("a")), ended(cid("b"), "expired")])

    result = collect(job)

    assert result.counts == {"succeeded": 1} and result.retried == 0
    assert result.failures == () and result.warnings == ()
    assert state(job).submissions == () and state(job).manifest == {}


def test_retries_join_those_already_queued_and_another_run_settling_first_adds_none(
    lines: Lines, make_job: MakeJob
) -> None:
    queued = RetryItem(entry=entry("src/old.py", 2), reason="expired")
    manifest = {cid("a"): entry("src/a.py"), cid("b"): entry("src/b.py")}
    job = make_job()
    batch = lines.batch(manifest)
    save_state(job, [submission("i1", manifest, batch)], manifest, retry=[queued])
    lines.answer(batch, [ended(cid("a"), "expired"), succeeded(cid("b"))])
    answered: list[str] = []

    def other_run_collects_first(point: str) -> None:
        # Another run of the job collects the same batch while this one publishes.
        if point == "publishing" and not answered:
            answered.append(point)
            lines.answer(batch, [ended(cid("a"), "expired"), succeeded(cid("b"))])
            other = collect(job)
            assert other.retried == 1

    result = collect(replace(job, checkpoint=other_run_collects_first))

    assert result.retried == 1
    # The old retry kept, the new one queued once, not once per run.
    assert retried(state(job)) == [
        ("src/old.py", 2, "expired", ()),
        ("src/a.py", 2, "expired", ()),
    ]


def test_an_errored_line_without_its_error_object_is_sent_again_as_an_api_error(
    lines: Lines, make_job: MakeJob
) -> None:
    # The API always names the error; if a line ever came without it, the request is
    # neither lost nor failed for good: it is sent again as a server-side error would be.
    manifest = {cid(n): entry(f"src/{n}.py") for n in ("a", "b", "c")}
    job = make_job()
    batch = lines.batch(manifest)
    save_state(job, [submission("i1", manifest, batch)], manifest)
    body = (
        json.dumps({"custom_id": cid("a"), "result": {"type": "errored"}})
        + "\n"
        + json.dumps(
            {
                "custom_id": cid("b"),
                "result": {"type": "errored", "error": {"type": "error", "error": None}},
            }
        )
        + "\n"
        + json.dumps({"custom_id": cid("c"), "result": {"type": "errored", "error": "Overloaded"}})
        + "\n"
    ).encode()
    route = f"/v1/messages/batches/{batch}/results$"
    lines.claude.inject(Fault(route=route, status=200, body=body, method="GET"))

    result = collect(job)

    assert result.counts == {"errored": 3} and result.failures == ()
    assert retried(state(job)) == [
        ("src/a.py", 2, "errored (api_error)", ()),
        ("src/b.py", 2, "errored (api_error)", ()),
        ("src/c.py", 2, "errored (api_error)", ()),
    ]


def test_an_invalid_request_without_a_message_says_so_plainly(
    lines: Lines, make_job: MakeJob
) -> None:
    manifest = {cid("a"): entry("src/a.py")}
    job = make_job()
    batch = lines.batch(manifest)
    save_state(job, [submission("i1", manifest, batch)], manifest)
    lines.answer(batch, [errored(cid("a"), "invalid_request_error", "")])

    result = collect(job)

    assert [f.reason for f in result.failures] == ["invalid request: "]


def finding(line: int, title: str = "SQL built from input") -> AuditFinding:
    return AuditFinding(
        path="src/db.py",
        line=line,
        severity="high",
        cwe="CWE-89",
        title=title,
        description="The query concatenates the request's name.",
        recommendation="Use a parameterised query.",
        confidence="high",
    )


def test_findings_are_those_of_finding_payloads_once_per_fingerprint() -> None:
    first, moved, other = finding(3), finding(9, "SQL  built from INPUT"), finding(5, "XSS")
    e = entry("src/db.py")
    accepted = [
        Accepted("audit-1", e, (first, other)),
        Accepted("audit-2", e, (moved,)),  # the same finding (path, CWE, title), moved
        Accepted("report-1", e, "a digest, not a tuple"),
        Accepted("gen-1", e, ("a test file", 3)),  # a tuple of something else
    ]

    assert findings_of(accepted) == (first, other)
    assert findings_of([]) == ()


def audit_finding(path: str, line: int, title: str) -> dict[str, Any]:
    return {
        "path": path,
        "line": line,
        "severity": "high",
        "cwe": "CWE-89",
        "title": title,
        "description": "The query concatenates the request's name.",
        "recommendation": "Use a parameterised query.",
        "confidence": "high",
    }


def test_an_audit_gives_each_files_findings_and_warns_of_each_dropped_one(
    lines: Lines, make_job: MakeJob, repo: Path, tmp_path: Path
) -> None:
    # `repo` tracks src/a.py and src/b.py: the findings keep the paths the model gave.
    config = JobConfig(kind="security-audit", output="sarif")
    audit = SecurityAuditKind("audit", config, repo, None, tmp_path / "audit.sarif")
    job = make_job(kind=audit, name="audit")
    manifest = {cid("a"): entry("src/a.py"), cid("b"): entry("src/b.py")}
    batch = lines.batch(manifest)
    save_state(job, [submission("i1", manifest, batch)], manifest)
    no_title = {k: v for k, v in audit_finding("src/a.py", 4, "x").items() if k != "title"}
    no_cwe = {k: v for k, v in audit_finding("src/b.py", 8, "x").items() if k != "cwe"}
    answers = {
        "a": {"findings": [audit_finding("src/a.py", 3, "SQL from input"), no_title]},
        "b": {"findings": [no_cwe, audit_finding("src/b.py", 7, "SQL from a header")]},
    }
    lines.answer(batch, [succeeded(cid(n), json.dumps(answers[n])) for n in ("a", "b")])

    result = collect(job)

    def kept(path: str, line: int, title: str) -> AuditFinding:
        return AuditFinding(
            path=path,
            line=line,
            severity="high",
            cwe="CWE-89",
            title=title,
            description="The query concatenates the request's name.",
            recommendation="Use a parameterised query.",
            confidence="high",
        )

    assert result.findings == (
        kept("src/a.py", 3, "SQL from input"),
        kept("src/b.py", 7, "SQL from a header"),
    )
    # The kind's own warning, one reason per dropped finding, per file (pydantic's words).
    assert result.warnings == (
        "2 finding(s) dropped (the answer broke the output schema): "
        "src/a.py: finding 2, title: Field required; src/b.py: finding 1, cwe: Field required",
    )
    assert result.published is not None
    assert result.published.location == str(tmp_path / "audit.sarif")


def test_the_issue_account_names_the_batches_and_runs_collected(
    lines: Lines,
    make_job: MakeJob,
    repository: Any,
    origin: GitHubEmulator,
    tmp_path: Path,
) -> None:
    issues = IssuePublisher(repository, Redactor())
    kind = ReportKind(tmp_path / "reports", issues, ("digest", JobConfig(kind="report")))
    job = make_job(kind=kind)
    batch = lines.batch([cid("a")])
    lost = lost_batch_id("i2")
    manifest = {cid("a"): entry("src/a.py"), cid("b"): entry("src/b.py")}
    save_state(
        job,
        [submission("i1", [cid("a")], batch), submission("i2", [cid("b")], lost, api="sync")],
        manifest,
    )
    lines.answer(batch, [succeeded(cid("a"))])

    result = collect(job)

    assert result.published is not None and result.published.detail == "issue #1 opened"
    [issue] = origin.state.issues.values()
    assert "**Batches:** `msgbatch_emu00000001`  \n" in issue["body"]
    assert f"**Synchronous runs:** `{lost}`  \n" in issue["body"]


FALLBACK = "claude-haiku-4-5"
# The reasons `batch/fallback.py` gives, written out for the job's model claude-sonnet-5-5.
OVERLOADED_WHY = "claude-sonnet-5-5 stayed overloaded (errored: overloaded_error)"
REFUSED_WHY = "claude-sonnet-5-5 declined it (stop_reason: refusal)"


def on_fallback(path: str, why: str, attempt: int = 2) -> ManifestEntry:
    return replace(entry(path, attempt), model=FALLBACK, fallback=why)


def retried_on(document: StateDocument) -> list[tuple[str, int, str | None, str | None, str]]:
    return [
        (r.entry.path, r.entry.attempt, r.entry.model, r.entry.fallback, r.reason)
        for r in document.retry
    ]


def test_overloaded_and_refused_requests_are_sent_again_once_on_the_fallback_model(
    lines: Lines, make_job: MakeJob
) -> None:
    names = ["overloaded", "refused", "apierror", "invalid", "nomodel", "notjson", "ok"]
    manifest = {cid(n): entry(f"src/{n}.py") for n in names}
    manifest[cid("late", 3)] = entry("src/late.py", 3)
    job = make_job(fallback_model=FALLBACK, max_attempts=3)
    batch = lines.batch(manifest)
    save_state(job, [submission("i1", manifest, batch)], manifest)
    lines.answer(
        batch,
        [
            errored(cid("overloaded"), "overloaded_error", "Overloaded"),
            succeeded(cid("refused"), "", stop="refusal"),
            errored(cid("apierror"), "api_error", "Internal server error"),
            errored(cid("invalid"), "invalid_request_error", "max_tokens: Field required"),
            errored(cid("nomodel"), "not_found_error", "model: claude-sonnet-5-5"),
            succeeded(cid("notjson"), "Sure, here it is."),
            succeeded(cid("ok")),
            # On its last attempt: the fallback's try is sent all the same, once.
            errored(cid("late", 3), "overloaded_error", "Overloaded"),
        ],
    )

    result = collect(job)

    assert result.counts == {"succeeded": 3, "errored": 5}
    assert result.accepted == 1 and result.fallbacks == ()
    assert sorted(retried_on(state(job))) == [
        ("src/apierror.py", 2, None, None, "errored (api_error)"),
        (
            "src/late.py",
            4,
            "claude-haiku-4-5",
            "claude-sonnet-5-5 stayed overloaded (errored: overloaded_error)",
            "claude-sonnet-5-5 stayed overloaded (errored: overloaded_error); "
            "sent again on claude-haiku-4-5",
        ),
        (
            "src/overloaded.py",
            2,
            "claude-haiku-4-5",
            "claude-sonnet-5-5 stayed overloaded (errored: overloaded_error)",
            "claude-sonnet-5-5 stayed overloaded (errored: overloaded_error); "
            "sent again on claude-haiku-4-5",
        ),
        (
            "src/refused.py",
            2,
            "claude-haiku-4-5",
            "claude-sonnet-5-5 declined it (stop_reason: refusal)",
            "claude-sonnet-5-5 declined it (stop_reason: refusal); sent again on claude-haiku-4-5",
        ),
    ]
    assert result.retried == 4
    # Errors the fallback would meet too, and an answer that is not a refusal, fail as ever.
    assert sorted((f.path, f.attempt, f.reason) for f in result.failures) == [
        ("src/invalid.py", 1, "invalid request: max_tokens: Field required"),
        (
            "src/nomodel.py",
            1,
            "the API does not serve the job's model (change `model`): model: claude-sonnet-5-5",
        ),
        ("src/notjson.py", 1, "the answer is not the JSON the output schema asks for"),
    ]


@pytest.mark.parametrize("fallback", [None, "claude-sonnet-5-5"])
def test_without_another_model_to_fall_back_on_the_old_decisions_stand(
    lines: Lines, make_job: MakeJob, fallback: str | None
) -> None:
    # No fallback_model, or the job's own model named again: nothing to send it to.
    manifest = {cid("overloaded"): entry("src/overloaded.py"), cid("refused"): entry("src/r.py")}
    job = make_job(fallback_model=fallback)
    batch = lines.batch(manifest)
    save_state(job, [submission("i1", manifest, batch)], manifest)
    lines.answer(
        batch,
        [
            errored(cid("overloaded"), "overloaded_error", "Overloaded"),
            succeeded(cid("refused"), "", stop="refusal"),
        ],
    )

    result = collect(job)

    assert retried_on(state(job)) == [
        ("src/overloaded.py", 2, None, None, "errored (overloaded_error)")
    ]
    assert [(f.path, f.reason) for f in result.failures] == [
        ("src/r.py", "the model declined to answer (refusal)")
    ]


def test_the_fallback_models_own_results_are_never_sent_round_again(
    lines: Lines, make_job: MakeJob
) -> None:
    manifest = {
        cid("refused", 2): on_fallback("src/refused.py", REFUSED_WHY),
        cid("overloaded", 2): on_fallback("src/overloaded.py", OVERLOADED_WHY),
        cid("gone", 2): on_fallback("src/gone.py", OVERLOADED_WHY),
    }
    job = make_job(fallback_model=FALLBACK)
    batch = lines.batch(manifest)
    save_state(job, [submission("i1", manifest, batch)], manifest)
    lines.answer(
        batch,
        [
            succeeded(cid("refused", 2), "", stop="refusal"),
            errored(cid("overloaded", 2), "overloaded_error", "Overloaded"),
            errored(cid("gone", 2), "not_found_error", "model: claude-haiku-4-5"),
        ],
    )

    result = collect(job)

    # An overloaded fallback is sent again on the fallback, as any transient error.
    assert retried_on(state(job)) == [
        (
            "src/overloaded.py",
            3,
            "claude-haiku-4-5",
            "claude-sonnet-5-5 stayed overloaded (errored: overloaded_error)",
            "errored (overloaded_error)",
        )
    ]
    assert sorted((f.path, f.attempt, f.reason) for f in result.failures) == [
        (
            "src/gone.py",
            2,
            "the API does not serve the job's fallback model claude-haiku-4-5 "
            "(change `fallback_model`): model: claude-haiku-4-5",
        ),
        (
            "src/refused.py",
            2,
            "the fallback model claude-haiku-4-5 declined it too (stop_reason: refusal), "
            "after: claude-sonnet-5-5 declined it (stop_reason: refusal); not sent again",
        ),
    ]


def test_the_fallback_models_answers_are_listed_by_path_with_why(
    lines: Lines, make_job: MakeJob
) -> None:
    manifest = {
        cid("z", 2): on_fallback("src/z.py", REFUSED_WHY),
        cid("own"): entry("src/own.py"),
        cid("a", 2): on_fallback("src/a.py", OVERLOADED_WHY),
        # A state written by hand can name the model without the reason.
        cid("m", 2): replace(entry("src/m.py", 2), model=FALLBACK),
    }
    job = make_job(fallback_model=FALLBACK)
    batch = lines.batch(manifest)
    save_state(job, [submission("i1", manifest, batch)], manifest)
    lines.answer(batch, [succeeded(c) for c in manifest])

    result = collect(job)

    assert result.accepted == 4 and result.failures == () and result.retried == 0
    assert result.fallbacks == (
        (
            "src/a.py",
            "claude-haiku-4-5",
            "claude-sonnet-5-5 stayed overloaded (errored: overloaded_error)",
        ),
        ("src/m.py", "claude-haiku-4-5", ""),
        ("src/z.py", "claude-haiku-4-5", "claude-sonnet-5-5 declined it (stop_reason: refusal)"),
    )


class FreezeWatch(ReportKind):
    """The report kind, noting whether the heap was frozen while each result was judged."""

    frozen: list[bool]

    def accept(self, custom_id: str, entry: ManifestEntry, message: Mapping[str, Any]) -> Any:
        self.frozen.append(gc.get_freeze_count() > 0)
        return super().accept(custom_id, entry, message)


@pytest.mark.parametrize("frozen_before", [False, True])
def test_the_heap_is_frozen_while_ingesting_and_left_as_the_caller_had_it(
    lines: Lines, make_job: MakeJob, tmp_path: Path, frozen_before: bool
) -> None:
    kind = FreezeWatch(tmp_path / "reports")
    kind.frozen = []
    job = make_job(kind=kind)
    manifest = {cid("a"): entry("src/a.py"), cid("b"): entry("src/b.py")}
    batch = lines.batch(manifest)
    save_state(job, [submission("i1", manifest, batch)], manifest)
    lines.answer(batch, [succeeded(cid("a")), succeeded(cid("b"))])
    assert gc.get_freeze_count() == 0
    if frozen_before:
        gc.freeze()
    try:
        result = collect(job)
        after = gc.get_freeze_count()
    finally:
        gc.unfreeze()

    assert result.accepted == 2 and kind.frozen == [True, True]
    assert (after > 0) is frozen_before


class Partial:
    """Shaped like a finding in part only: a fingerprint and a path, nothing else."""

    def __init__(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint
        self.path = "src/db.py"


def test_findings_are_told_by_their_whole_shape_each_type_once() -> None:
    first, second = finding(3), finding(5, "XSS")
    e = entry("src/db.py")
    accepted = [
        Accepted("audit-1", e, (Partial("p1"), first)),
        Accepted("audit-2", e, ("text", Partial("p2"), second, 7)),
    ]

    assert findings_of(accepted) == (first, second)
