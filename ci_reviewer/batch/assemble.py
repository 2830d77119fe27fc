"""Assembling a submission: which files go out at which attempt, planned as requests and
split into batches, with the estimate counted on the way.

The files come from `git ls-tree` in the main process (names and modes are cheap to judge);
what needs the content (read, binary/empty/generated checks, decode, JSON-encode, custom_id)
is fanned out to worker processes on a large run (`fanout.py`), in input order, so a run
plans the same batches on one core or four. Planning keeps only each request's size: the
bytes are produced again when a batch is sent (`Resend`, the line source of a batch body).
A dry run builds each line in full, to write it out: a worker writes its chunk's lines to a
file that the parent copies into the requests file in turn (`spill.py`), so the requests
file is the same, byte for byte, however many processes built it.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO, NamedTuple

from ci_reviewer.batch.caching import Breakpoint, CacheEstimate, group_of
from ci_reviewer.batch.collect import (
    CollectStats,
    CommittedContent,
    FileSelection,
    SourceFile,
    blob_exists,
    candidates,
    changed_paths,
    read_blob,
)
from ci_reviewer.batch.estimate import BatchEstimate, estimate_line
from ci_reviewer.batch.fanout import default_workers, ordered_map
from ci_reviewer.batch.job_run import JobRun
from ci_reviewer.batch.manifest import ManifestEntry
from ci_reviewer.batch.noise import noise_policy
from ci_reviewer.batch.requests import BatchRequest, PlannedRequest, RequestBuilder
from ci_reviewer.batch.spill import LineSpill
from ci_reviewer.batch.split import Entry, Limits, PlannedBatch, RecordSpool, split
from ci_reviewer.batch.state import RetryItem, StateDocument
from ci_reviewer.globs import PathFilter

Planned = BatchRequest | PlannedRequest
Work = tuple[str, str, int]  # (path, blob sha, attempt)


class Withheld(NamedTuple):
    """A planned request whose message left context files out under the secret policy:
    the outcome, and (path, reason) of each file left out (sent back to be counted)."""

    outcome: Sized | BatchRequest
    context: tuple[tuple[str, str], ...]


Sized = tuple[str, int, tuple[Breakpoint, ...]]  # (custom_id, size, cached prefixes)
Single = str | Sized | BatchRequest | Withheld


class Spilled(NamedTuple):
    """The outcome of the first file of a chunk whose lines a worker wrote to `lines` (a
    file of `LineSpill`), to be copied into the requests file before the chunk's requests."""

    outcome: Single
    lines: str


Outcome = Single | Spilled


class Resend:
    """Builds requests, and builds a planned one again when its batch is sent (the line
    source of `split.BatchBody`): from the checkout as collected, or for a retried request
    from the object store, as the first time."""

    def __init__(self, run: JobRun, head: str) -> None:
        self.builder = RequestBuilder(run.kind, run.job, run.model)
        self._run = run
        # The requests sent again on the job's fallback model (custom_id -> model), and a
        # builder per such model, laid out for the same submission (`expect`).
        self.models: dict[str, str] = {}
        self._builders: dict[str, RequestBuilder] = {}
        self._members: Mapping[str, Collection[str]] | None = None
        self.workdir = run.workdir
        self.noise = noise_policy(run.job)
        self.content = CommittedContent.of(
            run.workdir, head, run.job.max_file_bytes, run.policy, self.noise
        )
        self.from_store: set[str] = set()
        # How many of the planned batches, first, are the cache warm-up (`assemble`).
        self.warm_batches = 0

    def expect(self, members: Mapping[str, Collection[str]]) -> None:
        """`RequestBuilder.expect`, for every model this submission sends to."""
        self._members = members
        for builder in (self.builder, *self._builders.values()):
            builder.expect(members)

    def builder_for(self, model: str | None) -> RequestBuilder:
        """The builder of the job's model (None), or of its fallback model."""
        if model is None or model == self._run.model:
            return self.builder
        builder = self._builders.get(model)
        if builder is None:
            builder = self._builders[model] = RequestBuilder(self._run.kind, self._run.job, model)
            if self._members is not None:
                builder.expect(self._members)
        return builder

    def stored(
        self, source: SourceFile, attempt: int, full: bool, model: str | None = None
    ) -> Planned:
        builder = self.builder_for(model)
        make = builder.build if full else builder.plan
        planned = make(source, attempt)
        self.from_store.add(planned.custom_id)
        if model is not None:
            self.models[planned.custom_id] = model
        return planned

    def __call__(self, custom_id: str, entry: Entry) -> bytes:
        path, content_hash, attempt = entry
        if custom_id in self.from_store:
            source = stored_source(self.workdir, path, content_hash)
        else:
            source = self.content.source(path, content_hash)
        builder = self.builder_for(self.models.get(custom_id))
        line = builder.build(source, attempt).line
        builder.kind.withheld_context()  # counted when planned; built again here
        return line


