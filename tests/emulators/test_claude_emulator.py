"""The Claude emulator, driven only through the real anthropic SDK (plus raw HTTP where the
SDK cannot send what we want to see refused). Every response is also checked against the
SDK's pydantic types with no unknown field allowed."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import anthropic
import jsonschema
import pytest
from anthropic.types import Message, MessageTokensCount
from anthropic.types.messages import (
    DeletedMessageBatch,
    MessageBatch,
    MessageBatchIndividualResponse,
)
from pydantic import BaseModel

from ci_reviewer.emulators.claude import BatchPolicy, ClaudeEmulator, EmulatedClock, Reply
from ci_reviewer.emulators.claude_replies import DEFAULT_TEXT
from ci_reviewer.emulators.server import Fault

MODEL = "claude-sonnet-5-5"  # thinks by default, as the real one does
PLAIN_MODEL = "claude-haiku-4-5"  # does not think unless asked: exact figures without thoughts
READ_FILE = {
    "name": "read_file",
    "description": "Read a file of the repository.",
    "input_schema": {
        "type": "object",
        "properties": {"path": {"type": "string"}},
        "required": ["path"],
    },
}


@pytest.fixture(scope="module")
def server() -> Iterator[ClaudeEmulator]:
    # One server per module: stopping one costs the http.server poll interval.
    emulator = ClaudeEmulator(min_cacheable_tokens=50).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def emu(server: ClaudeEmulator) -> ClaudeEmulator:
    server.reset(EmulatedClock(datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)))
    return server


@pytest.fixture
def client(emu: ClaudeEmulator) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=emu.url, api_key="test-key", max_retries=0) as sdk:
        yield sdk


def strict(model: type[BaseModel], data: Any) -> Any:
    """Validate `data` as `model` and refuse any field the SDK type does not declare."""
    parsed = model.model_validate(data)
    _no_extra(parsed)
    return parsed


def _no_extra(value: Any) -> None:
    if isinstance(value, BaseModel):
        assert not value.model_extra, f"{type(value).__name__} got unknown {value.model_extra}"
        for name in type(value).model_fields:
            _no_extra(getattr(value, name))
    elif isinstance(value, list):
        for item in value:
            _no_extra(item)


def ask(client: anthropic.Anthropic, text: str = "Review src/app.py", **options: Any) -> Message:
    options.setdefault("max_tokens", 1000)
    options.setdefault("model", MODEL)
    raw = client.messages.with_raw_response.create(
        messages=[{"role": "user", "content": text}], **options
    )
    strict(Message, raw.json())
    return raw.parse()


def text_of(message: Any) -> str:
    """The answer of a message: its text blocks (a thinking model leads with thinking)."""
    return "".join(block.text for block in message.content if block.type == "text")


def raw_post(
    emu: ClaudeEmulator, path: str, body: Any, key: str | None = "k", version: str = "2026-10-21"
) -> tuple[int, Any]:
    headers = {"content-type": "application/json", "anthropic-version": version}
    if key:
        headers["x-api-key"] = key
    request = urllib.request.Request(
        emu.url + path, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


# -- messages -------------------------------------------------------------------------------
def test_parallel_tool_calls_round_trip(emu: ClaudeEmulator, client: anthropic.Anthropic) -> None:
    emu.enqueue(Reply.tool_use([("read_file", {"path": "a.py"}), ("read_file", {"path": "b.py"})]))
    emu.enqueue(Reply.text("Two files read; no findings."))
    messages: list[Any] = [{"role": "user", "content": "Review src/app.py"}]
    first = ask(client, tools=[READ_FILE])
    assert first.stop_reason == "tool_use"
    calls = [block for block in first.content if block.type == "tool_use"]
    assert [(c.name, c.input) for c in calls] == [
        ("read_file", {"path": "a.py"}),
        ("read_file", {"path": "b.py"}),
    ]
    assert len({c.id for c in calls}) == 2
    messages += [
        {"role": "assistant", "content": [block.model_dump() for block in first.content]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": c.id, "content": f"contents of {c.input}"}
                for c in calls
            ],
        },
    ]
    second = client.messages.create(
        model=MODEL, max_tokens=500, messages=messages, tools=[READ_FILE]
    )
    assert second.stop_reason == "end_turn"
    assert [block.type for block in second.content] == ["thinking", "text"]
    assert text_of(second) == "Two files read; no findings."
    seen = emu.requests[1].body["messages"][2]["content"]
    assert [block["tool_use_id"] for block in seen] == [c.id for c in calls]
    assert emu.requests[1].headers["authorization"] == "Bearer test-key"


def test_tool_result_without_matching_tool_use_is_refused(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    messages: list[Any] = [
        {"role": "user", "content": "Review a.py"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_2"}]},
    ]
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model=MODEL, max_tokens=10, messages=messages, tools=[READ_FILE])
    assert "toolu_2" in str(caught.value)
    assert caught.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert emu.requests[-1].status == 400
    assert emu.requests[-1].usage is None


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"model": MODEL, "max_tokens": 5, "messages": [], "x": 1}, "messages"),
        ({"max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}, "model"),
        ({"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}, "max_tokens"),
        (
            {
                "model": MODEL,
                "max_tokens": 5,
                "temperature": 0.2,
                "messages": [{"role": "user", "content": "hi"}],
            },
            "temperature",
        ),
        (
            {
                "model": MODEL,
                "max_tokens": 5,
                "top_k": 3,
                "messages": [{"role": "user", "content": "hi"}],
            },
            "top_k",
        ),
        (
            {"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": ""}]},
            "non-empty",
        ),
        (
            {
                "model": MODEL,
                "max_tokens": 5,
                "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
            },
            "alternate",
        ),
        (
            {"model": MODEL, "max_tokens": 5, "messages": [{"role": "assistant", "content": "a"}]},
            "first message",
        ),
    ],
)
def test_invalid_requests_get_400_naming_the_problem(
    emu: ClaudeEmulator, body: dict[str, Any], named: str
) -> None:
    status, answer = raw_post(emu, "/v1/messages", body)
    assert status == 400
    assert answer["type"] == "error"
    assert answer["error"]["type"] == "invalid_request_error"
    assert named in answer["error"]["message"]
    assert answer["request_id"].startswith("req_")


def test_missing_api_version_header_is_refused(emu: ClaudeEmulator) -> None:
    status, answer = raw_post(emu, "/v1/messages", {}, version="")
    assert (status, answer["error"]["type"]) == (400, "invalid_request_error")
    assert "anthropic-version" in answer["error"]["message"]


def test_sdk_rejects_removed_sampling_parameter(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="temperature"):
        ask(client, extra_body={"temperature": 0.0})


def test_missing_or_wrong_credentials_get_401(emu: ClaudeEmulator) -> None:
    status, answer = raw_post(emu, "/v1/messages", {}, key=None)
    assert status == 401
    assert answer["error"]["type"] == "authentication_error"
    emu.api_key = "right"
    with (
        anthropic.Anthropic(base_url=emu.url, api_key="wrong", max_retries=0) as sdk,
        pytest.raises(anthropic.AuthenticationError) as caught,
    ):
        ask(sdk)
    assert caught.value.response.headers["request-id"].startswith("req_")


def test_structured_output_scripted_and_default(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "findings": {"type": "array", "items": {"$ref": "#/$defs/Finding"}, "minItems": 1},
            "summary": {"type": "string", "format": "date"},
            "score": {"type": "integer", "description": "{minimum: 1}"},
            "blocking": {"type": "boolean"},
            "note": {"type": "string"},
        },
        "required": ["findings", "summary", "score", "blocking"],
        "additionalProperties": False,
        "$defs": {
            "Finding": {
                "type": "object",
                "properties": {
                    "severity": {"enum": ["high", "low"]},
                    "line": {"type": ["integer", "null"]},
                },
                "required": ["severity", "line"],
                "additionalProperties": False,
            }
        },
    }
    config: Any = {"format": {"type": "json_schema", "schema": schema}}
    emu.enqueue(Reply.json({"findings": [], "summary": "fine", "score": 9, "blocking": False}))
    scripted = ask(client, output_config=config)
    assert json.loads(text_of(scripted))["summary"] == "fine"
    default = ask(client, output_config=config)
    document = json.loads(text_of(default))
    jsonschema.validate(document, schema)
    assert document == {
        "findings": [{"severity": "high", "line": 0}],
        "summary": "",
        "score": 0,
        "blocking": False,
    }
    assert emu.requests[1].body["output_config"] == config


@pytest.mark.parametrize(
    "reason",
    [
        "end_turn",
        "max_tokens",
        "stop_sequence",
        "pause_turn",
        "refusal",
        "model_context_window_exceeded",
    ],
)
def test_every_stop_reason_can_be_scripted(
    emu: ClaudeEmulator, client: anthropic.Anthropic, reason: str
) -> None:
    emu.enqueue(Reply.stop(reason, "partial answer", category="cyber", sequence="###"))
    message = ask(client)
    assert message.stop_reason == reason
    assert text_of(message) == "partial answer"
    if reason == "refusal":
        assert message.stop_details is not None
        assert message.stop_details.category == "cyber"
    else:
        assert message.stop_details is None
    assert message.stop_sequence == ("###" if reason == "stop_sequence" else None)


def test_pause_turn_may_carry_no_content(emu: ClaudeEmulator, client: anthropic.Anthropic) -> None:
    emu.enqueue(Reply.stop("pause_turn"))
    message = ask(client, model=PLAIN_MODEL)
    assert (message.stop_reason, message.content) == ("pause_turn", [])


def test_long_reply_is_cut_at_max_tokens(emu: ClaudeEmulator, client: anthropic.Anthropic) -> None:
    emu.enqueue(Reply.text("word " * 100))
    message = ask(client, max_tokens=10, model=PLAIN_MODEL)
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 10
    assert text_of(message) == ("word " * 100)[:40]


def test_context_window_overflow(client: anthropic.Anthropic, emu: ClaudeEmulator) -> None:
    emu.context_window = 100
    with pytest.raises(anthropic.BadRequestError, match="prompt is too long"):
        ask(client, text="y" * 800)
    emu.enqueue(Reply.text("z" * 400))
    message = ask(client, text="y" * 300)
    assert message.stop_reason == "model_context_window_exceeded"
    assert message.usage.input_tokens + message.usage.output_tokens == 100


def test_default_demo_reads_the_named_file_then_answers(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    first = ask(client, text="Please review the change to src/app.py.", tools=[READ_FILE])
    assert first.stop_reason == "tool_use"
    call = first.content[-1]
    assert call.type == "tool_use"
    assert (call.name, call.input) == ("read_file", {"path": "src/app.py"})
    second = client.messages.create(
        model=MODEL,
        max_tokens=200,
        tools=[READ_FILE],
        messages=[
            {"role": "user", "content": "Please review the change to src/app.py."},
            {"role": "assistant", "content": [b.model_dump() for b in first.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "print(1)"}],
            },
        ],
    )
    assert (second.stop_reason, text_of(second)) == ("end_turn", DEFAULT_TEXT)
    assert text_of(ask(client, text="hello")) == DEFAULT_TEXT


def test_forced_tool_choice_calls_that_tool(client: anthropic.Anthropic) -> None:
    forced: Any = {"type": "tool", "name": "read_file"}
    message = ask(client, tools=[READ_FILE], tool_choice=forced, model=PLAIN_MODEL)
    assert message.content[0].type == "tool_use"
    assert message.content[0].input == {"path": ""}


def test_predicates_route_concurrent_conversations(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    for name in ("a", "b", "c", "d"):
        emu.enqueue(
            Reply.text(f"about {name}"),
            when=lambda body, n=name: f"src/{n}.py" in json.dumps(body["messages"][0]),
        )
    answers: dict[str, str] = {}

    def review(name: str) -> None:
        answers[name] = text_of(ask(client, text=f"review src/{name}.py"))

    threads = [threading.Thread(target=review, args=(n,)) for n in ("d", "c", "b", "a")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == {n: f"about {n}" for n in "abcd"}
    assert emu.pending_replies == 0


def test_responder_scripts_programmatically(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.responder = lambda body: Reply.text(f"{len(body['messages'])} message(s)")
    emu.enqueue(Reply.text("queued first"))
    assert text_of(ask(client)) == "queued first"
    assert text_of(ask(client)) == "1 message(s)"


def test_scripted_api_error_has_the_right_status(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.enqueue(Reply.error("rate_limit_error", "slow down"))
    with pytest.raises(anthropic.RateLimitError) as caught:
        ask(client)
    assert caught.value.body == {  # type: ignore[comparison-overlap]
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow down"},
        "request_id": caught.value.response.headers["request-id"],
    }


# -- usage and caching -------------------------------------------------------------------
def test_count_tokens_matches_billed_input(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    counted = client.messages.with_raw_response.count_tokens(
        model=MODEL, messages=[{"role": "user", "content": "x" * 400}], tools=[READ_FILE]
    )
    strict(MessageTokensCount, counted.json())
    message = ask(client, text="x" * 400, tools=[READ_FILE], tool_choice={"type": "none"})
    assert counted.parse().input_tokens == message.usage.input_tokens
    # ceil(len('{"text":"xxx…","type":"text"}') / 4) for the message, 40 for the tool
    assert message.usage.input_tokens == math.ceil((400 + 25) / 4) + 40
    assert message.usage.service_tier == "standard"


def _cached_call(
    client: anthropic.Anthropic, system_text: str, question: str, ttl: str = "5m"
) -> Any:
    return client.messages.create(
        model=MODEL,
        max_tokens=100,
        system=[
            {
                "type": "text",
                "text": system_text,
                "cache_control": {"type": "ephemeral", "ttl": ttl},
            }
        ],  # type: ignore[typeddict-item]
        messages=[{"role": "user", "content": question}],
    ).usage


def test_cache_write_then_read_then_expiry(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    system = "s" * 775  # 800 chars with the block's JSON: exactly 200 tokens
    first = _cached_call(client, system, "q1")
    assert (first.cache_creation_input_tokens, first.cache_read_input_tokens) == (200, 0)
    assert first.cache_creation.ephemeral_5m_input_tokens == 200
    assert first.input_tokens == 7
    second = _cached_call(client, system, "another question")
    assert (second.cache_creation_input_tokens, second.cache_read_input_tokens) == (0, 200)
    emu.clock.advance(minutes=4)
    assert _cached_call(client, system, "q3").cache_read_input_tokens == 200
    emu.clock.advance(minutes=5, seconds=1)  # the read at minute 4 refreshed the entry
    assert _cached_call(client, system, "q4").cache_read_input_tokens == 0


def test_one_hour_ttl_survives_five_minutes(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    system = "h" * 775
    first = _cached_call(client, system, "q", ttl="1h")
    assert first.cache_creation.ephemeral_1h_input_tokens == 200
    assert first.cache_creation.ephemeral_5m_input_tokens == 0
    emu.clock.advance(minutes=30)
    assert _cached_call(client, system, "q", ttl="1h").cache_read_input_tokens == 200
    emu.clock.advance(hours=1, seconds=1)
    assert _cached_call(client, system, "q", ttl="1h").cache_read_input_tokens == 0


def test_short_prefix_is_not_cached(client: anthropic.Anthropic) -> None:
    for _ in range(2):
        usage = _cached_call(client, "too short", "q")
        assert (usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (0, 0)


def test_different_model_does_not_share_the_cache(client: anthropic.Anthropic) -> None:
    _cached_call(client, "m" * 775, "q")
    other = client.messages.create(
        model="claude-haiku-5-5",
        max_tokens=10,
        system=[{"type": "text", "text": "m" * 775, "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "q"}],
    ).usage
    assert (other.cache_creation_input_tokens, other.cache_read_input_tokens) == (200, 0)


def test_automatic_caching_grows_with_the_conversation(client: anthropic.Anthropic) -> None:
    """Top-level cache_control puts the breakpoint on the last block; the next turn finds the
    previous turn's entry by looking back, and only the new blocks are written."""
    turns: list[Any] = [{"role": "user", "content": "u" * 400}]
    usages = []
    for step in range(3):
        usage = client.messages.create(
            model=MODEL, max_tokens=10, messages=turns, cache_control={"type": "ephemeral"}
        ).usage
        usages.append(usage)
        turns = [
            *turns,
            {"role": "assistant", "content": f"answer {step}"},
            {"role": "user", "content": f"follow-up {step} " + "v" * 200},
        ]
    first, second, third = usages
    assert (first.cache_read_input_tokens, first.input_tokens) == (0, 0)
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.input_tokens == 0
    assert third.cache_read_input_tokens == (
        second.cache_read_input_tokens + second.cache_creation_input_tokens
    )
    for usage in usages:
        assert usage.cache_creation_input_tokens > 0


