"""A streamed Messages answer (`stream: true`) read into the body the same call answers when it
does not stream, so `Reply` and everything after it cannot tell the two apart.

Why stream at all: the review's first call writes the shared prompt prefix to the cache, and
"a cache entry only becomes available after the first response begins" (the prompt-caching
docs); a streamed answer says when it began (`message_start`, the end of the prefill), so the
other conversations can start then instead of when the whole answer is in.

The events are accumulated as the SDK's `accumulate_event` does, on the JSON as sent (no typed
models): `message_start` gives the message; each `content_block_start` adds a block, its deltas
complete it (text, thinking, signature, citations; a tool call's `input_json_delta` pieces are
joined and decoded at `content_block_stop`); `message_delta` sets the stop reason, stop
sequence and stop details and overwrites the usage figures it carries (they are totals); an
`error` event is raised as the SDK raises it (an `APIStatusError` with the event as body), so
`claude_errors` judges it by its error type, as for an answer that did not stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

import anthropic
import orjson


class Event(Protocol):
    """One server-sent event (the SDK's `ServerSentEvent`)."""

    @property
    def event(self) -> str | None: ...

    @property
    def data(self) -> str: ...


def read_stream(response: Any, on_start: Callable[[], None]) -> dict[str, Any] | None:
    """The message `response` (the SDK's HTTP response of a streamed call) streams, with
    `on_start()` called at its `message_start`; None when the stream holds no message."""
    events: Iterable[Event] = anthropic.Stream.raw_events(response)
    return accumulate(events, on_start, response)


def accumulate(
    events: Iterable[Event], on_start: Callable[[], None], response: Any
) -> dict[str, Any] | None:
    message: dict[str, Any] | None = None
    partial: dict[int, list[str]] = {}
    for event in events:
        if event.event in (None, "ping") or not event.data:
            continue
        data = orjson.loads(event.data)
        if event.event == "error":
            raise anthropic.APIStatusError(str(data), response=response, body=data)
        if event.event == "message_start":
            message = data["message"]
            on_start()
        elif message is None:
            return None
        elif event.event == "content_block_start":
            message["content"].append(data["content_block"])
        elif event.event == "content_block_delta":
            _apply(message["content"][data["index"]], data["delta"], partial, data["index"])
        elif event.event == "content_block_stop":
            pieces = partial.pop(data["index"], None)
            if pieces is not None:
                message["content"][data["index"]]["input"] = orjson.loads("".join(pieces) or "{}")
        elif event.event == "message_delta":
            message.update(data["delta"])
            usage = data.get("usage") or {}
            message["usage"].update({k: v for k, v in usage.items() if v is not None})
        elif event.event == "message_stop":
            break
    return message


def _apply(
    block: dict[str, Any], delta: dict[str, Any], partial: dict[int, list[str]], index: int
) -> None:
    kind = delta.get("type")
    if kind == "text_delta":
        block["text"] = block.get("text", "") + delta["text"]
    elif kind == "thinking_delta":
        block["thinking"] = block.get("thinking", "") + delta["thinking"]
    elif kind == "signature_delta":
        block["signature"] = delta["signature"]
    elif kind == "input_json_delta":
        partial.setdefault(index, []).append(delta["partial_json"])
    elif kind == "citations_delta":
        block["citations"] = [*(block.get("citations") or []), delta["citation"]]