class Planner:
    """What each worker runs on a chunk of (path, sha, attempt): for each file, the reason
    its content rules it out, or what its request needs beyond the item itself: the
    custom_id and size (as a plain pair: cheap to send back), or with `full` the whole
    request (a dry run writes its line). In a forked worker, a full request's line goes to
    the `spill` instead, and the pair comes back."""

    def __init__(self, resend: Resend, full: bool, spill: LineSpill | None = None) -> None:
        self._load = resend.content.load
        self._builder = resend.builder
        self._withheld = resend.builder.kind.withheld_context
        self._skip = resend.builder.kind.skip_reason
        self._full = full
        self._spill = spill
        self._home = os.getpid()

    def __call__(self, chunk: list[Work]) -> list[Outcome]:
        load, withheld, skip = self._load, self._withheld, self._skip
        spill = self._spill if self._spill is not None and os.getpid() != self._home else None
        out: list[Single] = []
        lines: list[bytes] = []
        for path, sha, attempt in chunk:
            loaded = load(path, sha)
            outcome: Sized | BatchRequest
            if isinstance(loaded, str):
                out.append(loaded)
                continue
            unasked = skip(loaded)
            if unasked is not None:
                out.append(unasked)
                continue
            if self._full:
                outcome = self._builder.build(loaded, attempt)
                if spill is not None:
                    lines.append(outcome.line)
                    outcome = (outcome.custom_id, outcome.size, outcome.cache)
            else:
                planned = self._builder.plan(loaded, attempt)
                outcome = (planned.custom_id, planned.size, planned.cache)
            left_out = withheld()
            out.append(Withheld(outcome, left_out) if left_out else outcome)
        if spill is None or not lines:
            return list(out)
        return [Spilled(out[0], spill.write(lines)), *out[1:]]


def assemble(
    run: JobRun,
    resend: Resend,
    document: StateDocument,
    head: str,
    *,
    stats: CollectStats,
    estimate: BatchEstimate,
    dry_run_to: BinaryIO | None = None,
    spool: RecordSpool | None = None,
    workers: int | None = None,
) -> Iterator[PlannedBatch]:
    """The batches of this submission, each yielded when full; `stats` and `estimate` are
    complete once the last one is. A dry run also writes every request line to `dry_run_to`.
    With a `spool`, each batch keeps its records there instead of in memory. `workers`
    bounds the processes that plan a large run (default: one per CPU; below 2: this process
    only)."""
    full = dry_run_to is not None
    workers = default_workers() if workers is None else workers
    requests = _requests(run, resend, head, document, stats, dry_run_to=dry_run_to, workers=workers)
    measured = _measured(requests, estimate, run.job.max_tokens, dry_run_to, resend.models)
    limits = Limits(run.job.max_requests_per_batch, run.job.max_batch_bytes)
    if run.job.cache_warmup_minutes <= 0 or full:
        yield from split(measured, limits, spool)
        return
    leaders: list[Planned] = []
    later = list(split(_leaders_apart(measured, leaders), limits, spool))
    if not later:  # every request leads its group: none would wait for a warm-up
        yield from split(leaders, limits, spool)
        return
    warm = list(split(leaders, limits, spool))
    resend.warm_batches = len(warm)
    yield from warm
    yield from later


