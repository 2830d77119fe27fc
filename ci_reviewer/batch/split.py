"""Splitting requests into batches as they are serialized.

A batch holds at most 100,000 requests and 256 MB of request body; the job's limits (lower,
with a safety margin by default) decide where one batch ends. Requests are written to spool
files as they come, so only the current request is in memory; a spool file is already the
body of the create call (`{"requests": [...]}`), sent as bytes without re-encoding.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ci_reviewer.batch.manifest import ManifestEntry
from ci_reviewer.batch.requests import BatchRequest

API_MAX_REQUESTS = 100_000
API_MAX_BYTES = 256_000_000
_OPEN = b'{"requests": ['
_CLOSE = b"]}"


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
    """One batch's create body on disk, and what its requests stand for."""

    path: Path
    manifest: dict[str, ManifestEntry] = field(default_factory=dict)
    size: int = len(_OPEN) + len(_CLOSE)

    @property
    def count(self) -> int:
        return len(self.manifest)

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
    handle: BinaryIO | None = None
    seen: set[str] = set()
    try:
        for request in requests:
            if request.custom_id in seen:
                continue
            seen.add(request.custom_id)
            needed = len(request.line) + 1  # the separating comma
            if needed + len(_OPEN) + len(_CLOSE) > limits.max_bytes:
                raise RequestTooLarge(
                    f"the request for {request.entry.path} alone is {needed} bytes, over the "
                    f"{limits.max_bytes}-byte batch limit"
                )
            if (
                current is not None
                and handle is not None
                and (
                    current.count >= limits.max_requests or current.size + needed > limits.max_bytes
                )
            ):
                _finish(handle)
                handle = None
                yield current
                current = None
            if current is None or handle is None:
                current, handle = _start(directory)
            if current.count:
                handle.write(b",")
                current.size += 1
            handle.write(request.line)
            current.size += len(request.line)
            current.manifest[request.custom_id] = request.entry
        if current is not None and handle is not None:
            _finish(handle)
            handle = None
            yield current
    finally:
        if handle is not None:
            handle.close()


def _start(directory: Path) -> tuple[SpooledBatch, BinaryIO]:
    descriptor, name = tempfile.mkstemp(dir=directory, prefix="batch-", suffix=".json")
    handle = os.fdopen(descriptor, "wb")
    handle.write(_OPEN)
    return SpooledBatch(Path(name)), handle


def _finish(handle: BinaryIO) -> None:
    handle.write(_CLOSE)
    handle.close()
