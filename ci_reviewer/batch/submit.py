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
import math
import secrets
from dataclasses import dataclass, field, replace
from typing import BinaryIO, Literal

from ci_reviewer.batch.assemble import Resend, assemble
from ci_reviewer.batch.collect import CollectStats, head_commit
from ci_reviewer.batch.estimate import BatchEstimate
from ci_reviewer.batch.job_run import JobRun
from ci_reviewer.batch.noise import is_noise_reason
from ci_reviewer.batch.recover import recover_orphans
from ci_reviewer.batch.requests import refuse_tools
from ci_reviewer.batch.split import PlannedBatch, RecordSpool
from ci_reviewer.batch.state import Loaded, StateConflict, StateDocument, Submission
from ci_reviewer.batch.store_retry import save_until_applied
from ci_reviewer.errors import ClaudeAPIError, UsageError
from ci_reviewer.secret_policy import is_secret_reason

MAX_DECISIONS = 5
WARMUP_POLL_SECONDS = 15.0


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
    # What the skipped files weigh (reason -> bytes), beside their count.
    skipped_bytes: dict[str, int] = field(default_factory=dict)
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
    resend = Resend(run, head)
    with RecordSpool() as spool:
        planned = list(
            assemble(
                run,
                resend,
                document,
                head,
                stats=stats,
                estimate=estimate,
                dry_run_to=dry_run_to,
                spool=spool,
            )
        )
        run.checkpoint("collected")
        result = replace(
            result,
            considered=stats.considered,
            skipped=dict(stats.skipped),
            skipped_bytes=dict(stats.skipped_bytes),
            estimate=estimate.priced(run.model, run.job.api),
        )
        if dry_run_to is not None:
            return result
        _check_budget(run, result.estimate)
        if not planned:
            if document.last_commit != head:
                run.store.save(document.model_copy(update={"last_commit": head}), version)
            return result
        withheld = {r: n for r, n in result.skipped.items() if is_secret_reason(r)}
        noise = {r: n for r, n in result.skipped.items() if is_noise_reason(r)}
        intents, saved = _record_intents(
            run, document, version, planned, head, withheld=withheld, noise=noise
        )
        batches: list[SubmittedBatch] = []
        for index, (intent, batch) in enumerate(zip(intents, planned, strict=True)):
            if index and index == resend.warm_batches:
                _await_warmup(run, [b.batch_id for b in batches])
            created, saved = _create(run, intent, batch, resend, saved)
            batches.append(created)
    return replace(result, batches=tuple(batches))


def _await_warmup(run: JobRun, batch_ids: list[str]) -> None:
    """Wait (up to the job's `cache_warmup_minutes`) for the warm-up batches to end, so that
    the rest read the prefixes they wrote ("As soon as this is complete, submit the rest of
    the requests. You will have to monitor the job to know when it completes", prompt-caching
    page, on batches). One that takes longer is not waited for: the rest go anyway, and
    their hits are best effort, as without a warm-up."""
    if run.api.synchronous:  # its `create` returned when every request had been answered
        return
    polls = math.ceil(run.job.cache_warmup_minutes * 60 / WARMUP_POLL_SECONDS)
    pending = list(batch_ids)
    for poll in range(polls + 1):
        pending = [b for b in pending if run.api.retrieve(b).status != "ended"]
        if not pending or poll == polls:
            return
        run.sleep(WARMUP_POLL_SECONDS)


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
    *,
    withheld: dict[str, int],
    noise: dict[str, int],
) -> tuple[list[Submission], Loaded | None]:
    """Save the intents of `planned`; returns them, and what was saved (None when this run's
    save was confirmed only by reloading). The first intent carries what the secret policy
    kept out of this run (`withheld`) and the noise it did not pay for, for the account its
    collection publishes."""
    now = run.now()
    # Unique to this run: two overlapping runs planning the same files at the same second
    # must not take each other's intent for their own (see `_landed`).
    nonce = secrets.token_hex(4)
    api: Literal["batch", "sync"] = "sync" if run.api.synchronous else "batch"
    replaying = {item.entry.path: item.replays for item in document.retry if item.replays}
    # A request sent again on the fallback model keeps that model (and why) in its entry.
    fallbacks = {
        (e.path, e.content_hash, e.attempt): e
        for e in (item.entry for item in document.retry)
        if e.model is not None
    }
    intents = []
    manifest = dict(document.manifest)
    for index, batch in enumerate(planned):
        entries = batch.manifest  # unpacked once: a batch holds up to 100,000 of them
        if fallbacks:
            entries = {
                cid: fallbacks.get((e.path, e.content_hash, e.attempt), e)
                for cid, e in entries.items()
            }
        ids = tuple(entries)
        digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:12]
        intent_id = f"{now:%Y%m%dT%H%M%SZ}-{index}-{digest}-{nonce}"
        replays = {r for e in entries.values() for r in replaying.get(e.path, ())}
        intents.append(
            Submission(
                intent_id=intent_id,
                intent_at=now,
                custom_ids=ids,
                api=api,
                replays=tuple(sorted(replays)),
                withheld=withheld if index == 0 else {},
                noise=noise if index == 0 else {},
            )
        )
        manifest.update(entries)
    updated = document.model_copy(
        update={
            "last_commit": head,
            "submissions": (*document.submissions, *intents),
            "manifest": manifest,
            "retry": (),
            "updated_at": now,
        }
    )
    saved: Loaded | None = None
    try:
        saved = Loaded(updated, run.store.save(updated, version))
    except StateConflict:
        if not _landed(run, intents):
            raise
    run.checkpoint("intent-recorded")
    return intents, saved


def _landed(run: JobRun, intents: list[Submission]) -> bool:
    """Whether a save reported as a conflict in fact wrote our intents: a write that landed
    and then failed to answer is retried, and the retry meets its own first write."""
    stored = {s.intent_id for s in run.store.load(run.name).document.submissions}
    return all(intent.intent_id in stored for intent in intents)


def _create(
    run: JobRun, intent: Submission, batch: PlannedBatch, resend: Resend, saved: Loaded | None
) -> tuple[SubmittedBatch, Loaded]:
    """Create the batch of `intent` and record its id, starting from `saved` (the state as
    this run last wrote it: a large run's state is not parsed again for every batch)."""
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

    saved = save_until_applied(run.store, run.name, with_batch_id, saved)
    run.checkpoint("state-saved")
    return SubmittedBatch(info.id, batch.count, batch.size), saved
