"""The Message Batches API as the pipeline uses it, through the anthropic SDK.

SDK exceptions stop here (`claude_errors`): what reaches the pipeline is `ClaudeAPIError`
(exit 3). The SDK is imported only once a call is made: a dry run, which plans with this
module's types, never pays its import. Results are
streamed line by line from the SDK's raw response and decoded as plain JSON, because the
pipeline reads four fields of each line and 100,000 typed objects would cost more than the
rest of the ingest together; orjson decodes each line once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

import orjson

from ci_reviewer.batch.manifest import is_sync_batch

T = TypeVar("T")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class BatchInfo:
    """A batch as retrieved: status, times and request counts."""

    id: str
    status: str  # in_progress | canceling | ended
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @classmethod
    def of(cls, batch: Any) -> BatchInfo:
        counts = batch.request_counts
        return cls(
            id=batch.id,
            status=batch.processing_status,
            created_at=batch.created_at,
            expires_at=batch.expires_at,
            ended_at=batch.ended_at,
            counts={
                name: int(getattr(counts, name, 0) or 0)
                for name in ("processing", "succeeded", "errored", "canceled", "expired")
            },
        )


class BatchesAPI:
    """Create, find, retrieve, cancel and read batches; `client` is an anthropic.Anthropic.

    A `sync_` id in the state names a run of the synchronous API (`sync_api.py`), left by
    this job before its config said `api: batch`: its answers lived only in the process that
    ran it, so here it is a run that has ended with nothing to read, and the pipeline sends
    its requests again (in a batch), rather than asking the Batches API about an id it never
    gave."""

    synchronous = False  # whether `create` answers at once (the synchronous Messages API)

    def __init__(self, client: Any, now: Callable[[], datetime] | None = None) -> None:
        self._client = client
        self._now = now or (lambda: datetime.now(timezone.utc))

    def holds(self, batch_id: str) -> bool:
        """Whether this process holds the results of the synchronous run `batch_id`."""
        return False

    def lost(self, batch_id: str) -> bool:
        """Whether `batch_id` is a synchronous run whose results no longer exist (the
        process that made the calls ended before collecting them)."""
        return is_sync_batch(batch_id) and not self.holds(batch_id)

    def create(self, body: Iterable[bytes], size: int) -> BatchInfo:
        """Create a batch from a serialized `{"requests": [...]}` body of `size` bytes, sent
        as it is produced. `body` must be iterable again: a retried call sends it again."""
        from anthropic.types.messages import MessageBatch

        # An explicit Content-Length keeps the HTTP client from sending the iterable body
        # with chunked transfer encoding.
        headers = {"Content-Type": "application/json", "Content-Length": str(size)}

        def call() -> Any:
            return self._client.post(
                "/v1/messages/batches",
                cast_to=MessageBatch,
                content=body,
                options={"headers": headers},
            )

        return BatchInfo.of(_translated("create a batch", call))

    def retrieve(self, batch_id: str) -> BatchInfo:
        if is_sync_batch(batch_id):
            now = self._now()  # lost with the process that ran it: ended, nothing to read
            return BatchInfo(batch_id, "ended", now, now, now, {})
        batches = self._client.messages.batches
        return BatchInfo.of(_translated(f"retrieve batch {batch_id}", batches.retrieve, batch_id))

    def cancel(self, batch_id: str) -> BatchInfo:
        if is_sync_batch(batch_id):  # a synchronous run ended before anyone could cancel it
            return self.retrieve(batch_id)
        batches = self._client.messages.batches
        return BatchInfo.of(_translated(f"cancel batch {batch_id}", batches.cancel, batch_id))

    def created_since(self, moment: datetime) -> Iterator[BatchInfo]:
        """Batches created at or after `moment`, newest first (the API's order)."""
        with _claude_errors("list batches"):
            for batch in self._client.messages.batches.list(limit=100):
                if batch.created_at < moment:
                    return
                yield BatchInfo.of(batch)

    def results(self, batch_id: str) -> Iterator[dict[str, Any]]:
        """The result lines of an ended batch, decoded, in the order they arrive."""
        if is_sync_batch(batch_id):
            return
        streaming = self._client.messages.batches.with_streaming_response
        with (
            _claude_errors(f"download the results of batch {batch_id}"),
            streaming.results(batch_id) as response,
        ):
            pending = b""
            for chunk in response.iter_bytes(_CHUNK):
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    if line.strip():
                        yield orjson.loads(line)
            if pending.strip():
                yield orjson.loads(pending)


def _claude_errors(action: str) -> AbstractContextManager[None]:
    """`ci_reviewer.claude.claude_errors`, imported with the SDK behind it when first used."""
    from ci_reviewer.claude import claude_errors

    return claude_errors(action)


def _translated(action: str, call: Callable[..., T], *args: Any) -> T:
    with _claude_errors(action):
        return call(*args)
