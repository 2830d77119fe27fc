"""The Claude emulator's streamed answers (`stream: true`) and its timing, through the real
SDK: the events accumulate (by the SDK's own `messages.stream`) to the body the same call
answers without streaming; `message_start` comes when the prefill ends, the rest over the
generation; a call's cache entries are visible to other requests from its first token on,
and not before ("a cache entry only becomes available after the first response begins")."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any, cast

import anthropic
import pytest
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import TypeAdapter

from ci_reviewer.emulators.claude import ClaudeEmulator, MessageCall, Reply
from tests.emulators.test_claude_emulator import MODEL, PLAIN_MODEL, READ_FILE, strict

# A system prompt past the emulator's 50-token cache threshold, marked for caching.
SYSTEM = [
    {
        "type": "text",
        "text": "You review pull requests. " * 30,
        "cache_control": {"type": "ephemeral"},
    }
]
# The cached prefix: the read_file tool, ceil(160 / 4) = 40 tokens of canonical JSON, and the
# system block, ceil(805 / 4) = 202 (`claude_usage`'s documented approximation).
PREFIX_TOKENS = 40 + 202
EVENT = TypeAdapter(RawMessageStreamEvent)


@pytest.fixture(scope="module")
def server() -> Iterator[ClaudeEmulator]:
    emulator = ClaudeEmulator(min_cacheable_tokens=50).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def emu(server: ClaudeEmulator) -> ClaudeEmulator:
    server.reset()
    return server


@pytest.fixture
def client(emu: ClaudeEmulator) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=emu.url, api_key="test-key", max_retries=0) as sdk:
        yield sdk


def params(text: str = "Review src/app.py", **options: Any) -> dict[str, Any]:
    return {
        "model": options.pop("model", MODEL),
        "max_tokens": options.pop("max_tokens", 1000),
        "system": SYSTEM,
        "tools": [READ_FILE],
        "messages": [{"role": "user", "content": text}],
        **options,
    }


def without_ids(message: dict[str, Any]) -> dict[str, Any]:
    """A message with its id and its tool calls' ids (numbered per request) left out."""
    content = [{k: v for k, v in b.items() if k != "id"} for b in message["content"]]
    return {**{k: v for k, v in message.items() if k != "id"}, "content": content}


SCRIPTS = [
    pytest.param(Reply.tool_use([("read_file", {"path": "src/ü.py"})]), MODEL, id="tool-thinking"),
    pytest.param(Reply.json({"summary": "ok", "findings": []}), PLAIN_MODEL, id="json-text"),
    pytest.param(Reply.stop("refusal", category="cyber"), PLAIN_MODEL, id="refusal"),
    pytest.param(Reply.text("x" * 400), PLAIN_MODEL, id="cut-at-max-tokens"),
]


@pytest.mark.parametrize(("reply", "model"), SCRIPTS)
def test_streamed_events_accumulate_to_the_body_of_the_same_call_unstreamed(
    emu: ClaudeEmulator, client: anthropic.Anthropic, reply: Reply, model: str
) -> None:
    emu.enqueue(reply)
    emu.enqueue(reply)
    plain = client.messages.with_raw_response.create(**params(model=model, max_tokens=60))
    emu.cache.clear()  # so that the second call writes the prefix as the first did
    seen: list[str] = []
    with client.messages.stream(**params(model=model, max_tokens=60)) as stream:
        for event in stream:
            seen.append(event.type)
        streamed = stream.get_final_message()

    body = cast(dict[str, Any], plain.json())
    strict(Message, body)
    assert without_ids(streamed.to_dict(mode="json")) == without_ids(body)
    assert seen[0] == "message_start" and seen[-1] == "message_stop"
    assert seen.count("content_block_start") == len(body["content"])
    # What the emulator recorded of the streamed call is what it billed the unstreamed one.
    assert emu.requests[1].usage == emu.requests[0].usage
    assert emu.requests[1].body["stream"] is True


