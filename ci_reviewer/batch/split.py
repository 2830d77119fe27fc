"""Splitting requests into batches, and producing each batch's create body as it is sent.

A batch holds at most 100,000 requests and 256 MB of request body; the job's limits (lower,
with a safety margin by default) decide where one batch ends. Splitting keeps no request
bytes: it only needs each request's exact serialized size, so a batch is its requests'
custom_ids (with what each stands for) and the size of its body.

The body (`{"requests": [...]}`) is produced again while the create call sends it, request
by request, by a `LineSource` that rebuilds each line from the same inputs. That replaces a
spool file: writing the 1.5 GB of a 100,000-file repository to disk and reading it back cost
more than reading the repository. The body is re-iterable (a retried create sends it again)
and its length is known before the first byte, so it goes out with a Content-Length.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ci_reviewer.batch.manifest import ManifestEntry
from ci_reviewer.batch.requests import BatchRequest, PlannedRequest
from ci_reviewer.errors import InputError

API_MAX_REQUESTS = 100_000
API_MAX_BYTES = 256_000_000
_OPEN = b'{"requests": ['
_CLOSE = b"]}"
_SEND_CHUNK = 1 << 20
_RESIZED = "a file changed after its request was planned: the batch body has another size"

Entry = tuple[str, str, int]  # (path, content hash, attempt): compact, one per request
LineSource = Callable[[str, Entry], bytes]


@dataclass(frozen=True)
class Limits:
    max_requests: int = API_MAX_REQUESTS
    max_bytes: int = 230_000_000

    def __post_init__(self) -> None:
        if not 1 <= self.max_requests <= API_MAX_REQUESTS:
            raise ValueError(f"max_requests must be 1..{API_MAX_REQUESTS}")
        if not len(_OPEN) + len(_CLOSE) < self.max_bytes <= API_MAX_BYTES:
            raise ValueError(f"max_bytes must be at most {API_MAX_BYTES}")


class RecordSpool:
    """Where full batches keep their packed records until they are sent: a temporary file,
    so planning holds one batch's records in memory however large the run (a run of a
    million files plans ~100 MB of them)."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by `close`)
        self._end = 0

    def write(self, records: bytes | bytearray) -> tuple[int, int]:
        self._file.seek(self._end)
        self._file.write(records)
        at, self._end = self._end, self._end + len(records)
        return at, len(records)

    def read(self, at: int, length: int) -> bytes:
        self._file.seek(at)
        return self._file.read(length)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RecordSpool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass
class PlannedBatch:
    """One batch: its requests in order and its body's exact size. Each request is kept as
    one packed record (custom_id, path, content hash, attempt; about 100 bytes) rather than
    as Python objects (about 350); a full batch moves its records to a `RecordSpool`.
    `entries` and `manifest` unpack them when the requests are sent or recorded."""

    count: int = 0
    size: int = len(_OPEN) + len(_CLOSE)
    records: bytearray = field(default_factory=bytearray, repr=False)
    spooled: tuple[RecordSpool, int, int] | None = field(default=None, repr=False)

    def add(self, request: BatchRequest | PlannedRequest) -> None:
        self.size += request.size + (1 if self.count else 0)  # the separating comma
        self.count += 1
        fields = (request.custom_id, request.path, request.content_hash, str(request.attempt))
        self.records += "\0".join(fields).encode("utf-8", "surrogateescape") + b"\0"

    def spool(self, spool: RecordSpool) -> None:
        """Move the records out of memory, into `spool`."""
        self.spooled = (spool, *spool.write(self.records))
        self.records = bytearray()

    def entries(self) -> Iterator[tuple[str, Entry]]:
        """(custom_id, (path, content hash, attempt)) of each request, in order."""
        packed = (
            bytes(self.records)
            if self.spooled is None
            else self.spooled[0].read(self.spooled[1], self.spooled[2])
        )
        fields = packed.decode("utf-8", "surrogateescape").split("\0")
        for at in range(0, len(fields) - 1, 4):
            cid, path, content_hash, attempt = fields[at : at + 4]
            yield cid, (path, content_hash, int(attempt))

    @property
    def manifest(self) -> dict[str, ManifestEntry]:
        return {
            cid: ManifestEntry(path=path, content_hash=content_hash, attempt=attempt)
            for cid, (path, content_hash, attempt) in self.entries()
        }

    def body(self, lines: LineSource) -> BatchBody:
        return BatchBody(self, lines)


