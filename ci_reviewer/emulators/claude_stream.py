"""How long a Messages call takes at the Claude emulator, and its answer as server-sent events
(`stream: true`).

A call has two phases, as the API's have: the prefill (the prompt is read and the cache
entries at its breakpoints are written) ends at the first token, when a streamed answer sends
`message_start`; then generation, until `message_stop` (a call that does not stream gets its
whole body at that end). The emulator's `latency` is the whole call; `time_to_first_token`
its first phase (None: `FIRST_TOKEN_SHARE` of the latency). Where the default share comes
from: for Anthropic's Sonnet models, Artificial Analysis measured a median time to first token
of 0.8 s (Claude 3.5 Sonnet) to 1.8 s (Sonnet 4.5) and 63-95 output tokens a second,
BridgeBench 1.2 s and ~86-95 tokens/s for Sonnet 4.6; a review turn's answer (a tool call or
a few findings, ~60-120 tokens, more with thinking) then takes about as long to generate as
to reach its first token, so half of a call is prefill. The cache entries a call writes
become visible at its first token, streamed or not ("a cache entry only becomes available
after the first response begins", the prompt-caching docs): a caller that streams knows that
moment, one that does not learns it only at the end.

The events are those of the streaming docs, in their order: `message_start` (the message
with no content, no stop reason, and its usage with the prompt's figures and
`output_tokens: 1`), a `ping`, per content block `content_block_start` (the block with its
text, thinking or input empty), its deltas (`text_delta`, `thinking_delta` then
`signature_delta`, `input_json_delta` with the input's JSON) and `content_block_stop`, then
`message_delta` (stop reason, stop sequence, stop details, and the usage's output figures)
and `message_stop`. Accumulated, they give back exactly the body the same call answers when
it does not stream.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

FIRST_TOKEN_SHARE = 0.5


@dataclass(frozen=True)
class Pace:
    """A call's timing: seconds from its arrival to its first token, and to its end."""

    first_token: float
    total: float

    @classmethod
    def of(cls, latency: float, time_to_first_token: float | None) -> Pace:
        total = max(0.0, latency)
        first = total * FIRST_TOKEN_SHARE if time_to_first_token is None else time_to_first_token
        return cls(min(max(0.0, first), total), total)


def wait_until(moment: float) -> None:
    """Sleep until `moment` on the monotonic clock (at once when it has passed)."""
    left = moment - time.monotonic()
    if left > 0:
        time.sleep(left)


def events(message: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The (event, data) pairs that stream `message` (a rendered Message body)."""
    usage = dict(message["usage"])
    details = usage.pop("output_tokens_details", None)
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "stop_details": None,
        "usage": {**usage, "output_tokens": 1},
    }
    out: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        ("ping", {"type": "ping"}),
    ]
    for index, block in enumerate(message["content"]):
        empty, deltas = _split(block)
        out.append(
            ("content_block_start", {"type": "content_block_start", "index": index, **empty})
        )
        out += [
            ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
            for d in deltas
        ]
        out.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    final: dict[str, Any] = {"output_tokens": message["usage"]["output_tokens"]}
    if details is not None:
        final["output_tokens_details"] = details
    delta = {
        "stop_reason": message["stop_reason"],
        "stop_sequence": message["stop_sequence"],
        "stop_details": message["stop_details"],
    }
    out.append(("message_delta", {"type": "message_delta", "delta": delta, "usage": final}))
    out.append(("message_stop", {"type": "message_stop"}))
    return out


def _split(block: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A block as `content_block_start` carries it, and the deltas that complete it."""
    kind = block.get("type")
    if kind == "text":
        deltas = [{"type": "text_delta", "text": block["text"]}] if block["text"] else []
        return {"content_block": {**block, "text": ""}}, deltas
    if kind == "thinking":
        deltas = [{"type": "thinking_delta", "thinking": block["thinking"]}]
        if not block["thinking"]:  # display "omitted": the signature alone
            deltas = []
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
        return {"content_block": {**block, "thinking": "", "signature": ""}}, deltas
    if kind == "tool_use":
        partial = json.dumps(block["input"], separators=(",", ":"), ensure_ascii=False)
        deltas = [{"type": "input_json_delta", "partial_json": partial}]
        return {"content_block": {**block, "input": {}}}, deltas
    return {"content_block": dict(block)}, []  # redacted_thinking: whole, as the API sends it


def sse(event: str, data: Mapping[str, Any]) -> bytes:
    """One server-sent event as the API writes it."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def paced(
    message: Mapping[str, Any],
    arrived: float,
    pace: Pace,
    at_first_token: Callable[[], None],
    at_end: Callable[[bool], None],
    *,
    error: tuple[str, str] | None = None,
) -> Iterator[bytes]:
    """`message` as server-sent events on `pace` from `arrived` (monotonic): `message_start`
    at the first token, right after `at_first_token()`; the rest spread evenly over the
    generation; `at_end(True)` just before the last goes out (so a client that has it can
    find the call recorded), or `at_end(False)` when the client left before. With `error`
    (its type and message), the error event follows `message_start`, and nothing else."""
    stream = events(message)
    if error is not None:
        body = {"type": "error", "error": {"type": error[0], "message": error[1]}}
        stream = [stream[0], ("error", body)]
    complete = False
    try:
        wait_until(arrived + pace.first_token)
        at_first_token()
        yield sse(*stream[0])
        rest = stream[1:]
        generation = pace.total - pace.first_token
        for number, (event, data) in enumerate(rest, 1):
            wait_until(arrived + pace.first_token + generation * number / len(rest))
            if number == len(rest):
                complete = True
                at_end(True)
            yield sse(event, data)
    finally:
        if not complete:
            at_end(False)
