"""Splitting requests into batches as they are serialized.

A batch holds at most 100,000 requests and 256 MB of request body; the job's limits (lower,
with a safety margin by default) decide where one batch ends. Requests are written to spool
files as they come, so only the current request is in memory; a spool file is already the
body of the create call (`{"requests": [...]}`), sent as bytes without re-encoding.

Spool writes go through a background thread in chunks of a few MB: the copy into the page
cache runs without the GIL, alongside the reading and encoding of the next files.
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ci_reviewer.batch.manifest import ManifestEntry
from ci_reviewer.batch.requests import BatchRequest

API_MAX_REQUESTS = 100_000
API_MAX_BYTES = 256_000_000
_OPEN = b'{"requests": ['
_CLOSE = b"]}"
_FLUSH_AT = 4 << 20
_QUEUED_CHUNKS = 4


@dataclass(frozen=True)
class Limits:
    max_requests: int = API_MAX_REQUESTS
    max_bytes: int = 230_000_000

    def __post_init__(self) -> None:
        if not 1 <= self.max_requests <= API_MAX_REQUESTS:
            raise ValueError(f"max_requests must be 1..{API_MAX_REQUESTS}")
        if not len(_OPEN) + len(_CLOSE) < self.max_bytes <= API_MAX_BYTES:
            raise ValueError(f"max_bytes must be at most {API_MAX_BYTES}")


@dataclass
class SpooledBatch:
    """One batch's create body on disk, and what its requests stand for
    (`entries`: custom_id -> (path, content hash, attempt), compact until the state needs
    them as `manifest`)."""

    path: Path
    entries: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    size: int = len(_OPEN) + len(_CLOSE)

    @property
    def count(self) -> int:
        return len(self.entries)

    @property
    def manifest(self) -> dict[str, ManifestEntry]:
        return {
            cid: ManifestEntry(path=path, content_hash=content_hash, attempt=attempt)
            for cid, (path, content_hash, attempt) in self.entries.items()
        }

    def body(self) -> bytes:
        return self.path.read_bytes()


class RequestTooLarge(ValueError):
    """One request alone is over the batch byte limit."""


def split(
    requests: Iterable[BatchRequest], limits: Limits, directory: Path
) -> Iterator[SpooledBatch]:
    """Write requests into spool files under `directory`, one per batch, yielding each batch
    when it is full (and the last one at the end). Duplicate custom_ids are dropped."""
    current: SpooledBatch | None = None
    writer: _SpoolWriter | None = None
    seen: set[str] = set()
    try:
        for request in requests:
            if request.custom_id in seen:
                continue
            seen.add(request.custom_id)
            needed = len(request.line) + 1  # the separating comma
            if needed + len(_OPEN) + len(_CLOSE) > limits.max_bytes:
                raise RequestTooLarge(
                    f"the request for {request.path} alone is {needed} bytes, over the "
                    f"{limits.max_bytes}-byte batch limit"
                )
            if current is not None and writer is not None and _full(current, needed, limits):
                writer.close(_CLOSE)
                writer = None
                yield current
                current = None
            if current is None or writer is None:
                current, writer = _start(directory)
            if current.entries:
                writer.write(b",")
                current.size += 1
            writer.write(request.line)
            current.size += len(request.line)
            current.entries[request.custom_id] = (
                request.path,
                request.content_hash,
                request.attempt,
            )
        if current is not None and writer is not None:
            writer.close(_CLOSE)
            writer = None
            yield current
    finally:
        if writer is not None:
            writer.abandon()


def _full(batch: SpooledBatch, needed: int, limits: Limits) -> bool:
    return batch.count >= limits.max_requests or batch.size + needed > limits.max_bytes


def _start(directory: Path) -> tuple[SpooledBatch, _SpoolWriter]:
    descriptor, name = tempfile.mkstemp(dir=directory, prefix="batch-", suffix=".json")
    writer = _SpoolWriter(descriptor)
    writer.write(_OPEN)
    return SpooledBatch(Path(name)), writer


class _SpoolWriter:
    """Appends to an open file from a background thread, in chunks of about _FLUSH_AT bytes;
    at most _QUEUED_CHUNKS wait, which bounds the memory ahead of the disk."""

    def __init__(self, descriptor: int) -> None:
        self._descriptor = descriptor
        self._parts: list[bytes] = []
        self._pending = 0
        self._chunks: queue.Queue[list[bytes] | None] = queue.Queue(_QUEUED_CHUNKS)
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._drain, name="spool-writer", daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> None:
        self._parts.append(data)
        self._pending += len(data)
        if self._pending >= _FLUSH_AT:
            self._hand_over()

    def close(self, last: bytes) -> None:
        """Write `last`, wait for every chunk to reach the file, close it; raise what failed."""
        self.write(last)
        self._hand_over()
        self._stop()
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """Stop without caring what was written (the spool is being thrown away)."""
        self._parts = []
        self._stop()

    def _hand_over(self) -> None:
        if self._error is not None:
            raise self._error
        if self._parts:
            self._chunks.put(self._parts)
            self._parts, self._pending = [], 0

    def _stop(self) -> None:
        self._chunks.put(None)
        self._thread.join()
        os.close(self._descriptor)

    def _drain(self) -> None:
        while (parts := self._chunks.get()) is not None:
            if self._error is not None:
                continue  # keep taking chunks so the producer never blocks on a dead writer
            try:
                _write_all(self._descriptor, b"".join(parts))
            except OSError as error:
                self._error = error


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]