class RequestTooLarge(ValueError):
    """One request alone is over the batch byte limit."""


class BodyChanged(InputError):
    """A request rebuilt for sending is not the one that was planned: the checkout changed
    in between, or a file could not be read again. The batch was not created (its body
    stopped short of its Content-Length); its intent is requeued by the next run."""

    def __init__(self, message: str) -> None:
        super().__init__(
            f"{message}; the batch was not created",
            hint="do not edit the checkout while `ci-reviewer batch` runs, then run it again",
        )


def split(
    requests: Iterable[BatchRequest | PlannedRequest],
    limits: Limits,
    spool: RecordSpool | None = None,
) -> Iterator[PlannedBatch]:
    """Group requests into batches, yielding each batch when it is full (and the last one at
    the end). A custom_id seen twice in one batch is sent once (the API refuses duplicates
    within a batch); across batches, ids are unique because the caller builds one request
    per path (the id hashes the path), so nothing that grows with the repository is kept:
    with a `spool`, each batch's records move there as the batch is yielded."""
    current, ids = PlannedBatch(), set[str]()
    for request in requests:
        if request.custom_id in ids:
            continue
        needed = request.size + 1  # the separating comma
        if needed + len(_OPEN) + len(_CLOSE) > limits.max_bytes:
            raise RequestTooLarge(
                f"the request for {request.path} alone is {needed} bytes, over the "
                f"{limits.max_bytes}-byte batch limit"
            )
        if current.count and _full(current, needed, limits):
            yield _spooled(current, spool)
            current, ids = PlannedBatch(), set()
        ids.add(request.custom_id)
        current.add(request)
    if current.count:
        yield _spooled(current, spool)


def _spooled(batch: PlannedBatch, spool: RecordSpool | None) -> PlannedBatch:
    if spool is not None:
        batch.spool(spool)
    return batch


def _full(batch: PlannedBatch, needed: int, limits: Limits) -> bool:
    return batch.count >= limits.max_requests or batch.size + needed > limits.max_bytes


class BatchBody:
    """The create body of a planned batch, built while it is sent, in chunks of about 1 MB.
    Its length is the planned size; a rebuilt request of another size stops the body with
    `BodyChanged` (kept in `failure`, since the HTTP client reports it as a connection error)."""

    def __init__(self, batch: PlannedBatch, lines: LineSource) -> None:
        self._batch = batch
        self._lines = lines
        self.failure: BodyChanged | None = None

    @property
    def size(self) -> int:
        return self._batch.size

    def __iter__(self) -> Iterator[bytes]:
        if self.failure is not None:
            raise self.failure  # a retry would only find the same difference again
        try:
            yield from self._chunks()
        except BodyChanged as error:
            self.failure = error
            raise

    def _chunks(self) -> Iterator[bytes]:
        parts: list[bytes] = [_OPEN]
        pending = sent = len(_OPEN) + len(_CLOSE)
        separator = b""
        for cid, entry in self._batch.entries():
            line = self._line(cid, entry)
            parts += (separator, line)
            pending += len(separator) + len(line)
            sent += len(separator) + len(line)
            separator = b","
            if sent > self._batch.size:
                raise BodyChanged(_RESIZED)
            if pending >= _SEND_CHUNK:
                yield b"".join(parts)
                parts, pending = [], 0
        if sent != self._batch.size:
            raise BodyChanged(_RESIZED)
        parts.append(_CLOSE)
        yield b"".join(parts)

    def _line(self, cid: str, entry: Entry) -> bytes:
        try:
            return self._lines(cid, entry)
        except (OSError, ValueError, InputError) as error:  # InputError: git failed
            raise BodyChanged(f"{entry[0]} could not be read again: {error}") from error
