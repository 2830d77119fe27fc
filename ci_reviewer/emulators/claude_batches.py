"""Message Batches in the Claude emulator: the store, the lifecycle and the results.

Lifecycle, on the emulator's clock (create always answers `in_progress`, as the API does):
- `BatchPolicy.immediate()`: ended by the time anything looks at it again;
- `BatchPolicy.after_polls(n)`: the n-th retrieve of the batch sees it ended;
- `BatchPolicy.after(hours=...)`: ends once the clock passes created_at + that duration;
- `BatchPolicy.until_expired()`: stays in progress; when the clock passes expires_at (24 h)
  every request without a preset outcome expires.
Any batch still in progress when the clock passes expires_at expires the same way. A cancel
answers `canceling`; the next look finds it ended with every unprocessed request canceled.
A custom_id given an outcome with `set_outcome` keeps it whatever ends the batch (so a test
can mix succeeded, errored, canceled and expired in one batch); the others succeed (or are
errored when their params are invalid or their scripted reply is an error) when the batch
ends normally. Results are computed once, when the batch ends, and rendered line by line in a
shuffled (seeded) order when downloaded.

Requests are processed as the API describes it, "asynchronously and concurrently", "in any
order" (batch-processing and prompt-caching docs, "Using prompt caching with Message
Batches"): in a seeded shuffled order, `concurrency` at a time, and a request reads from the
prompt cache only what requests of earlier waves (or earlier batches, or synchronous calls)
wrote, never what another request of its own wave writes (`PromptCache.wave`). So the cache
hits of a batch are best effort, as the docs warn, and a prefix written before the batch (the
docs' warm-up: one request per shared prefix in a batch of its own, the rest once it ended)
is read by every request. The width is not published; `DEFAULT_CONCURRENCY` is a guess that
makes a group of a few requests miss sometimes, as the docs' 30%-98% hit rates suggest.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from ci_reviewer.emulators.claude_clock import EmulatedClock, rfc3339
from ci_reviewer.emulators.claude_replies import OVERLOADED_MESSAGE, Reply
from ci_reviewer.emulators.claude_usage import Usage
from ci_reviewer.emulators.claude_validation import ApiError, error_body

CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
BATCH_LIFETIME = timedelta(hours=24)
OUTCOMES = ("succeeded", "errored", "canceled", "expired")
DEFAULT_CONCURRENCY = 8

# What processing one request yields: the reply and its billing, or the API error it met.
Processed = tuple[Reply, Usage] | ApiError
# Processes one request's params; with a reply, that reply answers it (validated and billed
# like any other) instead of the script's.
Processor = Callable[[Mapping[str, Any], Reply | None], Processed]
# The words the API answers an errored batch request with, by error type. An errored result
# holds the same `ErrorResponse` as a failed Messages call, `{"type": "error", "error":
# {"type", "message"}, "request_id"}`, whose inner type is one of the API's error types,
# `overloaded_error` among them (API reference, "Retrieve Message Batch results":
# https://platform.claude.com/docs/en/api/python/messages/batches/results.md, its
# `MessageBatchErroredResult`; the installed SDK's `MessageBatchErroredResult.error`), and
# an overload says "Overloaded" (`Reply.overloaded`, with its sources); other preset errors
# say "preset".
PRESET_MESSAGES = {"overloaded_error": OVERLOADED_MESSAGE}
MessageRenderer = Callable[[Reply, Usage, Mapping[str, Any], str], dict[str, Any]]


@dataclass(frozen=True)
class BatchPolicy:
    """When a batch ends; see the module docstring."""

    polls: int | None = 0
    duration: timedelta | None = None

    @classmethod
    def immediate(cls) -> BatchPolicy:
        return cls(polls=0)

    @classmethod
    def after_polls(cls, polls: int) -> BatchPolicy:
        return cls(polls=polls)

    @classmethod
    def after(cls, hours: float = 0.0, seconds: float = 0.0) -> BatchPolicy:
        return cls(polls=None, duration=timedelta(hours=hours, seconds=seconds))

    @classmethod
    def until_expired(cls) -> BatchPolicy:
        return cls(polls=None, duration=None)


@dataclass(frozen=True)
class PresetOutcome:
    """A chosen request's fate: its result type, the error of an errored one, or the reply
    a succeeded one is answered with (a refusal, say)."""

    kind: str
    error_type: str = "api_error"
    reply: Reply | None = None


@dataclass(frozen=True)
class Outcome:
    """How one request of an ended batch came out (an errored one names its error)."""

    custom_id: str
    kind: str
    reply: Reply | None = None
    usage: Usage | None = None
    error_type: str | None = None
    error_message: str = ""


@dataclass
class Batch:
    """One batch's state; mutated only under the store's lock."""

    id: str
    created_at: datetime
    requests: list[tuple[str, Mapping[str, Any]]]
    policy: BatchPolicy
    polls: int = 0
    processing_status: str = "in_progress"
    ended_at: datetime | None = None
    cancel_initiated_at: datetime | None = None
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def expires_at(self) -> datetime:
        return self.created_at + BATCH_LIFETIME

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("processing", *OUTCOMES), 0)
        if self.processing_status != "ended":
            counts["processing"] = len(self.requests)
        for outcome in self.outcomes:
            counts[outcome.kind] += 1
        return counts

    def to_json(self, base_url: str) -> dict[str, Any]:
        ended = self.processing_status == "ended"
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": self.processing_status,
            "request_counts": self.counts(),
            "created_at": rfc3339(self.created_at),
            "expires_at": rfc3339(self.expires_at),
            "ended_at": rfc3339(self.ended_at) if self.ended_at else None,
            "cancel_initiated_at": (
                rfc3339(self.cancel_initiated_at) if self.cancel_initiated_at else None
            ),
            "archived_at": None,
            "results_url": f"{base_url}/v1/messages/batches/{self.id}/results" if ended else None,
        }


def validate_batch_requests(
    body: Any, size: int, max_requests: int, max_bytes: int
) -> list[tuple[str, Mapping[str, Any]]]:
    """The synchronous checks of batch create: limits (413) and custom_ids (400)."""
    if size > max_bytes:
        raise ApiError("request_too_large", f"Request exceeds the {max_bytes} bytes batch limit")
    requests = body.get("requests") if isinstance(body, Mapping) else None
    if not isinstance(requests, list) or not requests:
        raise ApiError("invalid_request_error", "requests: Field required (at least one)")
    if len(requests) > max_requests:
        raise ApiError(
            "request_too_large",
            f"A batch holds at most {max_requests} requests; got {len(requests)}",
        )
    seen: set[str] = set()
    accepted: list[tuple[str, Mapping[str, Any]]] = []
    for index, request in enumerate(requests):
        custom_id = request.get("custom_id") if isinstance(request, Mapping) else None
        if not isinstance(custom_id, str) or not CUSTOM_ID.match(custom_id):
            raise ApiError(
                "invalid_request_error",
                f"requests.{index}.custom_id: {custom_id!r} must match ^[a-zA-Z0-9_-]{{1,64}}$",
            )
        if custom_id in seen:
            raise ApiError(
                "invalid_request_error",
                f"requests.{index}.custom_id: {custom_id!r} is not unique within the batch",
            )
        params = request.get("params")
        if not isinstance(params, Mapping):
            raise ApiError("invalid_request_error", f"requests.{index}.params: Field required")
        seen.add(custom_id)
        accepted.append((custom_id, params))
    return accepted


def _jsonl(value: Mapping[str, Any]) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:  # a scripted reply holding something orjson refuses
        return json.dumps(value).encode() + b"\n"


def _policy_done(batch: Batch, now: datetime) -> bool:
    policy = batch.policy
    if policy.polls is not None and batch.polls >= policy.polls:
        return True
    return policy.duration is not None and now >= batch.created_at + policy.duration


class BatchStore:
    """Every batch the emulator holds, advanced lazily whenever one is looked at."""

    def __init__(
        self,
        clock: EmulatedClock,
        process: Processor,
        seed: int = 0,
        wave: Callable[[], contextlib.AbstractContextManager[None]] | None = None,
    ) -> None:
        """`wave`: a context in which requests are processed at the same time (the prompt
        cache's `wave`); None: one after another."""
        self.clock = clock
        self.process = process
        self.seed = seed
        self.wave = wave
        self.concurrency = DEFAULT_CONCURRENCY
        self.policy = BatchPolicy.immediate()
        self.presets: dict[str, PresetOutcome] = {}
        self._batches: dict[str, Batch] = {}
        self._next = 1
        self._lock = threading.RLock()

    def create(self, requests: list[tuple[str, Mapping[str, Any]]]) -> Batch:
        with self._lock:
            batch_id = f"msgbatch_emu{self._next:08d}"
            self._next += 1
            batch = Batch(batch_id, self.clock.now(), requests, self.policy)
            self._batches[batch_id] = batch
            return batch

    def get(self, batch_id: str, *, poll: bool = False) -> Batch:
        with self._lock:
            batch = self._batches.get(batch_id)
            if batch is None:
                raise ApiError("not_found_error", f"batch {batch_id!r} not found")
            if poll:
                batch.polls += 1
            self._advance(batch)
            return batch

    def all_newest_first(self) -> list[Batch]:
        with self._lock:
            batches = sorted(self._batches.values(), key=lambda b: b.id, reverse=True)
            for batch in batches:
                self._advance(batch)
            return batches

    def cancel(self, batch_id: str) -> Batch:
        with self._lock:
            batch = self.get(batch_id)
            if batch.processing_status == "in_progress":
                batch.processing_status = "canceling"
                batch.cancel_initiated_at = self.clock.now()
            return batch

    def delete(self, batch_id: str) -> None:
        with self._lock:
            batch = self.get(batch_id)
            if batch.processing_status != "ended":
                raise ApiError(
                    "invalid_request_error",
                    f"Batch {batch_id} cannot be deleted while {batch.processing_status}; "
                    "cancel it first and wait for it to end",
                )
            del self._batches[batch_id]

    def end_now(self, batch_id: str) -> None:
        """End a batch at once, as if its policy said so (a test's shortcut)."""
        with self._lock:
            batch = self.get(batch_id)
            if batch.processing_status == "in_progress":
                self._finish(batch, "processed")

    def _advance(self, batch: Batch) -> None:
        if batch.processing_status == "ended":
            return
        now = self.clock.now()
        # A batch whose duration ran out before its 24 h ended then, however much later
        # someone looks (a clock moved by a day at once must not expire it).
        due = batch.created_at + batch.policy.duration if batch.policy.duration else None
        if batch.processing_status == "canceling":
            self._finish(batch, "canceled")
        elif due is not None and due < batch.expires_at and now >= due:
            self._finish(batch, "processed", at=due)
        elif now >= batch.expires_at:
            self._finish(batch, "expired")
        elif _policy_done(batch, now):
            self._finish(batch, "processed")

    def _finish(self, batch: Batch, reason: str, at: datetime | None = None) -> None:
        order = list(range(len(batch.requests)))
        # Not for security: a seeded order, so a test can reproduce what hit the cache.
        random.Random(f"{self.seed}:{batch.id}:order").shuffle(order)  # noqa: S311
        outcomes: dict[int, Outcome] = {}
        width = max(1, self.concurrency)
        for start in range(0, len(order), width):
            with self.wave() if self.wave else contextlib.nullcontext():
                for position in order[start : start + width]:
                    custom_id, params = batch.requests[position]
                    outcomes[position] = self._outcome(custom_id, params, reason)
        batch.outcomes = [outcomes[position] for position in range(len(batch.requests))]
        batch.processing_status = "ended"
        batch.ended_at = at or min(self.clock.now(), batch.expires_at)

    def _outcome(self, custom_id: str, params: Mapping[str, Any], reason: str) -> Outcome:
        preset = self.presets.get(custom_id)
        kind = preset.kind if preset else {"processed": "succeeded"}.get(reason, reason)
        if kind == "errored":
            error_type = preset.error_type if preset else "api_error"
            message = PRESET_MESSAGES.get(error_type, "preset")
            return Outcome(custom_id, "errored", error_type=error_type, error_message=message)
        if kind != "succeeded":
            return Outcome(custom_id, kind)
        processed = self.process(params, preset.reply if preset else None)
        if isinstance(processed, ApiError):
            return Outcome(
                custom_id,
                "errored",
                error_type=processed.error_type,
                error_message=processed.message,
            )
        reply, usage = processed
        return Outcome(custom_id, "succeeded", reply=reply, usage=usage)

    def result_lines(self, batch: Batch, render: MessageRenderer) -> Iterator[bytes]:
        """The JSONL results, one encoded line at a time, in a seeded shuffled order."""
        order = list(range(len(batch.outcomes)))
        # Not for security: a seeded shuffle so a test can reproduce an order.
        random.Random(f"{self.seed}:{batch.id}").shuffle(order)  # noqa: S311
        params = dict(batch.requests)
        for position in order:
            outcome = batch.outcomes[position]
            line = {
                "custom_id": outcome.custom_id,
                "result": self._result(batch, outcome, params, render),
            }
            yield _jsonl(line)

    @staticmethod
    def _result(
        batch: Batch,
        outcome: Outcome,
        params: Mapping[str, Mapping[str, Any]],
        render: MessageRenderer,
    ) -> dict[str, Any]:
        if outcome.kind == "succeeded" and outcome.reply and outcome.usage:
            message_id = f"msg_{batch.id}_{outcome.custom_id}"
            message = render(outcome.reply, outcome.usage, params[outcome.custom_id], message_id)
            return {"type": "succeeded", "message": message}
        if outcome.kind == "errored":
            error_type = outcome.error_type or "api_error"
            request_id = f"req_{batch.id}_{outcome.custom_id}"
            text = outcome.error_message or error_type
            return {"type": "errored", "error": error_body(error_type, text, request_id)}
        return {"type": outcome.kind}
