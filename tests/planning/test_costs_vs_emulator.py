"""Estimates made before sending, against what the Claude emulator bills once sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from ci_reviewer.estimate import ApiCounter, ApproximateCounter, TokenCounter
from ci_reviewer.planning.costs import price_run, shape_of_requests
from ci_reviewer.pricing import Usage
from tests.list_prices import sonnet_5_5_dollars

MODEL = "claude-sonnet-5-5"
INSTRUCTIONS = (
    "You write focused pytest tests for the module below. Cover edge cases, error paths and "
    "documented behaviour; do not test private helpers; keep each test small. "
) * 60
ANSWER = "def test_it():\n    assert parse('a') == ['a']\n" * 120


def _source(index: int) -> str:
    body = "".join(
        f"def handler_{index}_{n}(value: int) -> int:\n    return value * {n} + {index}\n\n"
        for n in range(20 + index * 7)
    )
    return f"# module {index}\n{body}"


def _requests(count: int) -> list[dict[str, Any]]:
    system = [{"type": "text", "text": INSTRUCTIONS, "cache_control": {"type": "ephemeral"}}]
    return [
        {
            "model": MODEL,
            "max_tokens": 4000,
            "system": system,
            "messages": [{"role": "user", "content": f"src/mod_{i}.py:\n\n{_source(i)}"}],
        }
        for i in range(count)
    ]


@pytest.fixture(scope="module")
def server() -> Iterator[ClaudeEmulator]:
    emulator = ClaudeEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def client(server: ClaudeEmulator) -> Iterator[tuple[ClaudeEmulator, anthropic.Anthropic]]:
    server.reset()
    with anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0) as sdk:
        yield server, sdk


def _billed(sdk: anthropic.Anthropic, requests: list[dict[str, Any]]) -> Usage:
    total = Usage()
    for params in requests:
        total = total + Usage.from_api(sdk.messages.create(**params).usage)
    return total


@pytest.mark.parametrize("counter_kind", ["count_tokens endpoint", "chars/4 approximation"])
def test_estimate_is_within_10_percent_of_billed_cost(
    client: tuple[ClaudeEmulator, anthropic.Anthropic], counter_kind: str
) -> None:
    emulator, sdk = client
    requests = _requests(12)
    counter: TokenCounter = (
        ApiCounter(sdk) if counter_kind == "count_tokens endpoint" else ApproximateCounter()
    )
    expected_output = len(ANSWER) // 4
    estimate = price_run(
        shape_of_requests(requests, counter, expected_output_tokens=expected_output), MODEL
    )
    for _ in requests:
        emulator.enqueue(Reply.text(ANSWER))

    billed = _billed(sdk, requests)

    assert billed.cache_read_input_tokens > 0, "the shared prefix should be read from cache"
    billed_usd = sonnet_5_5_dollars(billed)
    assert estimate.sync_usd is not None
    assert abs(estimate.sync_usd - billed_usd) / billed_usd < 0.10
    assert estimate.batch_usd is not None
    assert estimate.batch_usd < estimate.sync_usd * 0.55


def test_without_a_cache_breakpoint_everything_is_plain_input(
    client: tuple[ClaudeEmulator, anthropic.Anthropic],
) -> None:
    emulator, sdk = client
    requests = _requests(4)
    for params in requests:
        params["system"] = INSTRUCTIONS
        emulator.enqueue(Reply.text("ok"))
    shape = shape_of_requests(requests, ApiCounter(sdk), expected_output_tokens=1)

    billed = _billed(sdk, requests)

    assert billed.cache_read_input_tokens == 0
    assert shape.usage(one_hour_cache=False).cache_read_input_tokens == 0
    assert abs(shape.input_tokens - billed.input_tokens) / billed.input_tokens < 0.10
