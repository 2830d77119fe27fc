"""Finding the batch of an intent that has no batch id (the process died between creating the
batch and saving its id), so that work is neither lost nor submitted twice.

The API keeps no metadata on a batch, so an orphan is matched by what can be seen: a batch
created after the intent (less a clock allowance), with as many requests as the intent, and
not already known. Intents are matched in the order they were recorded, as batches are
created in that order. An adopted batch is confirmed by its custom_ids when its results
arrive. An intent with no match is left alone while a run may still be creating its batch
(`orphan_grace`), then its requests are queued to be sent again.

A job on the synchronous API (`sync_api`) has no batch to find: its calls may have been made,
and their results died with the process. After the same grace, such an intent is given a
lost `sync_` batch id, so that collecting it sends its requests again with the pipeline's
own bookkeeping (attempt+1, up to the job's max_attempts), as for any result never returned.

Each intent is recovered by the API it was recorded for, not the one the job uses now: a job
switched from `api: batch` to `api: sync` still adopts the batch a crashed run created (it
is not paid for twice), and one switched the other way sends a lost synchronous run's
requests again in a batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ci_reviewer.batch.api import BatchesAPI, BatchInfo
from ci_reviewer.batch.manifest import lost_batch_id
from ci_reviewer.batch.state import RetryItem, StateDocument, Submission

CLOCK_ALLOWANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Recovery:
    document: StateDocument
    adopted: tuple[str, ...] = ()
    requeued: int = 0
    waiting: int = 0  # intents that may still be getting their batch from another run
    lost: tuple[str, ...] = ()  # synchronous runs whose results died with their process

    @property
    def changed(self) -> bool:
        return bool(self.adopted or self.requeued or self.lost)


def recover_orphans(
    document: StateDocument, api: BatchesAPI, now: datetime, grace: timedelta
) -> Recovery:
    orphans = sorted(
        (s for s in document.submissions if s.batch_id is None), key=lambda s: s.intent_at
    )
    if not orphans:
        return Recovery(document)
    # Where an intent's work may be: by the API it was recorded for (a job may have switched
    # since), else by the job's API now.
    current = "sync" if api.synchronous else "batch"
    sync = [s for s in orphans if (s.api or current) == "sync"]
    batch = [s for s in orphans if (s.api or current) == "batch"]
    found = _orphan_batches(document, batch, api, now, grace) if batch else Recovery(document)
    if not sync:
        return found
    lost = _lost_sync_runs(found.document, sync, now, grace)
    return replace(
        lost, adopted=found.adopted, requeued=found.requeued, waiting=found.waiting + lost.waiting
    )


def _orphan_batches(
    document: StateDocument,
    orphans: Sequence[Submission],
    api: BatchesAPI,
    now: datetime,
    grace: timedelta,
) -> Recovery:
    """Orphans of the Message Batches API, matched to the batches created since."""
    known = {s.batch_id for s in document.submissions if s.batch_id}
    earliest = orphans[0].intent_at - CLOCK_ALLOWANCE
    candidates = sorted(
        (b for b in api.created_since(earliest) if b.id not in known), key=lambda b: b.created_at
    )
    pending = {s.intent_id for s in orphans}
    kept: list[Submission] = [s for s in document.submissions if s.intent_id not in pending]
    retry = list(document.retry)
    manifest = dict(document.manifest)
    adopted: list[str] = []
    requeued = waiting = 0
    for orphan in orphans:
        match = _match(orphan, candidates)
        if match is not None:
            candidates.remove(match)
            adopted.append(match.id)
            kept.append(
                orphan.model_copy(
                    update={"batch_id": match.id, "created_at": match.created_at, "adopted": True}
                )
            )
        elif now - orphan.intent_at >= grace:
            for cid in orphan.custom_ids:
                entry = manifest.pop(cid, None)
                if entry is not None:
                    retry.append(RetryItem(entry=entry, reason="its batch was never created"))
            requeued += len(orphan.custom_ids)
        else:
            kept.append(orphan)
            waiting += 1
    updated = document.model_copy(
        update={"submissions": tuple(kept), "retry": tuple(retry), "manifest": manifest}
    )
    return Recovery(updated, tuple(adopted), requeued, waiting)


def _match(orphan: Submission, candidates: Sequence[BatchInfo]) -> BatchInfo | None:
    for batch in candidates:
        if (
            batch.total == len(orphan.custom_ids)
            and batch.created_at >= orphan.intent_at - CLOCK_ALLOWANCE
        ):
            return batch
    return None


def _lost_sync_runs(
    document: StateDocument, orphans: Sequence[Submission], now: datetime, grace: timedelta
) -> Recovery:
    """Orphans of a synchronous job, past the grace, marked as runs whose results are lost."""
    lost: dict[str, Submission] = {}
    for orphan in orphans:
        if now - orphan.intent_at >= grace:
            batch_id = lost_batch_id(orphan.intent_id)
            lost[orphan.intent_id] = orphan.model_copy(
                update={"batch_id": batch_id, "created_at": now}
            )
    submissions = tuple(lost.get(s.intent_id, s) for s in document.submissions)
    updated = document.model_copy(update={"submissions": submissions})
    ids = tuple(s.batch_id for s in lost.values() if s.batch_id)
    return Recovery(updated, waiting=len(orphans) - len(lost), lost=ids)
