"""`send_message` streamed (`on_start`, the review's warm-up call) gives the same `Reply` as
the same call not streamed: content blocks (text, tool calls, thinking, redacted thinking),
stop reason and details, usage with its cache figures, so every handler after it (usage meter,
refusal, max_tokens, the assistant turn sent back) cannot tell them apart; `on_start` runs
once, at `message_start`, before the answer is over; errors are the same ClaudeAPIError."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import pytest

from ci_reviewer.claude import Reply, send_message
from ci_reviewer.emulators.claude import ClaudeEmulator
from ci_reviewer.emulators.claude import Reply as Scripted
from ci_reviewer.errors import ClaudeAPIError, ClaudeOverloadedError
from ci_reviewer.review.turns import assistant_blocks

READ_FILE = {
    "name": "read_file",
    "description": "Read a file of the repository.",
    "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}},
}


def params(model: str = "claude-sonnet-5-5", max_tokens: int = 400) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": max_tokens,
        "system": [
            {"type": "text", "text": "Review. " * 40, "cache_control": {"type": "ephemeral"}}
        ],
        "tools": [READ_FILE],
        "messages": [{"role": "user", "content": "Review src/app.py"}],
    }


def without_ids(reply: Reply) -> tuple[Any, ...]:
    """A reply's fields with its tool calls' ids (numbered per request) left out."""
    content = tuple({k: v for k, v in b.items() if k != "id"} for b in reply.content)
    return content, reply.stop_reason, reply.stop_details, reply.usage


CASES = [
    pytest.param(
        Scripted.tool_use([("read_file", {"path": "src/ü.py"}), ("read_file", {"path": "b"})]),
        "claude-sonnet-5-5",
        400,
        0.0,
        id="parallel-tool-calls-with-thinking",
    ),
    pytest.param(
        Scripted.json({"summary": "ok", "findings": []}),
        "claude-sonnet-5-5",
        400,
        1.0,
        id="redacted-thinking-then-json",
    ),
    pytest.param(
        Scripted.stop("refusal", category="cyber"), "claude-haiku-4-5", 400, 0.0, id="refusal"
    ),
    pytest.param(Scripted.text("x" * 600), "claude-haiku-4-5", 40, 0.0, id="cut-at-max-tokens"),
]


@pytest.mark.parametrize(("scripted", "model", "max_tokens", "redacted"), CASES)
def test_a_streamed_reply_is_the_reply_of_the_same_call_unstreamed(
    emu: ClaudeEmulator,
    client: anthropic.Anthropic,
    scripted: Scripted,
    model: str,
    max_tokens: int,
    redacted: float,
) -> None:
    emu.redacted_thinking_rate = redacted
    emu.enqueue(scripted)
    emu.enqueue(scripted)
    plain = send_message(client, params(model, max_tokens))
    emu.cache.clear()  # the second call writes the prefix as the first did
    started: list[int] = []
    streamed = send_message(client, params(model, max_tokens), lambda: started.append(1))

    assert started == [1]
    assert without_ids(streamed) == without_ids(plain)
    assert plain.usage["cache_creation_input_tokens"] > 0  # the cache figures came through
    assert streamed.usage == emu.requests[1].response["usage"]  # type: ignore[index]
    sent_back = [{k: v for k, v in b.items() if k != "id"} for b in assistant_blocks(streamed)]
    assert sent_back == [{k: v for k, v in b.items() if k != "id"} for b in assistant_blocks(plain)]


def test_on_start_runs_before_the_answer_is_over(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.latency, emu.time_to_first_token = 1.2, 0.2
    emu.enqueue(Scripted.json({"summary": "ok", "findings": []}))
    in_flight: list[int] = []

    send_message(client, params(), lambda: in_flight.append(len(emu.requests)))

    assert in_flight == [0]  # the emulator had not recorded the call as answered yet
    [call] = emu.requests
    assert call.first_token is not None and call.answered is not None


def test_a_streamed_call_refused_as_overloaded_is_the_same_error(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.enqueue(Scripted.overloaded())
    emu.enqueue(Scripted.overloaded())
    errors: list[ClaudeAPIError] = []
    for on_start in (None, lambda: None):
        with pytest.raises(ClaudeOverloadedError) as raised:
            send_message(client, params(), on_start)
        errors.append(raised.value)

    assert errors[0].message == errors[1].message
    assert errors[0].message == "the Claude API refused to answer a review request: 529 Overloaded"
    assert errors[0].exit_code == errors[1].exit_code == 3


def test_an_overload_after_a_streamed_answer_began_is_sent_again_unstreamed(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.enqueue(Scripted.overloaded_mid_stream())
    emu.enqueue(Scripted.json({"summary": "ok", "findings": []}))
    started: list[int] = []

    reply = send_message(client, params(), lambda: started.append(1))

    assert started == [1]
    assert json.loads(reply.content[-1]["text"]) == {"summary": "ok", "findings": []}
    broken, again = emu.requests
    assert broken.body["stream"] is True and broken.response is None
    assert "stream" not in again.body and again.status == 200
    assert reply.usage == again.response["usage"]  # type: ignore[index]


def test_an_overload_mid_stream_then_after_the_retries_is_the_unstreamed_error(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.enqueue(Scripted.overloaded_mid_stream())
    emu.enqueue(Scripted.overloaded())  # the call sent again: the client retries no more

    with pytest.raises(ClaudeOverloadedError) as raised:
        send_message(client, params(), lambda: None)

    assert raised.value.message == (
        "the Claude API refused to answer a review request: 529 Overloaded"
    )
    assert [call.status for call in emu.requests] == [200, 529]
