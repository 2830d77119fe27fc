"""A local Claude API for tests, benchmarks and `ci-reviewer emulate`.

Routes: POST /v1/messages, POST /v1/messages/count_tokens, the Message Batches API
(POST/GET /v1/messages/batches, GET/DELETE /v1/messages/batches/{id},
POST /v1/messages/batches/{id}/cancel, GET /v1/messages/batches/{id}/results),
GET /v1/models/{id} (`claude_models`); and, outside the API's paths, `/_emulator/clock` to
move the emulated clock (`claude_control`).

Every response carries a `request-id` header; errors use the API's JSON shape
`{"type": "error", "error": {"type", "message"}, "request_id"}` with the status of their type.
A request without `Authorization: Bearer ...` or `x-api-key` gets 401 (and, when the emulator
was given an `api_key`, any other key too); one without `anthropic-version` gets 400.

What the model answers: the first queued `Reply` whose `when` predicate accepts the request
body (FIFO among equals; batch requests are matched on their `params`), else what
`responder(body)` returns, else the deterministic default described in
`ci_reviewer.emulators.claude_replies`. Thinking (blocks, signatures, what is refused
about them): `claude_thinking`; a thinking reply bills its thoughts as output tokens
(`usage.output_tokens_details.thinking_tokens`). A reply longer than `max_tokens` is cut
there (stop_reason `max_tokens`; the leading thought kept, then text up to 4 chars a token,
tool calls dropped); a prompt longer than the context window (the model table's, or the
`context_window` override) is refused (400) and one whose output would overflow it stops
with `model_context_window_exceeded`. Which models exist, their max output and cache
threshold come from the model table too (`ci_reviewer.models`). Token and cache figures:
`claude_usage`. Batch lifecycle: `claude_batches`.

Timing (`claude_stream`): a Messages call takes `latency` seconds, of which the first
`time_to_first_token` are its prefill; `stream: true` answers with server-sent events, the
first (`message_start`) at the end of the prefill. Its cache entries become visible to other
requests then, streamed or not. Each recorded call keeps when it arrived, when its prefill
ended and when it was answered (`time.time()`, so another process can compare them).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ci_reviewer.emulators import claude_control
from ci_reviewer.emulators.claude_batches import (
    Batch,
    BatchPolicy,
    BatchStore,
    PresetOutcome,
    Processed,
    validate_batch_requests,
)
from ci_reviewer.emulators.claude_clock import EmulatedClock
from ci_reviewer.emulators.claude_models import model_info
from ci_reviewer.emulators.claude_replies import (
    OVERLOADED_MESSAGE,
    Predicate,
    Reply,
    ReplyScript,
    Thought,
    default_reply,
)
from ci_reviewer.emulators.claude_stream import Pace, paced, wait_until
from ci_reviewer.emulators.claude_thinking import (
    ThinkingMode,
    ThinkingSigner,
    thinking_mode,
    thinking_tokens,
    thoughts_for,
)
from ci_reviewer.emulators.claude_usage import PromptCache, Usage, input_tokens, output_tokens
from ci_reviewer.emulators.claude_validation import (
    ApiError,
    error_body,
    error_type_for,
    served_model,
    validate_count_request,
    validate_message_request,
)
from ci_reviewer.emulators.server import EmulatorServer, Fault, Request, Response
from ci_reviewer.models import ModelFacts, model_table

__all__ = ["BatchPolicy", "ClaudeEmulator", "EmulatedClock", "MessageCall", "Reply", "Thought"]

Responder = Callable[[Mapping[str, Any]], "Reply | None"]
_BATCH_PATH = "/v1/messages/batches/"
_MODELS_PATH = "/v1/models/"


@dataclass(frozen=True)
class MessageCall:
    """One /v1/messages call as the model saw it: headers, body, status, and what it billed
    (usage is None when the call was refused); when it arrived, when its prefill ended (its
    first token: `message_start`, and its cache entries visible) and when its answer was
    out, on `time.time()` (None: never reached)."""

    headers: Mapping[str, str]
    body: Any
    status: int
    usage: Usage | None
    response: Mapping[str, Any] | None
    received: float = 0.0
    first_token: float | None = None
    answered: float | None = None


class ClaudeEmulator(EmulatorServer):
    """The Claude API on 127.0.0.1; see the module docstring for its behaviour."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        min_cacheable_tokens: int | None = None,
        context_window: int | None = None,
        seed: int = 0,
        clock: EmulatedClock | None = None,
        max_batch_requests: int = 100_000,
        max_batch_bytes: int = 256 * 1024 * 1024,
        redacted_thinking_rate: float = 0.0,
        thinking_display: str | None = None,
        thinking_secret: bytes | None = None,
    ) -> None:
        """`redacted_thinking_rate`: the share of default thoughts that come back redacted
        (chosen by `seed` and the request, so a rerun redacts the same ones);
        `thinking_display`: the display of requests that set none (None: the model's);
        `thinking_secret`: the key of thinking signatures (random: like an account's, a
        signature from another emulator is refused)."""
        super().__init__(host, port)
        self.max_batch_requests = max_batch_requests
        self.max_batch_bytes = max_batch_bytes
        self.thinking = ThinkingSigner(thinking_secret or os.urandom(32))
        self._defaults = (api_key, min_cacheable_tokens, context_window, seed)
        self._thinking_defaults = (redacted_thinking_rate, thinking_display)
        self._ids = itertools.count(1)
        self._script_lock = threading.Lock()
        self.reset(clock)

    def reset(self, clock: EmulatedClock | None = None) -> None:
        """Forget everything (script, recordings, cache, batches, faults) and restore the
        constructor's options, so one running server can serve many independent tests."""
        api_key, min_cacheable_tokens, context_window, seed = self._defaults
        self.api_key = api_key
        self.seed = seed
        self.redacted_thinking_rate, self.thinking_display = self._thinking_defaults
        self.context_window = context_window
        self.clock = clock or EmulatedClock()
        self.cache = PromptCache(self.clock, min_cacheable_tokens)
        self.batches = BatchStore(self.clock, self._process_batch_request, seed, self.cache.wave)
        self.responder: Responder | None = None
        self.requests: list[MessageCall] = []
        self.extra_models: dict[str, ModelFacts] = {}
        with self._script_lock:
            self._script = ReplyScript()
        with self._lock:
            self.faults.clear()
            self.log.clear()
            self.latency = 0.0
            self.time_to_first_token: float | None = None
            self.peak_in_flight = self.in_flight

    def start(self) -> ClaudeEmulator:
        super().start()
        return self

    # -- scripting ------------------------------------------------------------------------
    def enqueue(self, reply: Reply, when: Predicate | None = None) -> None:
        """Queue a reply for the first request `when` accepts (any request when None)."""
        with self._script_lock:
            self._script.push(reply, when)

    def serve_model(self, model: str, like: str = "claude-sonnet-5-5") -> None:
        """Also serve `model`, with the facts of `like`: a model the API has and the model
        table does not know yet (a release newer than the product)."""
        facts = model_table().facts(like)
        assert facts is not None, like
        self.extra_models[model] = replace(facts, id=model, snapshot=model)

    @property
    def pending_replies(self) -> int:
        with self._script_lock:
            return len(self._script.queue)

    @property
    def batch_policy(self) -> BatchPolicy:
        return self.batches.policy

    @batch_policy.setter
    def batch_policy(self, policy: BatchPolicy) -> None:
        """The lifecycle of batches created from now on."""
        self.batches.policy = policy

    def set_outcome(self, custom_id: str, outcome: str, error_type: str = "api_error") -> None:
        """Force the result of the batch request `custom_id` (in any batch); an errored one
        names `error_type` (`overloaded_error`: the API stayed overloaded) in the API's
        words."""
        self.batches.presets[custom_id] = PresetOutcome(outcome, error_type)

    def set_reply(self, custom_id: str, reply: Reply) -> None:
        """Answer the batch request `custom_id` (in any batch) with `reply`, e.g.
        `Reply.stop("refusal", category="cyber")` for a succeeded result whose
        stop_reason is refusal; billed like any answer."""
        self.batches.presets[custom_id] = PresetOutcome("succeeded", reply=reply)

    def batch(self, batch_id: str) -> Batch:
        return self.batches.get(batch_id)

    def end_batch(self, batch_id: str) -> None:
        """End an in-progress batch now, processing its requests (whatever its policy)."""
        self.batches.end_now(batch_id)

    # -- HTTP -----------------------------------------------------------------------------
    def delay(self, request: Request) -> float:
        """A Messages call paces itself (`_messages`); an error is answered at once."""
        if request.method == "POST" and request.path.rstrip("/") == "/v1/messages":
            return 0.0
        return self.latency

    def fault_response(self, fault: Fault) -> Response:
        error_type = error_type_for(fault.status)
        request_id = self._request_id()
        message = f"injected {error_type}"
        if error_type == "overloaded_error":
            message = OVERLOADED_MESSAGE  # the API's own words (`Reply.overloaded`)
        body = fault.body or error_body(error_type, message, request_id)
        headers = {"request-id": request_id}
        if fault.retry_after is not None:
            headers["retry-after"] = str(fault.retry_after)
        return Response(fault.status, body, headers)

    def handle(self, request: Request) -> Response:
        request_id = self._request_id()
        try:
            if request.path.startswith(claude_control.PREFIX):
                response = claude_control.handle(request, self.batches)
            else:
                self._authenticate(request)
                response = self._route(request, request_id)
        except ApiError as error:
            response = Response(
                error.status, error_body(error.error_type, error.message, request_id)
            )
        response.headers["request-id"] = request_id
        return response

    def _request_id(self) -> str:
        return f"req_emu{next(self._ids):010d}"

    def _authenticate(self, request: Request) -> None:
        bearer = request.headers.get("authorization", "")
        key = request.headers.get("x-api-key") or (
            bearer[len("Bearer ") :] if bearer.startswith("Bearer ") else ""
        )
        if not key:
            raise ApiError(
                "authentication_error", "missing credentials: send Authorization: Bearer"
            )
        if self.api_key is not None and key != self.api_key:
            raise ApiError("authentication_error", "invalid API key")
        if not request.headers.get("anthropic-version"):
            raise ApiError("invalid_request_error", "anthropic-version: header is required")

    def _route(self, request: Request, request_id: str) -> Response:
        path, method = request.path.rstrip("/"), request.method
        if path == "/v1/messages" and method == "POST":
            return self._messages(request, request_id)
        if path == "/v1/messages/count_tokens" and method == "POST":
            body = _json(request)
            validate_count_request(body)
            validate_message_request(body, counting=True, extra_models=self.extra_models)
            return Response(200, {"input_tokens": input_tokens(body)})
        if path == "/v1/messages/batches" and method == "POST":
            return self._create_batch(request)
        if path == "/v1/messages/batches" and method == "GET":
            return self._list_batches(request)
        if path.startswith(_BATCH_PATH):
            return self._batch_route(method, path[len(_BATCH_PATH) :].split("/"))
        if path.startswith(_MODELS_PATH) and method == "GET":
            return Response(200, model_info(path[len(_MODELS_PATH) :], self.extra_models))
        raise ApiError("not_found_error", f"{method} {request.path} is not an API route")

    # -- messages -------------------------------------------------------------------------
    def _messages(self, request: Request, request_id: str) -> Response:
        received, arrived = time.time(), time.monotonic()
        body = _json(request)
        writes: dict[str, Any] = {}
        try:
            reply, usage = self.answer(body, writes=writes)
        except ApiError as error:
            self._record(MessageCall(request.headers, body, error.status, None, None, received))
            raise
        message = self.render(reply, usage, body, f"msg_emu{request_id[len('req_emu') :]}")
        pace = Pace.of(self.latency, self.time_to_first_token)
        times: list[float] = []
        broke = (reply.error_type, reply.error_message) if reply.error_type else None
        answered_with = None if broke else message

        def prefilled() -> None:
            self.cache.publish(writes)
            times.append(time.time())

        def done(complete: bool = True) -> None:
            first = times[0] if times else None
            answered = time.time() if complete else None
            self._record(
                MessageCall(
                    request.headers, body, 200, usage, answered_with, received, first, answered
                )
            )

        if body.get("stream") is True:
            headers = {"Content-Type": "text/event-stream; charset=utf-8"}
            stream = paced(message, arrived, pace, prefilled, done, error=broke)
            return Response(200, stream, headers, each_part=True)
        wait_until(arrived + pace.first_token)
        prefilled()
        wait_until(arrived + pace.total)
        done()
        return Response(200, message)

    def _record(self, call: MessageCall) -> None:
        with self._lock:
            self.requests.append(call)

    def answer(
        self, body: Any, chosen: Reply | None = None, writes: dict[str, Any] | None = None
    ) -> tuple[Reply, Usage]:
        """Validate, pick the reply, bill it: what one Messages request comes to. The reply
        returned carries exactly the thoughts that will be rendered; with `writes`, the cache
        entries it writes are held there until the caller publishes them."""
        validate_message_request(body, extra_models=self.extra_models)
        mode = thinking_mode(body, self.thinking_display)
        self.thinking.check(body, mode)
        reply = chosen
        if reply is None:
            with self._script_lock:
                reply = self._script.take(body)
        if reply is None and self.responder is not None:
            reply = self.responder(body)
        reply = reply or default_reply(body)
        if reply.error_type and not (reply.error_mid_stream and body.get("stream") is True):
            raise ApiError(reply.error_type, reply.error_message)
        prompt = input_tokens(body)
        model = served_model(str(body["model"]), self.extra_models)
        window = self.context_window or model.context_window
        if prompt > window:
            raise ApiError(
                "invalid_request_error",
                f"prompt is too long: {prompt} tokens > {window} maximum",
            )
        usage = self.cache.bill(str(body["model"]), body, writes)
        reply = replace(reply, thoughts=self._thoughts(reply, mode, body))
        thought = thinking_tokens(reply.thoughts)
        shown = output_tokens(reply.content("x")) if reply.said or reply.tool_calls else 0
        produced = max(1, thought + shown)
        room = min(int(body["max_tokens"]), window - prompt)
        if produced > room:
            reply, thought = _cut(reply, room, int(body["max_tokens"]))
            produced = max(1, room)
        return reply, usage.with_output(produced, thinking=thought if mode.on else None)

    def _thoughts(
        self, reply: Reply, mode: ThinkingMode, body: Mapping[str, Any]
    ) -> tuple[Thought, ...]:
        thoughts = thoughts_for(reply, mode)
        if reply.thoughts or not thoughts or self.redacted_thinking_rate <= 0:
            return thoughts
        # Not for security: a seeded draw, so the same request is redacted on every run.
        draw = random.Random(f"{self.seed}:{json.dumps(body, sort_keys=True)}").random()  # noqa: S311
        if draw < self.redacted_thinking_rate:
            return (replace(thoughts[0], redacted=True), *thoughts[1:])
        return thoughts

    def render(
        self,
        reply: Reply,
        usage: Usage,
        body: Mapping[str, Any],
        message_id: str,
        tier: str = "standard",
    ) -> dict[str, Any]:
        """The Message JSON for `reply` (as `answer` returned it), exactly the fields of the
        SDK's Message type."""
        stop_details = None
        if reply.stop_reason == "refusal":
            stop_details = {
                "type": "refusal",
                "category": reply.refusal_category,
                "explanation": None,
            }
        return {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": self.thinking.content(
                reply,
                reply.thoughts,
                thinking_mode(body, self.thinking_display),
                body,
                f"toolu_{message_id.removeprefix('msg_')}",
            ),
            "stop_reason": reply.stop_reason,
            "stop_sequence": reply.stop_sequence,
            "stop_details": stop_details,
            "usage": usage.to_json(tier),
        }

    # -- batches --------------------------------------------------------------------------
    def _process_batch_request(self, params: Mapping[str, Any], reply: Reply | None) -> Processed:
        try:
            if params.get("stream"):
                # A batch's results are read when it ends: nothing of it can stream.
                raise ApiError("invalid_request_error", "stream: not supported in batches")
            return self.answer(params, reply)
        except ApiError as error:
            return error

    def _create_batch(self, request: Request) -> Response:
        body = _json(request)
        accepted = validate_batch_requests(
            body, len(request.body), self.max_batch_requests, self.max_batch_bytes
        )
        batch = self.batches.create(accepted)
        return Response(200, batch.to_json(self.url))

    def _list_batches(self, request: Request) -> Response:
        limit = int(request.param("limit") or 20)
        if not 1 <= limit <= 1000:
            raise ApiError("invalid_request_error", "limit: must be between 1 and 1000")
        batches = self.batches.all_newest_first()
        ids = [batch.id for batch in batches]
        after, before = request.param("after_id"), request.param("before_id")
        if after is not None:
            start = ids.index(after) + 1 if after in ids else len(ids)
            page, has_more = batches[start : start + limit], start + limit < len(batches)
        elif before is not None:
            end = ids.index(before) if before in ids else 0
            page, has_more = batches[max(0, end - limit) : end], end - limit > 0
        else:
            page, has_more = batches[:limit], limit < len(batches)
        return Response(
            200,
            {
                "data": [batch.to_json(self.url) for batch in page],
                "has_more": has_more,
                "first_id": page[0].id if page else None,
                "last_id": page[-1].id if page else None,
            },
        )

    def _batch_route(self, method: str, parts: list[str]) -> Response:
        batch_id = parts[0]
        if len(parts) == 1 and method == "GET":
            return Response(200, self.batches.get(batch_id, poll=True).to_json(self.url))
        if len(parts) == 1 and method == "DELETE":
            self.batches.delete(batch_id)
            return Response(200, {"id": batch_id, "type": "message_batch_deleted"})
        if parts[1:] == ["cancel"] and method == "POST":
            return Response(200, self.batches.cancel(batch_id).to_json(self.url))
        if parts[1:] == ["results"] and method == "GET":
            batch = self.batches.get(batch_id)
            if batch.processing_status != "ended":
                raise ApiError("invalid_request_error", f"batch {batch_id} has not ended yet")
            # Streamed: the first lines leave while the last ones are still being rendered.
            lines = self.batches.result_lines(batch, self._render_batch_message)
            return Response(200, lines, {"Content-Type": "application/x-jsonl"})
        raise ApiError("not_found_error", f"{method} {_BATCH_PATH}{'/'.join(parts)} is not a route")

    def _render_batch_message(
        self, reply: Reply, usage: Usage, params: Mapping[str, Any], message_id: str
    ) -> dict[str, Any]:
        return self.render(reply, usage, params, message_id, tier="batch")


def _cut(reply: Reply, room: int, max_tokens: int) -> tuple[Reply, int]:
    """`reply` cut at `room` output tokens: its leading thought first, then its text; tool
    calls dropped. Returns the cut reply and the thinking tokens it kept."""
    reason = "max_tokens" if room == max_tokens else "model_context_window_exceeded"
    thoughts = reply.thoughts[:1]
    if thoughts and thinking_tokens(thoughts) >= room:
        thoughts = (replace(thoughts[0], text=thoughts[0].text[: room * 4]),)
        return Reply(thoughts=thoughts, stop_reason=reason), room
    thought = thinking_tokens(thoughts)
    text = (reply.said or "")[: (room - thought) * 4]
    return Reply(said=text or None, thoughts=thoughts, stop_reason=reason), thought


def _json(request: Request) -> Any:
    try:
        return json.loads(request.body or b"null")
    except ValueError as error:
        raise ApiError("invalid_request_error", f"body is not valid JSON: {error}") from error
