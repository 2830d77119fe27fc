"""`/_emulator/clock` on the Claude emulator: how someone trying `ci-reviewer emulate` ends a
batch from a shell. A batch that takes an hour is in progress until the clock has moved an
hour, then ended with every request answered, as the real SDK sees it; a clock moved a day
at once still ends it at its hour (not expired); nonsense amounts are refused with a 400."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import anthropic
import pytest

from ci_reviewer.emulators.claude import BatchPolicy, ClaudeEmulator, EmulatedClock

START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
REQUEST = {
    "custom_id": "one",
    "params": {
        "model": "claude-haiku-4-5",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hello"}],
    },
}


@pytest.fixture
def emu() -> Iterator[ClaudeEmulator]:
    with ClaudeEmulator(clock=EmulatedClock(START)) as emulator:
        emulator.batch_policy = BatchPolicy.after(hours=1)
        yield emulator


@pytest.fixture
def client(emu: ClaudeEmulator) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=emu.url, api_key="test-key", max_retries=0) as sdk:
        yield sdk


def move(emu: ClaudeEmulator, query: str) -> tuple[int, Any]:
    """POST the clock route as curl would: no key, no body."""
    request = urllib.request.Request(f"{emu.url}/_emulator/clock?{query}", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as refused:
        with refused:
            return refused.code, json.load(refused)


def test_a_batch_ends_when_the_clock_has_moved_its_hour(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    batch = client.messages.batches.create(requests=[REQUEST])  # type: ignore[list-item]
    status, body = move(emu, "minutes=59")
    assert status == 200
    assert body["now"] == "2026-03-01T12:59:00Z"
    assert body["batches"] == [
        {
            "id": batch.id,
            "processing_status": "in_progress",
            "request_counts": {
                "processing": 1,
                "succeeded": 0,
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            },
        }
    ]
    assert client.messages.batches.retrieve(batch.id).processing_status == "in_progress"
    status, body = move(emu, "minutes=1")
    assert body["batches"][0]["processing_status"] == "ended"
    ended = client.messages.batches.retrieve(batch.id)
    assert ended.request_counts.succeeded == 1
    [result] = list(client.messages.batches.results(batch.id))
    assert result.result.type == "succeeded"


def test_a_day_at_once_ends_the_batch_at_its_hour_not_expired(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    batch = client.messages.batches.create(requests=[REQUEST])  # type: ignore[list-item]
    move(emu, "hours=30")
    ended = client.messages.batches.retrieve(batch.id)
    assert (ended.request_counts.succeeded, ended.request_counts.expired) == (1, 0)
    assert ended.ended_at == START + timedelta(hours=1)


@pytest.mark.parametrize("query", ["", "hours=-1", "hours=soon", "minutes=nan", "hours=0"])
def test_the_clock_refuses_what_is_not_a_move_forward(emu: ClaudeEmulator, query: str) -> None:
    status, body = move(emu, query)
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"
    assert emu.clock.now() == START


def test_other_paths_under_the_prefix_are_not_found(emu: ClaudeEmulator) -> None:
    request = urllib.request.Request(f"{emu.url}/_emulator/batches", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    with refused.value:
        assert refused.value.code == 404
