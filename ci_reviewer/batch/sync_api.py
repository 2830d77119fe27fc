"""The synchronous Messages API behind the Batches interface, for jobs with `api: sync`.

A job whose SLA batch processing cannot meet runs through the same pipeline (the same files,
requests, state, retries and publishing), but `create` sends every request of the body to
POST /v1/messages at once, a few at a time (the SDK retries 429/5xx itself), and keeps each
outcome as the line the Batches API would have returned for it. The batch is synthetic: its
id starts with `sync_`, it has ended when `create` returns, and its results live only in this
process. A run collects them before it ends; if it dies first, the next run finds a `sync_`
batch that no process holds, and the pipeline sends its requests again (`BatchesAPI.lost`).

An API error on one request becomes that request's `errored` line with the error's type, so
the pipeline treats it as it treats a batch's: invalid_request_error is permanent, anything
else is sent again on the next run. Credentials the API refuses stop the run (exit 3), as
they would stop a batch from being created, and so does a model the API does not serve (a
setting to change, exit 2). Batch ids that are not `sync_` ones (a job
switched from `api: batch` with batches still pending) go to the Message Batches API.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anthropic
import orjson

from ci_reviewer.batch.api import BatchesAPI, BatchInfo
from ci_reviewer.batch.manifest import SYNC_PREFIX
from ci_reviewer.claude import claude_errors, model_errors

DEFAULT_CONCURRENCY = 4
# Errors that no request of the run can get past: the run stops instead of queueing them.
_RUN_STOPPERS = frozenset({401, 403})
_PERMANENT_STATUSES = frozenset({400, 413})

ResultLine = dict[str, Any]


@dataclass(frozen=True)
class _Held:
    info: BatchInfo
    lines: tuple[ResultLine, ...]


class SyncBatchesAPI(BatchesAPI):
    """`BatchesAPI`'s interface over POST /v1/messages; `client` is an anthropic.Anthropic
    (thread-safe; its max_retries and timeout apply to each request)."""

    synchronous = True

    def __init__(
        self,
        client: Any,
        now: Callable[[], datetime],
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        super().__init__(client, now)
        self._concurrency = max(1, concurrency)
        self._held: dict[str, _Held] = {}
        self._serial = itertools.count(1)

    def holds(self, batch_id: str) -> bool:
        return batch_id in self._held

    def create(self, body: bytes | Iterable[bytes], size: int | None = None) -> BatchInfo:
        """Send every request of `{"requests": [...]}` now; the results wait in memory.
        `body` may come in pieces (`size` is then its length, unused here)."""
        if not isinstance(body, bytes):
            body = b"".join(body)
        requests: list[Mapping[str, Any]] = orjson.loads(body)["requests"]
        lines = self._send_all(requests)
        created = self._now()
        digest = hashlib.sha256(body + f"{created.isoformat()}#{next(self._serial)}".encode())
        counts = {"succeeded": 0, "errored": 0}
        for line in lines:
            counts[line["result"]["type"]] += 1
        info = BatchInfo(
            id=SYNC_PREFIX + digest.hexdigest()[:24],
            status="ended",
            created_at=created,
            expires_at=created,
            ended_at=created,
            counts=counts,
        )
        self._held[info.id] = _Held(info, tuple(lines))
        return info

    def retrieve(self, batch_id: str) -> BatchInfo:
        held = self._held.get(batch_id)
        return held.info if held is not None else super().retrieve(batch_id)

    def results(self, batch_id: str) -> Iterator[dict[str, Any]]:
        held = self._held.get(batch_id)
        return iter(held.lines) if held is not None else super().results(batch_id)

    def _send_all(self, requests: list[Mapping[str, Any]]) -> list[ResultLine]:
        with ThreadPoolExecutor(self._concurrency, thread_name_prefix="ci-reviewer-sync") as pool:
            futures = [pool.submit(self._send, request) for request in requests]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            stopped = next((f for f in done if f.exception() is not None), None)
            if stopped is not None:
                for future in futures:
                    future.cancel()
                stopped.result()  # raises the run-stopping error
        return [future.result() for future in futures]

    def _send(self, request: Mapping[str, Any]) -> ResultLine:
        custom_id = str(request["custom_id"])
        params: dict[str, Any] = dict(request["params"])
        try:
            with model_errors(params):
                raw = self._client.messages.with_raw_response.create(**params)
        except anthropic.APIStatusError as error:
            if error.status_code in _RUN_STOPPERS:
                with claude_errors(f"send request {custom_id}"):
                    raise
            return errored_line(custom_id, _error_type(error), _error_message(error))
        except anthropic.APIConnectionError as error:
            # Timeouts included: the SDK retried already; the next run sends it again.
            return errored_line(custom_id, "api_error", f"no answer from the API: {error}")
        message = orjson.loads(raw.http_response.content)
        return {"custom_id": custom_id, "result": {"type": "succeeded", "message": message}}


def errored_line(custom_id: str, error_type: str, message: str) -> ResultLine:
    """An `errored` result line, shaped as the Batches API writes it."""
    error = {"type": "error", "error": {"type": error_type, "message": message}}
    return {"custom_id": custom_id, "result": {"type": "errored", "error": error}}


def _error_type(error: Any) -> str:
    declared = getattr(error, "type", None)
    if isinstance(declared, str) and declared:
        return declared
    return "invalid_request_error" if error.status_code in _PERMANENT_STATUSES else "api_error"


def _error_message(error: Any) -> str:
    message = getattr(error, "api_message", None)
    return str(message or f"HTTP {error.status_code}")