def _leaders_apart(requests: Iterable[Planned], leaders: list[Planned]) -> Iterator[Planned]:
    """`requests` without the first request of each marked prefix, which go to `leaders`:
    the docs' way of caching in batches (prompt-caching page, "Can I use prompt caching with
    the Batches API?"): "Send a batch request with a single request
    that has this shared prefix and a 1-hour cache block. This writes the prefix to the
    1-hour cache. As soon as this is complete, submit the rest of the requests." Batch
    requests run concurrently, so without it every request processed before the first write
    lands writes the prefix again, at twice the input price. One request per prefix: few."""
    seen: set[str] = set()
    for request in requests:
        # Its longest cached prefix: a group's shared context, else the system block alone.
        key = request.cache[-1].key if request.cache else None
        if key is not None and key not in seen:
            seen.add(key)
            leaders.append(request)
            continue
        yield request


def _requests(
    run: JobRun,
    resend: Resend,
    head: str,
    document: StateDocument,
    stats: CollectStats,
    *,
    dry_run_to: BinaryIO | None,
    workers: int,
) -> Iterator[Planned]:
    """New and changed files first, then retries whose file has not changed since. The lines
    that workers built for a dry run are written to `dry_run_to` here, in turn."""
    full = dry_run_to is not None
    pending = {(e.path, e.content_hash) for e in document.manifest.values()}
    retries = {item.entry.path: item for item in document.retry}
    selection = FileSelection(
        PathFilter.build(run.job.include, run.job.exclude, run.job.skip_generated),
        run.job.max_file_bytes,
        run.job.skip_generated,
        run.policy,
        resend.noise,
    )
    # A dry run needs no network: in a shallow checkout it refuses rather than fetch.
    only = changed_paths(
        run.workdir, run.job.since, document.last_commit, head, run.now(), fetch=not full
    )

    sizes: dict[str, int] = {}  # of the files in flight, to count the bytes of a skipped one

    def work() -> Iterator[Work]:
        for path, sha, size in candidates(
            run.workdir,
            commit=head,
            selection=selection,
            only=only,
            stats=stats,
            progress=run.progress,
        ):
            retry = retries.pop(path, None)
            if (path, sha) in pending:
                stats.skip("already in a pending batch", size)
                continue
            same = retry is not None and retry.entry.content_hash == sha
            if retry is not None and same and retry.entry.model is not None:
                retries[path] = retry  # for the fallback model: planned with the retries
                continue
            sizes[path] = size
            yield path, sha, retry.entry.attempt if retry and same else 1

    spill = LineSpill() if full and workers > 1 else None
    planner = Planner(resend, full, spill)
    left_out: set[str] = set()
    listed = list(work())  # the retries of files listed again are popped on the way
    sendable = _sendable(run, resend, retries.values(), pending, stats)
    items = _grouped(resend, listed, sendable)
    results = ordered_map(planner, items, workers=workers)
    try:
        for item, result in results:
            if isinstance(result, Spilled):
                assert spill is not None and dry_run_to is not None
                spill.move_into(dry_run_to, result.lines)
            outcome = result.outcome if isinstance(result, Spilled) else result
            yield from _taken(outcome, item, sizes=sizes, stats=stats, left_out=left_out)
    finally:
        results.close()  # the workers are stopped before their files are removed
        if spill is not None:
            spill.close()
    yield from _retried(run, resend, sendable, stats, full=full, left_out=left_out)


def _grouped(resend: Resend, items: list[Work], retries: list[ManifestEntry]) -> list[Work]:
    """The files of this submission with each group's requests adjacent, and the builder told
    which files each group sends, so it marks a shared prefix only where enough requests
    read it (`caching.py`); a retry is counted only if it is sent (`_sendable`). Only for a
    kind whose messages have a shared part: the others keep the listing's order. The listing
    holds names and hashes only: cheap to hold whole."""
    if getattr(resend.builder.kind, "message_parts", None) is None:
        return items
    items.sort(key=lambda item: (group_of(item[0]), item[0]))
    members: dict[str, list[str]] = {}
    for path in [item[0] for item in items] + [entry.path for entry in retries]:
        members.setdefault(group_of(path), []).append(path)
    resend.expect(members)
    return items