def test_every_prompt_token_is_billed_exactly_once(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    long_tool = {**READ_FILE, "description": "d" * 268}  # 100 tokens
    tools: Any = [{**long_tool, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    system: Any = [{"type": "text", "text": "r" * 600, "cache_control": {"type": "ephemeral"}}]
    for question in ("first " * 30, "second " * 30):
        counted = client.messages.count_tokens(
            model=MODEL,
            tools=tools,
            system=system,
            messages=[{"role": "user", "content": question}],
        ).input_tokens
        usage = client.messages.create(
            model=MODEL,
            max_tokens=10,
            tools=tools,
            system=system,
            messages=[{"role": "user", "content": question}],
        ).usage
        total = (
            usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens
        )
        assert total == counted
    assert emu.requests[-1].usage is not None
    assert emu.requests[-1].usage.cache_read_input_tokens == counted - usage.input_tokens
    assert emu.requests[0].usage is not None
    first = emu.requests[0].usage
    assert first.cache_creation_1h == 100  # the tool, up to its own 1 h breakpoint
    assert first.cache_creation_5m == first.cache_creation_input_tokens - 100 > 0


# -- faults and retries ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "error_type"),
    [(429, "rate_limit_error"), (529, "overloaded_error"), (500, "api_error")],
)
def test_sdk_retries_injected_errors(emu: ClaudeEmulator, status: int, error_type: str) -> None:
    emu.inject(Fault(route=r"/v1/messages$", status=status, times=2, retry_after=0.01))
    with anthropic.Anthropic(base_url=emu.url, api_key="k", max_retries=2) as sdk:
        message = ask(sdk)
    assert message.stop_reason == "end_turn"
    attempts = [r for r in emu.log if r.path == "/v1/messages"]
    assert [r.headers["x-stainless-retry-count"] for r in attempts] == ["0", "1", "2"]
    assert len(emu.requests) == 1


def test_retries_exhausted_surface_the_api_error(emu: ClaudeEmulator) -> None:
    emu.inject(Fault(route=r"/v1/messages$", status=529, times=3, retry_after=0.01))
    with (
        anthropic.Anthropic(base_url=emu.url, api_key="k", max_retries=1) as sdk,
        pytest.raises(anthropic.OverloadedError) as caught,
    ):
        ask(sdk)
    assert caught.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    assert caught.value.response.headers["retry-after"] == "0.01"
    assert len(emu.faults) == 1  # one of the three injected faults is left


def test_hang_and_dropped_connection_are_retried(emu: ClaudeEmulator) -> None:
    emu.inject(Fault(route=r"/v1/messages$", kind="hang", seconds=0.5))
    emu.inject(Fault(route=r"/v1/messages$", kind="drop"))
    with anthropic.Anthropic(base_url=emu.url, api_key="k", max_retries=3, timeout=0.2) as sdk:
        assert ask(sdk).stop_reason == "end_turn"
    assert len([r for r in emu.log if r.path == "/v1/messages"]) == 3


def test_peak_in_flight_counts_concurrent_calls(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    everyone_in = threading.Barrier(4, timeout=10)

    def wait_for_all(body: Any) -> Reply:
        everyone_in.wait()
        return Reply.text("done")

    emu.responder = wait_for_all
    threads = [threading.Thread(target=ask, args=(client,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert emu.peak_in_flight == 4
    assert len(emu.requests) == 4


# -- batches -------------------------------------------------------------------------------
def batch_request(custom_id: str, text: str = "hello", **params: Any) -> Any:
    return {
        "custom_id": custom_id,
        "params": {
            "model": MODEL,
            "max_tokens": 100,
            "messages": [{"role": "user", "content": text}],
            **params,
        },
    }


def retrieve_strict(client: anthropic.Anthropic, batch_id: str) -> MessageBatch:
    raw = client.messages.batches.with_raw_response.retrieve(batch_id)
    return strict(MessageBatch, raw.json())  # type: ignore[no-any-return]


def results_of(
    emu: ClaudeEmulator, client: anthropic.Anthropic, batch_id: str
) -> list[MessageBatchIndividualResponse]:
    """The results through the SDK, after checking every raw JSONL line strictly."""
    batch = client.messages.batches.retrieve(batch_id)
    assert batch.results_url == f"{emu.url}/v1/messages/batches/{batch_id}/results"
    headers = {"x-api-key": "k", "anthropic-version": "2026-10-21"}
    request = urllib.request.Request(batch.results_url, headers=headers)
    with urllib.request.urlopen(request) as response:
        lines = response.read().decode().splitlines()
    for line in lines:
        strict(MessageBatchIndividualResponse, json.loads(line))
    results = list(client.messages.batches.results(batch_id))
    assert [r.custom_id for r in results] == [json.loads(line)["custom_id"] for line in lines]
    return results


def test_batch_ends_after_n_polls_with_shuffled_results(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.batch_policy = BatchPolicy.after_polls(3)
    ids = [f"req-{n:02d}" for n in range(20)]
    for custom_id in ids:
        emu.enqueue(
            Reply.text(f"answer for {custom_id}"),
            when=lambda body, c=custom_id: body["messages"][0]["content"] == f"file {c}",
        )
    raw = client.messages.batches.with_raw_response.create(
        requests=[batch_request(c, f"file {c}") for c in reversed(ids)]
    )
    created = strict(MessageBatch, raw.json())
    assert created.processing_status == "in_progress"
    assert created.request_counts.processing == 20
    assert created.results_url is None
    assert (created.expires_at - created.created_at).total_seconds() == 24 * 3600
    statuses = [retrieve_strict(client, created.id).processing_status for _ in range(3)]
    assert statuses == ["in_progress", "in_progress", "ended"]
    ended = retrieve_strict(client, created.id)
    assert ended.request_counts.succeeded == 20
    assert ended.request_counts.processing == 0
    assert ended.ended_at is not None
    results = results_of(emu, client, created.id)
    order = [r.custom_id for r in results]
    assert sorted(order) == ids
    assert order not in (ids, list(reversed(ids)))
    for result in results:
        assert result.result.type == "succeeded"
        message = result.result.message
        assert text_of(message) == f"answer for {result.custom_id}"
        assert message.usage.service_tier == "batch"
    assert order == [r.custom_id for r in results_of(emu, client, created.id)]


def test_batch_results_of_every_kind(emu: ClaudeEmulator, client: anthropic.Anthropic) -> None:
    emu.batch_policy = BatchPolicy.until_expired()
    emu.set_outcome("ok", "succeeded")
    emu.set_outcome("busy", "errored", error_type="overloaded_error")
    emu.set_outcome("bad", "errored", error_type="invalid_request_error")
    emu.set_outcome("gone", "canceled")
    batch = client.messages.batches.create(
        requests=[
            batch_request("ok"),
            batch_request("busy"),
            batch_request("bad"),
            batch_request("gone"),
            batch_request("late"),
            batch_request("sampled", temperature=0.5),
        ]
    )
    emu.clock.advance(hours=23)
    assert client.messages.batches.retrieve(batch.id).processing_status == "in_progress"
    emu.clock.advance(hours=1)
    ended = retrieve_strict(client, batch.id)
    assert ended.processing_status == "ended"
    counts = ended.request_counts
    assert (counts.succeeded, counts.errored, counts.canceled, counts.expired) == (1, 2, 1, 2)
    kinds = {r.custom_id: r.result for r in results_of(emu, client, batch.id)}
    assert kinds["ok"].type == "succeeded"
    assert kinds["busy"].type == "errored"
    assert kinds["busy"].error.error.type == "overloaded_error"
    assert kinds["bad"].error.error.type == "invalid_request_error"  # type: ignore[union-attr]
    assert kinds["gone"].type == "canceled"
    assert kinds["late"].type == "expired"
    assert kinds["sampled"].type == "expired"


def test_invalid_params_come_back_errored(emu: ClaudeEmulator, client: anthropic.Anthropic) -> None:
    batch = client.messages.batches.create(
        requests=[batch_request("fine"), batch_request("sampled", temperature=0.5)]
    )
    kinds = {r.custom_id: r.result for r in results_of(emu, client, batch.id)}
    assert kinds["fine"].type == "succeeded"
    assert kinds["sampled"].type == "errored"
    assert "temperature" in kinds["sampled"].error.error.message  # type: ignore[union-attr]
    assert retrieve_strict(client, batch.id).request_counts.errored == 1


def test_cancel_then_ended_with_unfinished_canceled(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.batch_policy = BatchPolicy.until_expired()
    emu.set_outcome("done-early", "succeeded")
    batch = client.messages.batches.create(
        requests=[batch_request("done-early"), batch_request("a"), batch_request("b")]
    )
    with pytest.raises(anthropic.BadRequestError, match="cancel"):
        client.messages.batches.delete(batch.id)
    raw = client.messages.batches.with_raw_response.cancel(batch.id)
    canceling = strict(MessageBatch, raw.json())
    assert canceling.processing_status == "canceling"
    assert canceling.cancel_initiated_at == emu.clock.now()
    ended = retrieve_strict(client, batch.id)
    assert ended.processing_status == "ended"
    assert (ended.request_counts.canceled, ended.request_counts.succeeded) == (2, 1)
    deleted = client.messages.batches.with_raw_response.delete(batch.id)
    assert strict(DeletedMessageBatch, deleted.json()).id == batch.id
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve(batch.id)


def test_end_batch_processes_at_once(emu: ClaudeEmulator, client: anthropic.Anthropic) -> None:
    emu.batch_policy = BatchPolicy.until_expired()
    batch = client.messages.batches.create(requests=[batch_request("x")])
    emu.end_batch(batch.id)
    assert retrieve_strict(client, batch.id).request_counts.succeeded == 1


def test_batch_ending_after_a_duration(emu: ClaudeEmulator, client: anthropic.Anthropic) -> None:
    emu.batch_policy = BatchPolicy.after(hours=2)
    batch = client.messages.batches.create(requests=[batch_request("x")])
    emu.clock.advance(hours=1, minutes=59)
    assert client.messages.batches.retrieve(batch.id).processing_status == "in_progress"
    emu.clock.advance(minutes=1)
    assert client.messages.batches.retrieve(batch.id).processing_status == "ended"


def test_list_pages_newest_first(emu: ClaudeEmulator, client: anthropic.Anthropic) -> None:
    made = [client.messages.batches.create(requests=[batch_request("x")]).id for _ in range(5)]
    newest_first = list(reversed(made))
    first = client.messages.batches.list(limit=2)
    assert [b.id for b in first.data] == newest_first[:2]
    assert (first.has_more, first.first_id, first.last_id) == (True, made[4], made[3])
    assert [b.id for b in client.messages.batches.list(limit=2)] == newest_first
    after = client.messages.batches.list(limit=2, after_id=made[3])
    assert [b.id for b in after.data] == newest_first[2:4]
    before = client.messages.batches.list(limit=2, before_id=made[1])
    assert [b.id for b in before.data] == newest_first[1:3]
    last = client.messages.batches.list(limit=10, after_id=made[1])
    assert ([b.id for b in last.data], last.has_more) == ([made[0]], False)


@pytest.mark.parametrize(
    ("requests", "named"),
    [
        ([batch_request("has space")], "has space"),
        ([batch_request("x" * 65)], "x" * 65),
        ([batch_request("same"), batch_request("same")], "not unique"),
    ],
)
def test_bad_custom_ids_are_refused(
    client: anthropic.Anthropic, requests: list[Any], named: str
) -> None:
    with pytest.raises(anthropic.BadRequestError, match=named):
        client.messages.batches.create(requests=requests)


def test_batch_limits_answer_413(emu: ClaudeEmulator, client: anthropic.Anthropic) -> None:
    too_many = [{"custom_id": f"r{n}", "params": {}} for n in range(100_001)]
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.batches.create(requests=too_many)
    assert caught.value.status_code == 413
    assert caught.value.body["error"]["type"] == "request_too_large"  # type: ignore[index]
    emu.max_batch_bytes = 2000
    with pytest.raises(anthropic.APIStatusError, match="bytes") as caught:
        client.messages.batches.create(requests=[batch_request("big", "b" * 2000)])
    assert caught.value.status_code == 413
    emu.max_batch_bytes = 256 * 1024 * 1024


def test_results_before_the_end_are_unavailable(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.batch_policy = BatchPolicy.until_expired()
    batch = client.messages.batches.create(requests=[batch_request("x")])
    with pytest.raises(anthropic.AnthropicError, match="results_url"):
        list(client.messages.batches.results(batch.id))


# -- ci-reviewer emulate ---------------------------------------------------------------------
def test_emulate_command_serves_both_apis_until_interrupted(tmp_path: Path) -> None:
    import github

    process = subprocess.Popen(
        [sys.executable, "-m", "ci_reviewer", "--workdir", str(tmp_path), "emulate"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        exported = dict(
            process.stdout.readline().removeprefix("export ").strip().split("=", 1)
            for _ in range(5)
        )
        with anthropic.Anthropic(
            base_url=exported["ANTHROPIC_BASE_URL"], api_key=exported["ANTHROPIC_API_KEY"]
        ) as claude:
            reply = claude.messages.create(
                model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "hi"}]
            )
        assert text_of(reply) == DEFAULT_TEXT
        auth = github.Auth.Token(exported["GITHUB_TOKEN"])
        with github.Github(base_url=exported["GITHUB_API_URL"], auth=auth) as hub:
            pull = hub.get_repo(exported["GITHUB_REPOSITORY"]).get_pull(1)
            assert [f.filename for f in pull.get_files()] == ["src/stats.py"]
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "pull request #1 is open" in stderr