def test_every_event_is_one_the_sdk_declares(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.enqueue(Reply.tool_use([("read_file", {"path": "a.py"})], text="Reading it."))
    with client.messages.with_streaming_response.create(**params(), stream=True) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = list(anthropic.Stream.raw_events(response.http_response))

    names = [event.event for event in events]
    assert names[:2] == ["message_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    for event in events:
        if event.event != "ping":
            strict(type(EVENT.validate_python(event.json())), event.json())
    start = events[0].json()["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    assert start["usage"]["output_tokens"] == 1  # the prompt's figures come first
    assert start["usage"]["cache_creation_input_tokens"] == PREFIX_TOKENS


def _stream_in_background(client: anthropic.Anthropic) -> tuple[threading.Thread, list[float]]:
    """A streamed call on a thread; the list gets the time.time() of its message_start."""
    started: list[float] = []

    def run() -> None:
        with client.messages.stream(**params()) as stream:
            for event in stream:
                if event.type == "message_start":
                    started.append(time.time())

    thread = threading.Thread(target=run)
    thread.start()
    return thread, started


def _only(calls: list[MessageCall], streamed: bool) -> MessageCall:
    [call] = [c for c in calls if bool(c.body.get("stream")) is streamed]
    return call


def test_message_start_comes_when_the_prefill_ends_and_the_rest_over_the_generation(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.latency, emu.time_to_first_token = 1.2, 0.3

    thread, started = _stream_in_background(client)
    thread.join()

    [call] = emu.requests
    assert call.first_token is not None and call.answered is not None
    assert call.first_token - call.received >= 0.3
    assert call.answered - call.received >= 1.2
    # The client had message_start in hand while the rest was still being generated.
    assert started and started[0] < call.answered


def test_the_default_first_token_is_half_the_latency(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.latency = 0.8

    client.messages.create(**params())

    [call] = emu.requests
    assert call.first_token is not None and call.answered is not None
    assert call.first_token - call.received >= 0.4
    assert call.answered - call.received >= 0.8


def test_a_cache_entry_is_read_by_a_request_sent_after_the_first_token_before_the_end(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.latency, emu.time_to_first_token = 1.5, 0.3

    thread, started = _stream_in_background(client)
    while not started and thread.is_alive():
        time.sleep(0.01)
    client.messages.create(**params("Review src/other.py"))
    thread.join()

    first, second = _only(emu.requests, True), _only(emu.requests, False)
    assert first.answered is not None and second.received < first.answered
    assert first.usage is not None and first.usage.cache_creation_input_tokens == PREFIX_TOKENS
    assert second.usage is not None and second.usage.cache_read_input_tokens == PREFIX_TOKENS
    assert second.usage.cache_creation_input_tokens == 0


def test_a_request_sent_during_another_ones_prefill_misses_its_entry(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.latency, emu.time_to_first_token = 1.0, 0.6

    thread, _ = _stream_in_background(client)
    while not emu.log:
        time.sleep(0.005)
    client.messages.create(**params("Review src/other.py"))
    thread.join()

    first, second = _only(emu.requests, True), _only(emu.requests, False)
    assert first.first_token is not None and second.received < first.first_token
    # Both prefills ran at once: each wrote the prefix, neither read the other's.
    for call in (first, second):
        assert call.usage is not None
        assert (call.usage.cache_creation_input_tokens, call.usage.cache_read_input_tokens) == (
            PREFIX_TOKENS,
            0,
        )


def test_an_unstreamed_calls_entry_is_visible_from_its_first_token_too(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.latency, emu.time_to_first_token = 1.5, 0.2
    first_done = threading.Event()

    def first() -> None:
        client.messages.create(**params())
        first_done.set()

    thread = threading.Thread(target=first)
    thread.start()
    time.sleep(0.6)  # past the first call's prefill, well before its end
    second = client.messages.create(**params("Review src/other.py"))
    thread.join()

    assert second.usage.cache_read_input_tokens == PREFIX_TOKENS
    calls = sorted(emu.requests, key=lambda call: call.received)
    assert calls[0].answered is not None and calls[1].received < calls[0].answered


def test_a_refused_streamed_request_is_an_error_status_not_a_stream(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.enqueue(Reply.overloaded())

    with pytest.raises(anthropic.APIStatusError) as refused, client.messages.stream(**params()):
        pass

    assert refused.value.status_code == 529
    assert refused.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
        "request_id": refused.value.request_id,
    }
    [call] = emu.requests
    assert (call.status, call.usage, call.first_token) == (529, None, None)


def test_an_overload_after_the_answer_began_is_the_documented_error_event(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.enqueue(Reply.overloaded_mid_stream())
    emu.enqueue(Reply.overloaded_mid_stream())
    seen: list[str] = []

    with pytest.raises(anthropic.APIStatusError) as broke, client.messages.stream(**params()) as s:
        for event in s:
            seen.append(event.type)
    with pytest.raises(anthropic.APIStatusError) as refused:
        client.messages.create(**params())

    assert seen == ["message_start"]
    assert broke.value.status_code == 200  # the stream had begun
    assert broke.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    assert refused.value.status_code == 529  # not streamed: the status, as `overloaded`
    streamed, plain = emu.requests
    assert (streamed.status, streamed.response) == (200, None)
    assert streamed.first_token is not None and plain.status == 529
