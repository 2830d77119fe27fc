"""A job's `fallback_model`: a result errored with overloaded_error, or succeeded with
stop_reason refusal, is sent once more on the fallback model in the next submission; the
state records which model answered each file, the published issue and the job summary say
which files the fallback answered and why, each model priced at its own batch prices
(Sonnet 5.5 list prices: `tests.list_prices`; Haiku 5.5: `tests.review.test_spend`; batch
half of each). A refusal by the fallback too is a failure for good, never sent round again.

Real batches on the Claude emulator (an overloaded result and a refusal chosen by
custom_id), the issue through real PyGithub against the GitHub emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import anthropic
import github
import orjson
import pytest

from ci_reviewer.batch.format import collect_json, step_summary
from ci_reviewer.batch.job_run import JobRun
from ci_reviewer.batch.jobs.report import ReportKind
from ci_reviewer.batch.pipeline import collect, run, submit
from ci_reviewer.batch.store_dir import DirectoryStore
from ci_reviewer.batch.sync_api import SyncBatchesAPI
from ci_reviewer.config import JobConfig
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.github.publish_issue import IssuePublisher
from ci_reviewer.pricing import Usage
from ci_reviewer.secrets import Redactor
from tests.batch.conftest import MakeRun, commit_files, git
from tests.batch.test_pipeline import cid_of
from tests.list_prices import sonnet_5_5_dollars
from tests.review.test_spend import haiku_5_5_dollars

MODEL = "claude-sonnet-5-5"
FALLBACK = "claude-haiku-5-5"
TOKEN = "emulator-token"
OVERLOADED = f"{MODEL} stayed overloaded (errored: overloaded_error)"
DECLINED = f"{MODEL} declined it (stop_reason: refusal)"


@pytest.fixture
def issues(tmp_path: Path, repo: Path) -> Iterator[tuple[GitHubEmulator, IssuePublisher]]:
    bare = tmp_path / "origin"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(bare))
    emulator = GitHubEmulator(bare, full_name="octo/demo", token=TOKEN).start()
    client = github.Github(
        base_url=emulator.url,
        auth=github.Auth.Token(TOKEN),
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    try:
        yield emulator, IssuePublisher(client.get_repo("octo/demo"), Redactor())
    finally:
        client.close()
        emulator.stop()


def _fresh(run: JobRun, publisher: IssuePublisher, tmp_path: Path) -> JobRun:
    """The job as a new scheduled run sees it: a kind (and its account) of its own."""
    kind = ReportKind(tmp_path / "reports", publisher, (run.name, run.job))
    return replace(run, kind=kind)


def _billed(client: anthropic.Anthropic, batch_id: str) -> dict[str, tuple[str, Usage]]:
    """custom_id -> (model, usage) of each succeeded result, read with the SDK."""
    billed = {}
    for line in client.messages.batches.results(batch_id):
        if line.result.type == "succeeded":
            message = line.result.message
            billed[line.custom_id] = (message.model, Usage.from_api(message.usage))
    return billed


def test_overloaded_and_refused_files_are_answered_once_by_the_fallback_model(
    repo: Path,
    claude: ClaudeEmulator,
    client: anthropic.Anthropic,
    make_run: MakeRun,
    issues: tuple[GitHubEmulator, IssuePublisher],
    tmp_path: Path,
) -> None:
    emulator, publisher = issues
    claude.set_outcome(cid_of(repo, "src/a.py"), "errored", "overloaded_error")
    claude.set_reply(cid_of(repo, "src/b.py"), Reply.stop("refusal", category="cyber"))
    job = make_run(fallback_model=FALLBACK)
    submit(_fresh(job, publisher, tmp_path))

    first = collect(_fresh(job, publisher, tmp_path))

    # Neither failed: both wait for the fallback model, as attempt 2.
    assert first.failures == () and first.accepted == 0
    retry = job.store.load("digest").document.retry
    assert sorted((r.entry.path, r.entry.attempt, r.entry.model, r.reason) for r in retry) == [
        ("src/a.py", 2, FALLBACK, f"{OVERLOADED}; sent again on {FALLBACK}"),
        ("src/b.py", 2, FALLBACK, f"{DECLINED}; sent again on {FALLBACK}"),
    ]

    # The next submission: a new file on the job's model, the two on the fallback's.
    commit_files(repo, {"src/c.py": "print('c')\n"})
    sent = submit(_fresh(job, publisher, tmp_path))
    [batch] = sent.batches
    requests = dict(claude.batch(batch.batch_id).requests)
    a2, b2, c1 = cid_of(repo, "src/a.py", 2), cid_of(repo, "src/b.py", 2), cid_of(repo, "src/c.py")
    assert {cid: params["model"] for cid, params in requests.items()} == {
        a2: FALLBACK,
        b2: FALLBACK,
        c1: MODEL,
    }

    # The estimate prices each request at its own model's batch prices: characters / 4 of
    # its line in, the expected 1,500 tokens out (`batch/estimate.py`), nothing cached here.
    def line_tokens(cid: str) -> tuple[int, int]:
        line = orjson.dumps({"custom_id": cid, "params": requests[cid]})
        return -(-len(line) // 4), 1500

    def dollars(price: Callable[[Usage], float], *cids: str) -> float:
        usages = [Usage(*line_tokens(cid)) for cid in cids]
        return sum(price(usage) for usage in usages) / 2

    expected = dollars(haiku_5_5_dollars, a2, b2) + dollars(sonnet_5_5_dollars, c1)
    assert sent.estimate.usd == pytest.approx(expected)
    manifest = job.store.load("digest").document.manifest
    assert {cid: (e.model, e.fallback) for cid, e in manifest.items()} == {
        a2: (FALLBACK, OVERLOADED),
        b2: (FALLBACK, DECLINED),
        c1: (None, None),
    }

    second = collect(_fresh(job, publisher, tmp_path))

    assert second.accepted == 3 and second.failures == () and second.retries == ()
    assert second.fallbacks == (
        ("src/a.py", FALLBACK, OVERLOADED),
        ("src/b.py", FALLBACK, DECLINED),
    )
    billed = _billed(client, batch.batch_id)
    assert {cid: model for cid, (model, _) in billed.items()} == {
        a2: FALLBACK,
        b2: FALLBACK,
        c1: MODEL,
    }
    haiku = (haiku_5_5_dollars(billed[a2][1]) + haiku_5_5_dollars(billed[b2][1])) / 2
    sonnet = sonnet_5_5_dollars(billed[c1][1]) / 2
    [issue] = [i for i in emulator.state.issues.values() if "src/c.py" in i["body"]]
    body = issue["body"]
    assert (
        f"**Answered by the fallback model:** `src/a.py` by {FALLBACK} ({OVERLOADED}); "
        f"`src/b.py` by {FALLBACK} ({DECLINED})."
    ) in body
    assert (
        f"**Cost by model, each at its own batch prices:** {FALLBACK} ${haiku:.4f}, "
        f"{MODEL} ${sonnet:.4f}."
    ) in body
    assert f"**Cost:** ${haiku + sonnet:.4f} at batch prices" in body
    summary = step_summary(second)
    assert f"answered by the fallback model {FALLBACK}: src/a.py ({OVERLOADED})" in summary
    assert f"answered by the fallback model {FALLBACK}: src/b.py ({DECLINED})" in summary
    assert collect_json(second)["fallbacks"] == [
        {"path": "src/a.py", "model": FALLBACK, "why": OVERLOADED},
        {"path": "src/b.py", "model": FALLBACK, "why": DECLINED},
    ]


def test_a_refusal_by_the_fallback_too_fails_for_good_and_is_not_sent_again(
    repo: Path,
    claude: ClaudeEmulator,
    make_run: MakeRun,
    issues: tuple[GitHubEmulator, IssuePublisher],
    tmp_path: Path,
) -> None:
    emulator, publisher = issues
    refusal = Reply.stop("refusal", category="cyber")
    claude.set_reply(cid_of(repo, "src/b.py"), refusal)
    claude.set_reply(cid_of(repo, "src/b.py", 2), refusal)
    job = make_run(fallback_model=FALLBACK)
    submit(_fresh(job, publisher, tmp_path))
    collect(_fresh(job, publisher, tmp_path))
    submit(_fresh(job, publisher, tmp_path))

    second = collect(_fresh(job, publisher, tmp_path))

    reason = (
        f"the fallback model {FALLBACK} declined it too (stop_reason: refusal), after: "
        f"{DECLINED}; not sent again"
    )
    assert [(f.path, f.attempt, f.reason) for f in second.failures] == [("src/b.py", 2, reason)]
    assert second.retries == () and job.store.load("digest").document.retry == ()
    assert f"failed src/b.py (attempt 2): {reason}" in step_summary(second)
    bodies = [issue["body"] for issue in emulator.state.issues.values()]
    assert any(f"| `src/b.py` | 2 | {reason} |" in body for body in bodies)
    # Nothing is left to send: the file is not asked a third time.
    assert submit(_fresh(job, publisher, tmp_path)).batches == ()


def test_without_a_fallback_model_a_refusal_fails_and_overloaded_is_retried_as_before(
    repo: Path, claude: ClaudeEmulator, make_run: MakeRun
) -> None:
    claude.set_outcome(cid_of(repo, "src/a.py"), "errored", "overloaded_error")
    claude.set_reply(cid_of(repo, "src/b.py"), Reply.stop("refusal", category="cyber"))
    job = make_run()
    submit(job)

    result = collect(job)

    assert [(f.path, f.reason) for f in result.failures] == [
        ("src/b.py", "the model declined to answer (refusal)")
    ]
    assert [(r.entry.path, r.entry.model, r.reason) for r in result.retries] == [
        ("src/a.py", None, "errored (overloaded_error)")
    ]


def test_a_sync_job_whose_model_stays_overloaded_is_answered_by_the_fallback_next_run(
    repo: Path, claude: ClaudeEmulator, tmp_path: Path
) -> None:
    """`api: sync`: the SDK's own retries of a 529 run out (2 here), the request's line is
    errored with overloaded_error, and the next run asks the fallback model."""
    for _ in range(3):  # the first try and the SDK's two retries
        claude.enqueue(
            Reply.overloaded(),
            when=lambda body: body["model"] == MODEL and "src/a.py" in str(body["messages"]),
        )
    sdk = anthropic.Anthropic(api_key="sk-test-sync", base_url=claude.url, max_retries=2)

    def fresh() -> JobRun:
        return JobRun(
            name="urgent",
            job=JobConfig(kind="report", api="sync", fallback_model=FALLBACK),
            model=MODEL,
            kind=ReportKind(tmp_path / "reports"),
            workdir=repo,
            store=DirectoryStore(tmp_path / "state"),
            api=SyncBatchesAPI(sdk, claude.clock.now, concurrency=1),
            now=claude.clock.now,
        )

    try:
        first = run(fresh())
        second = run(fresh())
    finally:
        sdk.close()

    assert [(r.entry.path, r.entry.model, r.reason) for r in first.collected.retries] == [
        ("src/a.py", FALLBACK, f"{OVERLOADED}; sent again on {FALLBACK}")
    ]
    assert second.collected.fallbacks == (("src/a.py", FALLBACK, OVERLOADED),)
    asked = [(c.body["model"], c.status) for c in claude.requests if "src/a.py" in str(c.body)]
    assert asked == [(MODEL, 529)] * 3 + [(FALLBACK, 200)]


def test_a_fallback_model_the_api_does_not_serve_is_named_as_the_setting_to_change(
    repo: Path, claude: ClaudeEmulator, make_run: MakeRun
) -> None:
    claude.set_reply(cid_of(repo, "src/b.py"), Reply.stop("refusal", category="cyber"))
    job = make_run(fallback_model="claude-nonexistent-9")
    submit(job)
    collect(job)
    submit(job)

    result = collect(job)

    [failure] = result.failures
    assert (failure.path, failure.attempt) == ("src/b.py", 2)
    assert failure.reason.startswith(
        "the API does not serve the job's fallback model claude-nonexistent-9 "
        "(change `fallback_model`): "
    )
