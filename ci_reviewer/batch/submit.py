"""Submitting a job's work: collect, build, split, check the budget, record the intent, create
the batches, record their ids.

The order is what makes a crash harmless: the intent (custom_ids, time, and the new last
collected commit) is saved before a batch is created, and the batch id right after. A run
that dies in between leaves an intent that the next run matches to its batch
(`recover.py`). A save that loses the compare-and-swap to another run reloads and decides
again, so two overlapping runs cannot both submit the same work.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

from ci_reviewer.batch.collect import (
    CollectStats,
    CommittedContent,
    FileSelection,
    SourceFile,
    blob_exists,
    changed_paths,
    head_commit,
    read_blob,
    tracked_files,
)
from ci_reviewer.batch.estimate import BatchEstimate, estimate_line
from ci_reviewer.batch.job_run import JobRun
from ci_reviewer.batch.recover import recover_orphans
from ci_reviewer.batch.requests import BatchRequest, RequestBuilder, refuse_tools
from ci_reviewer.batch.split import Entry, Limits, PlannedBatch, split
from ci_reviewer.batch.state import Loaded, RetryItem, StateConflict, StateDocument, Submission
from ci_reviewer.batch.store_retry import save_until_applied
from ci_reviewer.errors import ClaudeAPIError, UsageError
from ci_reviewer.globs import PathFilter

MAX_DECISIONS = 5


@dataclass(frozen=True)
class SubmittedBatch:
    batch_id: str
    requests: int
    bytes: int


@dataclass(frozen=True)
class SubmitResult:
    """What a submission did (or, with dry_run, would do)."""

    job: str
    commit: str
    considered: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    estimate: BatchEstimate = field(default_factory=BatchEstimate)
    batches: tuple[SubmittedBatch, ...] = ()
    adopted: tuple[str, ...] = ()
    requeued: int = 0
    dry_run: bool = False
    notes: tuple[str, ...] = field(default=())


def submit(run: JobRun, dry_run_to: BinaryIO | None = None) -> SubmitResult:
    """Submit what is new since the last run (plus retries); see the module docstring."""
    refuse_tools(run.name, run.job)
    for _ in range(MAX_DECISIONS):
        try:
            return _decide(run, run.store.load(run.name), dry_run_to)
        except StateConflict:
            continue  # another run saved first: look again at what is left to do
    raise UsageError(
        f"the state of job {run.name!r} kept changing under this run; another run is active",
        hint="let the other run finish (use a workflow `concurrency:` group)",
    )


def _decide(run: JobRun, loaded: Loaded, dry_run_to: BinaryIO | None) -> SubmitResult:
    document, version = loaded.document, loaded.version
    recovery = recover_orphans(document, run.api, run.now(), run.orphan_grace)
    if recovery.changed and dry_run_to is None:
        version = run.store.save(recovery.document, version)
    document = recovery.document
    head = head_commit(run.workdir)
    result = SubmitResult(
        job=run.name,
        commit=head,
        adopted=recovery.adopted,
        requeued=recovery.requeued,
        dry_run=dry_run_to is not None,
    )
    if recovery.waiting:
        note = "another run recorded a submission moments ago and may be creating its batch"
        return replace(result, notes=(note,))
    stats = CollectStats()
    estimate = BatchEstimate()
    resend = _Resend(run, RequestBuilder(run.kind, run.job, run.model), head)
    requests = _measured(
        _requests(run, resend, head, document, stats), estimate, run.job.max_tokens, dry_run_to
    )
    planned = list(split(requests, _limits(run)))
    run.checkpoint("collected")
    result = replace(
        result,
        considered=stats.considered,
        skipped=dict(stats.skipped),
        estimate=estimate.priced(run.model, run.job.api),
    )
    if dry_run_to is not None:
        return result
    _check_budget(run, result.estimate)
    if not planned:
        if document.last_commit != head:
            run.store.save(document.model_copy(update={"last_commit": head}), version)
        return result
    intents = _record_intents(run, document, version, planned, head)
    batches = [
        _create(run, intent, batch, resend) for intent, batch in zip(intents, planned, strict=True)
    ]
    return replace(result, batches=tuple(batches))


class _Resend:
    """Builds requests, and builds a planned one again when its batch is sent (the line
    source of `split.BatchBody`): from the checkout as collected, or for a retried request
    from the object store, as the first time."""

    def __init__(self, run: JobRun, builder: RequestBuilder, head: str) -> None:
        self.builder = builder
        self.workdir = run.workdir
        self.content = CommittedContent.of(run.workdir, head, run.job.max_file_bytes)
        self.from_store: set[str] = set()

    def stored(self, source: SourceFile, attempt: int) -> BatchRequest:
        request = self.builder.build(source, attempt)
        self.from_store.add(request.custom_id)
        return request

    def __call__(self, custom_id: str, entry: Entry) -> bytes:
        path, content_hash, attempt = entry
        if custom_id in self.from_store:
            source = _stored_source(self.workdir, path, content_hash)
        else:
            source = self.content.source(path, content_hash)
        return self.builder.build(source, attempt).line


def _limits(run: JobRun) -> Limits:
    return Limits(run.job.max_requests_per_batch, run.job.max_batch_bytes)


def _requests(
    run: JobRun, resend: _Resend, head: str, document: StateDocument, stats: CollectStats
) -> Iterator[BatchRequest]:
    """New and changed files first, then retries whose file has not changed since."""
    pending = {(e.path, e.content_hash) for e in document.manifest.values()}
    retries = {item.entry.path: item for item in document.retry}
    selection = FileSelection(
        PathFilter.build(run.job.include, run.job.exclude, run.job.skip_generated),
        run.job.max_file_bytes,
        run.job.skip_generated,
    )
    only = changed_paths(run.workdir, run.job.since, document.last_commit, head, run.now())
    for source in tracked_files(
        run.workdir,
        commit=head,
        selection=selection,
        only=only,
        stats=stats,
        progress=run.progress,
        content=resend.content,
    ):
        retry = retries.pop(source.path, None)
        if (source.path, source.blob_sha) in pending:
            stats.skipped["already in a pending batch"] += 1
            continue
        same = retry is not None and retry.entry.content_hash == source.blob_sha
        yield resend.builder.build(source, retry.entry.attempt if retry and same else 1)
    yield from _retried(run, resend, retries.values(), pending, stats)


def _retried(
    run: JobRun,
    resend: _Resend,
    items: Iterable[RetryItem],
    pending: set[tuple[str, str]],
    stats: CollectStats,
) -> Iterator[BatchRequest]:
    for item in items:
        entry = item.entry
        if (entry.path, entry.content_hash) in pending:
            continue
        if not blob_exists(run.workdir, entry.content_hash):
            stats.skipped["retry content no longer in the checkout"] += 1
            continue
        yield resend.stored(
            _stored_source(run.workdir, entry.path, entry.content_hash), entry.attempt
        )


def _stored_source(workdir: Path, path: str, content_hash: str) -> SourceFile:
    text = read_blob(workdir, content_hash).decode("utf-8", "replace")
    return SourceFile(path, content_hash, text)


def _measured(
    requests: Iterable[BatchRequest],
    estimate: BatchEstimate,
    max_tokens: int,
    dry_run_to: BinaryIO | None,
) -> Iterator[BatchRequest]:
    for request in requests:
        estimate.add(estimate_line(request.line, max_tokens))
        if dry_run_to is not None:
            dry_run_to.write(request.line + b"\n")
        yield request


def _check_budget(run: JobRun, estimate: BatchEstimate) -> None:
    limit = run.job.max_cost_usd
    if limit is None or estimate.usd is None or estimate.usd <= limit:
        return
    raise UsageError(
        f"job {run.name!r}: the estimated cost ${estimate.usd:.2f} at {estimate.price_label} "
        f"({estimate.requests} requests, ~{estimate.input_tokens} input tokens) is over "
        f"max_cost_usd ${limit:.2f}; nothing was submitted",
        hint=f"raise jobs.{run.name}.max_cost_usd to at least {estimate.usd:.2f}, or narrow "
        "the job's include/since"
        + (", or use api: batch (half price, within 24 h)" if estimate.api == "sync" else ""),
    )


def _record_intents(
    run: JobRun,
    document: StateDocument,
    version: str | None,
    planned: list[PlannedBatch],
    head: str,
) -> list[Submission]:
    now = run.now()
    # Unique to this run: two overlapping runs planning the same files at the same second
    # must not take each other's intent for their own (see `_landed`).
    nonce = secrets.token_hex(4)
    intents = []
    manifest = dict(document.manifest)
    for index, batch in enumerate(planned):
        ids = tuple(batch.manifest)
        digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:12]
        intent_id = f"{now:%Y%m%dT%H%M%SZ}-{index}-{digest}-{nonce}"
        intents.append(Submission(intent_id=intent_id, intent_at=now, custom_ids=ids))
        manifest.update(batch.manifest)
    updated = document.model_copy(
        update={
            "last_commit": head,
            "submissions": (*document.submissions, *intents),
            "manifest": manifest,
            "retry": (),
            "updated_at": now,
        }
    )
    try:
        run.store.save(updated, version)
    except StateConflict:
        if not _landed(run, intents):
            raise
    run.checkpoint("intent-recorded")
    return intents


def _landed(run: JobRun, intents: list[Submission]) -> bool:
    """Whether a save reported as a conflict in fact wrote our intents: a write that landed
    and then failed to answer is retried, and the retry meets its own first write."""
    stored = {s.intent_id for s in run.store.load(run.name).document.submissions}
    return all(intent.intent_id in stored for intent in intents)


def _create(
    run: JobRun, intent: Submission, batch: PlannedBatch, resend: _Resend
) -> SubmittedBatch:
    body = batch.body(resend)
    try:
        info = run.api.create(body, batch.size)
    except ClaudeAPIError:
        # The HTTP client reports a body that stopped as a failed connection; say what it was.
        if body.failure is not None:
            raise body.failure from None
        raise
    run.checkpoint("batch-created")

    def with_batch_id(document: StateDocument) -> StateDocument:
        submissions = tuple(
            s.model_copy(update={"batch_id": info.id, "created_at": info.created_at})
            if s.intent_id == intent.intent_id
            else s
            for s in document.submissions
        )
        return document.model_copy(update={"submissions": submissions})

    save_until_applied(run.store, run.name, with_batch_id)
    run.checkpoint("state-saved")
    return SubmittedBatch(info.id, batch.count, batch.size)
