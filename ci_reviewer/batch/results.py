"""Collecting a job's results: poll pending batches, ingest the ended ones, publish, requeue.

A job with `api: sync` comes here too: its synthetic batches (`sync_api`) have ended when
created, and one whose results died with an earlier process has its requests sent again.

Each result line is correlated through the manifest and classified: succeeded -> the kind
judges it; errored with invalid_request_error, or not_found_error (a model the API does not
serve) -> a permanent failure (sending it again would fail again); any other error, expired or
canceled -> sent again with attempt+1 up to the job's max_attempts, then reported; an
overloaded_error, or a refusal, is sent again once on the job's fallback model instead
(`fallback.py`). Lines whose
custom_id the batch does not hold are warned about. An ended batch leaves the state in the same
save that records its retries, after the kind has published, so a result is handled once (a
replay after a crash between publish and save publishes the same collection again, under the
same collection id).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ci_reviewer.batch.api import BatchInfo
from ci_reviewer.batch.fallback import (
    OVERLOADED,
    fallback_retry,
    overloaded_reason,
    refused_again,
    refused_reason,
)
from ci_reviewer.batch.job_run import JobRun
from ci_reviewer.batch.jobs.base import Accepted, Collection, Published, Rejected
from ci_reviewer.batch.manifest import ManifestEntry
from ci_reviewer.batch.recover import recover_orphans
from ci_reviewer.batch.sla import BatchAge, batch_age
from ci_reviewer.batch.state import Failure, Loaded, RetryItem, StateDocument, Submission
from ci_reviewer.batch.store_retry import save_until_applied
from ci_reviewer.sarif import SarifFinding


@dataclass
class Ingest:
    """What the result lines of the ended batches came to."""

    accepted: list[Accepted] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    retries: list[RetryItem] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CollectResult:
    job: str
    pending: tuple[BatchAge, ...]
    collected: tuple[str, ...]
    counts: dict[str, int]
    failures: tuple[Failure, ...]
    retried: int
    warnings: tuple[str, ...]
    published: Published | None
    adopted: tuple[str, ...] = ()
    # What the kind found (a security audit's findings), for SARIF; empty for other kinds.
    findings: tuple[SarifFinding, ...] = ()
    # What the secret policy kept out of the collected work (reason -> files).
    withheld: dict[str, int] = field(default_factory=dict)
    # Per file: how many answers the job took, and which files are sent again and why.
    accepted: int = 0
    retries: tuple[RetryItem, ...] = ()
    # The noise the collected work left out (reason -> files).
    noise: dict[str, int] = field(default_factory=dict)
    # (path, model, why) of the answers the job's fallback model gave.
    fallbacks: tuple[tuple[str, str, str], ...] = ()

    @property
    def result_count(self) -> int:
        return sum(self.counts.values())


def collect(run: JobRun) -> CollectResult:
    loaded = run.store.load(run.name)
    recovery = recover_orphans(loaded.document, run.api, run.now(), run.orphan_grace)
    document, version = recovery.document, loaded.version
    if recovery.changed:
        version = run.store.save(document, version)
    pending: list[BatchAge] = []
    ended: list[tuple[Submission, BatchInfo]] = []
    for submission in document.submissions:
        if submission.batch_id is None:
            continue
        info = run.api.retrieve(submission.batch_id)
        if info.status == "ended":
            ended.append((submission, info))
        else:
            pending.append(batch_age(info, run.job.sla_hours, run.now()))
    ingest = Ingest()
    with _heap_frozen():
        for submission, _info in ended:
            _ingest_batch(run, document, submission, ingest)
    published = None
    withheld: dict[str, int] = {}
    noise: dict[str, int] = {}
    if ended:
        batch_ids = tuple(info.id for _, info in ended)
        run.checkpoint("publishing")
        collection = Collection(
            job=run.name,
            collection_id=_collection_id(b for s, _ in ended for b in s.collected_as),
            batch_ids=batch_ids,
            accepted=ingest.accepted,
            failures=ingest.failures,
            retried=ingest.retries,
            withheld=withheld_by(s for s, _ in ended),
            noise=noise_by(s for s, _ in ended),
        )
        published = run.kind.publish(collection)
        withheld, noise = dict(collection.withheld), dict(collection.noise)
        done = {s.intent_id for s, _ in ended}
        save_until_applied(
            run.store,
            run.name,
            lambda d: _settled(d, done, ingest.retries),
            Loaded(document, version),
        )
        run.checkpoint("state-saved")
    return CollectResult(
        job=run.name,
        pending=tuple(pending),
        collected=tuple(info.id for _, info in ended),
        counts=ingest.counts,
        failures=tuple(ingest.failures),
        retried=len(ingest.retries),
        warnings=(*ingest.warnings, *(published.warnings if published else ())),
        published=published,
        adopted=recovery.adopted,
        findings=findings_of(ingest.accepted),
        withheld=withheld,
        accepted=len(ingest.accepted),
        retries=tuple(ingest.retries),
        noise=noise,
        fallbacks=fallbacks_of(ingest.accepted),
    )


def fallbacks_of(accepted: Iterable[Accepted]) -> tuple[tuple[str, str, str], ...]:
    """(path, model, why) of the accepted answers the fallback model gave, by path."""
    return tuple(
        sorted(
            (item.entry.path, item.entry.model, item.entry.fallback or "")
            for item in accepted
            if item.entry.model is not None
        )
    )


@contextlib.contextmanager
def _heap_frozen() -> Iterator[None]:
    """The objects alive now (the SDK, the state's manifest, ...) left out of the garbage
    collections while the results are ingested: each result leaves objects that live until
    publishing, so the heap grows, and each of the collector's full passes walked the SDK,
    the manifest and every earlier result again (collections were a quarter of the CPU of
    ingesting a 20,000-file audit)."""
    frozen_before = gc.get_freeze_count() > 0  # then the caller froze them: left frozen
    gc.freeze()
    try:
        yield
    finally:
        if not frozen_before:
            gc.unfreeze()


def findings_of(accepted: Iterable[Accepted]) -> tuple[SarifFinding, ...]:
    """The finding-shaped items of the accepted payloads (a kind that finds things returns
    a tuple of them per file), once per fingerprint."""
    unique: dict[str, SarifFinding] = {}
    shaped: dict[type, bool] = {}  # asked once per type: a large audit has ~300,000 findings
    for item in accepted:
        if isinstance(item.payload, tuple):
            for finding in item.payload:
                kind = type(finding)
                ok = shaped.get(kind)
                if ok is None:
                    ok = shaped[kind] = all(hasattr(finding, name) for name in _FINDING_FIELDS)
                if ok:
                    unique.setdefault(finding.fingerprint, finding)
    return tuple(unique.values())


# The attributes `sarif.SarifFinding` declares (isinstance cannot check a plain Protocol).
_FINDING_FIELDS = tuple(n for n, v in vars(SarifFinding).items() if isinstance(v, property))


def withheld_by(submissions: Iterable[Submission]) -> dict[str, int]:
    """What the secret policy kept out of the runs behind `submissions`, summed."""
    total: Counter[str] = Counter()
    for submission in submissions:
        total.update(submission.withheld)
    return dict(sorted(total.items()))


def noise_by(submissions: Iterable[Submission]) -> dict[str, int]:
    """The noise the runs behind `submissions` left out, summed."""
    total: Counter[str] = Counter()
    for submission in submissions:
        total.update(submission.noise)
    return dict(sorted(total.items()))


def _collection_id(batch_ids: Iterable[str]) -> str:
    return hashlib.sha256(",".join(sorted(set(batch_ids))).encode()).hexdigest()[:12]


def _ingest_batch(
    run: JobRun, document: StateDocument, submission: Submission, ingest: Ingest
) -> None:
    assert submission.batch_id is not None
    expected = set(submission.custom_ids)
    seen: set[str] = set()
    for line in run.api.results(submission.batch_id):
        cid = str(line.get("custom_id"))
        if cid not in expected:
            ingest.unknown.append(cid)
            continue
        if cid in seen:
            continue  # a result is handled once, even if a line repeats
        seen.add(cid)
        entry = document.manifest.get(cid)
        if entry is not None:
            _classify(run, cid, entry, line.get("result") or {}, ingest)
    missing = expected - seen
    if submission.adopted and not seen:
        ingest.warnings.append(
            f"batch {submission.batch_id}, found after a crash, holds none of the recorded "
            "requests; they will be sent again"
        )
    reason = "no result was returned"
    replays: tuple[str, ...] = ()
    if run.api.lost(submission.batch_id):
        reason = "the run that sent it stopped before collecting its answer"
        replays = submission.collected_as  # it may have published them before it stopped
        ingest.warnings.append(
            f"synchronous run {submission.batch_id} stopped before its results were "
            f"collected; its {len(missing)} request(s) are sent again"
        )
    for cid in sorted(missing):
        entry = document.manifest.get(cid)
        if entry is not None:
            _requeue(run, cid, entry, reason, ingest, replays=replays)
    if ingest.unknown:
        sample = ", ".join(ingest.unknown[:5])
        ingest.warnings.append(
            f"batch {submission.batch_id}: {len(ingest.unknown)} result(s) with unknown "
            f"custom_id ignored ({sample})"
        )
        ingest.unknown.clear()


def _classify(
    run: JobRun, cid: str, entry: ManifestEntry, result: Mapping[str, Any], ingest: Ingest
) -> None:
    kind = str(result.get("type"))
    ingest.counts[kind] = ingest.counts.get(kind, 0) + 1
    if kind == "succeeded":
        message = result.get("message") or {}
        judged = run.kind.accept(cid, entry, message)  # billed, and so counted, either way
        if isinstance(judged, Rejected) and message.get("stop_reason") == "refusal":
            _refused(run, cid, entry, judged, ingest)
        elif isinstance(judged, Rejected):
            ingest.failures.append(_failure(cid, entry, judged.reason))
        else:
            ingest.accepted.append(judged)
        return
    if kind == "errored":
        error_type = _error_type(result)
        why = overloaded_reason(run.model)
        retry = fallback_retry(entry, run.model, run.job.fallback_model, why)
        if error_type == OVERLOADED and retry is not None:
            ingest.retries.append(retry)
            return
        if error_type in _PERMANENT_ERRORS:
            what = _PERMANENT_ERRORS[error_type]
            if error_type == "not_found_error" and entry.model is not None:
                what = f"the API does not serve the job's fallback model {entry.model} (change "
                what += "`fallback_model`)"
            reason = f"{what}: {_error_message(result)}"
            ingest.failures.append(_failure(cid, entry, reason))
            return
        _requeue(run, cid, entry, f"errored ({error_type})", ingest)
        return
    _requeue(run, cid, entry, kind, ingest)


def _refused(run: JobRun, cid: str, entry: ManifestEntry, judged: Rejected, ingest: Ingest) -> None:
    """A declined request: sent again once on the fallback model, else a failure (the
    fallback's own refusal is one for good: never sent round again)."""
    if entry.model is not None:
        ingest.failures.append(_failure(cid, entry, refused_again(entry)))
        return
    retry = fallback_retry(entry, run.model, run.job.fallback_model, refused_reason(run.model))
    if retry is None:
        ingest.failures.append(_failure(cid, entry, judged.reason))
    else:
        ingest.retries.append(retry)


# Errors the same request would meet again: reported, not sent again. In a batch result a
# not_found_error can only be about the request's model.
_PERMANENT_ERRORS = {
    "invalid_request_error": "invalid request",
    "not_found_error": "the API does not serve the job's model (change `model`)",
}


def _requeue(
    run: JobRun,
    cid: str,
    entry: ManifestEntry,
    reason: str,
    ingest: Ingest,
    *,
    replays: tuple[str, ...] = (),
) -> None:
    if entry.attempt >= run.job.max_attempts:
        attempts = f"{reason}, after {entry.attempt} attempt(s)"
        ingest.failures.append(_failure(cid, entry, attempts))
        return
    next_entry = replace(entry, attempt=entry.attempt + 1)
    ingest.retries.append(RetryItem(entry=next_entry, reason=reason, replays=replays))


def _failure(cid: str, entry: ManifestEntry, reason: str) -> Failure:
    return Failure(custom_id=cid, path=entry.path, attempt=entry.attempt, reason=reason)


def _error(result: Mapping[str, Any]) -> Mapping[str, Any]:
    outer = result.get("error") or {}
    inner = outer.get("error") if isinstance(outer, Mapping) else None
    return inner if isinstance(inner, Mapping) else {}


def _error_type(result: Mapping[str, Any]) -> str:
    return str(_error(result).get("type") or "api_error")


def _error_message(result: Mapping[str, Any]) -> str:
    return str(_error(result).get("message") or "")


def _settled(document: StateDocument, done: set[str], retries: list[RetryItem]) -> StateDocument:
    """The document with the collected submissions gone and their retries queued; applying
    it twice changes nothing more (another run may have settled them already)."""
    gone = [s for s in document.submissions if s.intent_id in done]
    if not gone:
        return document
    manifest = dict(document.manifest)
    for submission in gone:
        for cid in submission.custom_ids:
            manifest.pop(cid, None)
    return document.model_copy(
        update={
            "submissions": tuple(s for s in document.submissions if s.intent_id not in done),
            "manifest": manifest,
            "retry": (*document.retry, *retries),
        }
    )
