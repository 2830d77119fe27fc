"""The cached prefix: system + tools + PR overview written once and read by every file's
conversation; each turn reads the previous turn's whole prompt; never more than 4
breakpoints; usage and dollars reported per run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anthropic
import pytest

from ci_reviewer.config import ReviewConfig
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from ci_reviewer.emulators.claude_usage import input_tokens
from ci_reviewer.pricing import Usage
from tests.list_prices import sonnet_5_5_dollars
from tests.review.conftest import MODEL, RepoFactory, answer, file_of, review, turn


def _breakpoints(body: Mapping[str, Any]) -> int:
    blocks = list(body.get("tools") or []) + list(body.get("system") or [])
    for message in body["messages"]:
        blocks += message["content"]
    return sum("cache_control" in block for block in blocks)


def _shared_prefix_tokens(body: Mapping[str, Any]) -> int:
    first = body["messages"][0]["content"][0]
    prefix = {**body, "messages": [{"role": "user", "content": [first]}]}
    return input_tokens(prefix)


@pytest.fixture
def repo(make_repo: RepoFactory) -> Path:
    files = {f"src/m{n}.py": "".join(f"value_{n}_{k} = {k}\n" for k in range(40)) for n in range(3)}
    return make_repo({"src/util.py": "def helper():\n    return 1\n" * 30}, files)


def test_prefix_written_once_then_read_and_each_turn_reads_the_last(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu.enqueue(Reply.tool_use([("read_file", {"path": "src/util.py"})]), when=turn(1))
    emu.enqueue(Reply.tool_use([("read_file", {"path": "src/util.py"})]), when=turn(1))
    emu.enqueue(Reply.tool_use([("read_file", {"path": "src/util.py"})]), when=turn(1))
    emu.responder = lambda body: Reply.json(answer())

    result = review(client, repo, ReviewConfig(concurrency=3))

    calls = emu.requests
    assert len(calls) == 6
    assert all(_breakpoints(call.body) <= 4 for call in calls)
    firsts = [c for c in calls if len(c.body["messages"]) == 1]
    seconds = {file_of(c.body): c for c in calls if len(c.body["messages"]) == 3}
    prefix = _shared_prefix_tokens(firsts[0].body)
    # The first call writes it all; the other files' first calls read the shared prefix.
    assert firsts[0].usage is not None and firsts[0].usage.cache_read_input_tokens == 0
    for call in firsts[1:]:
        assert call.usage is not None
        assert call.usage.cache_read_input_tokens == prefix
    # Each second turn reads the whole first-turn prompt of its own conversation.
    for first in firsts:
        second = seconds[file_of(first.body)]
        assert second.usage is not None
        assert second.usage.cache_read_input_tokens == input_tokens(first.body)
        assert second.usage.input_tokens == 0
    assert result.usage.calls == 6


def test_run_usage_and_dollars_match_what_the_api_billed(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    result = review(client, repo)

    billed = Usage()
    for call in emu.requests:
        assert call.usage is not None
        billed = billed + Usage(
            call.usage.input_tokens,
            call.usage.output_tokens,
            call.usage.cache_creation_input_tokens,
            call.usage.cache_read_input_tokens,
        )
    assert result.usage.usage == billed
    assert MODEL == "claude-sonnet-5-5"
    assert result.cost_usd == pytest.approx(sonnet_5_5_dollars(billed))
    assert result.to_json()["usage"]["cache_read_input_tokens"] == billed.cache_read_input_tokens