def _taken(
    result: Single,
    item: Work,
    *,
    sizes: dict[str, int],
    stats: CollectStats,
    left_out: set[str],
) -> Iterator[Planned]:
    """The request planned for one file (none for a skipped one), counted."""
    path, sha, attempt = item
    size = sizes.pop(path, 0)
    if isinstance(result, str):
        stats.skip(result, size)
        return
    if isinstance(result, Withheld):
        _count_withheld(result.context, left_out, stats)
    outcome = result.outcome if isinstance(result, Withheld) else result
    stats.selected += 1
    if isinstance(outcome, BatchRequest):
        yield outcome
    else:
        yield PlannedRequest(outcome[0], path, sha, attempt, outcome[1], outcome[2])


def _sendable(
    run: JobRun,
    resend: Resend,
    items: Iterable[RetryItem],
    pending: set[tuple[str, str]],
    stats: CollectStats,
) -> list[ManifestEntry]:
    """The retries this submission sends, judged before any request is built (so that only
    they count among their group's readers, `_grouped`); the others counted as skipped.
    Only the entries are kept (a retried file is read again when planned): a whole batch
    may be retried, and its files' content is not held at once."""
    kept: list[ManifestEntry] = []
    for item in items:
        entry = item.entry
        if (entry.path, entry.content_hash) in pending:
            continue
        if not blob_exists(run.workdir, entry.content_hash):
            stats.skip("retry content no longer in the checkout", 0)
            continue
        # Judged again: the policy (or its allow list) may have changed since it was sent.
        data = read_blob(run.workdir, entry.content_hash)
        refused = run.policy.reason(entry.path, data) or resend.noise.name_reason(entry.path)
        if refused is not None:
            stats.skip(refused, len(data))
            continue
        source = stored_source(run.workdir, entry.path, entry.content_hash)
        unasked = resend.builder.kind.skip_reason(source)
        if unasked is not None:
            stats.skip(unasked, len(data))
            continue
        kept.append(entry)
    return kept


def _retried(
    run: JobRun,
    resend: Resend,
    entries: Iterable[ManifestEntry],
    stats: CollectStats,
    *,
    full: bool,
    left_out: set[str],
) -> Iterator[Planned]:
    for entry in entries:
        source = stored_source(run.workdir, entry.path, entry.content_hash)
        planned = resend.stored(source, entry.attempt, full, entry.model)
        _count_withheld(resend.builder.kind.withheld_context(), left_out, stats)
        yield planned


def _count_withheld(
    context: tuple[tuple[str, str], ...], counted: set[str], stats: CollectStats
) -> None:
    """Count each context file left out once per run, however many files import it."""
    for path, reason in context:
        if path not in counted:
            counted.add(path)
            stats.skipped[f"{reason} (imported module, not attached)"] += 1


def stored_source(workdir: Path, path: str, content_hash: str) -> SourceFile:
    text = read_blob(workdir, content_hash).decode("utf-8", "replace")
    return SourceFile(path, content_hash, text)


def _measured(
    requests: Iterable[Planned],
    estimate: BatchEstimate,
    max_tokens: int,
    dry_run_to: BinaryIO | None,
    models: Mapping[str, str],
) -> Iterator[Planned]:
    """The requests, each counted in the estimate (at its own model: `Resend.models`, filled
    by the time a fallback's request is yielded)."""
    add = estimate.add
    cache = CacheEstimate()
    for request in requests:
        line = estimate_line(request.size, max_tokens)
        add(
            line,
            request.custom_id,
            request.path,
            cache.add(request.cache) if request.cache else None,
            models.get(request.custom_id) if models else None,
        )
        if dry_run_to is not None and isinstance(request, BatchRequest):
            dry_run_to.write(request.line + b"\n")
        yield request
