"""The review loop with a thinking model (claude-sonnet-5-5 thinks by default), real SDK to the
Claude emulator: thinking between tool calls and a redacted block go back unchanged, and a
turn whose thinking used all of max_tokens is reported as such."""

from __future__ import annotations

import json
from pathlib import Path

import anthropic
import pytest

from ci_reviewer.config import ReviewConfig
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply, Thought
from tests.review.conftest import CALC_BASE, CALC_HEAD, RepoFactory, answer, review


@pytest.fixture
def repo(make_repo: RepoFactory) -> Path:
    return make_repo(CALC_BASE, CALC_HEAD)


@pytest.fixture
def shown(emu: ClaudeEmulator) -> ClaudeEmulator:
    """Thoughts shown in full (as `thinking.display: summarized` shows them), so the text of
    every thinking block is there to be compared, not only its signature (`reset` undoes it)."""
    emu.thinking_display = "summarized"
    return emu


def script_three_turns(emu: ClaudeEmulator) -> None:
    emu.enqueue(
        Reply.tool_use([("read_file", {"path": "src/app.py"})]).thinking(
            "The diff flips add; who calls it? Read app.py."
        )
    )
    emu.enqueue(
        Reply.tool_use(
            [("read_base_file", {"path": "src/calc.py"}), ("search_code", {"query": "mul("})],
            text="Two more looks.",
        ).thinking(Thought("flagged reasoning", redacted=True), "Between the two calls.")
    )
    emu.enqueue(Reply.json(answer({"line": 2})).thinking("add now subtracts: high."))


def test_every_assistant_turn_goes_back_with_its_thinking_byte_for_byte(
    shown: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu = shown
    script_three_turns(emu)

    result = review(client, repo)

    assert result.files[0].status == "reviewed"
    assert result.files[0].stop_reasons == ("tool_use", "tool_use", "end_turn")
    assert [f.title for f in result.findings] == ["add subtracts"]
    calls = emu.requests
    assert [call.status for call in calls] == [200, 200, 200]
    raw_bodies = [r.body for r in emu.log if r.path == "/v1/messages"]
    for turn, call in enumerate(calls[:-1]):
        assert call.response is not None
        produced = call.response["content"]
        for later in calls[turn + 1 :]:
            assert later.body["messages"][2 * turn + 1] == {
                "role": "assistant",
                "content": produced,
            }
        for block in produced:
            for field in ("thinking", "signature", "data"):
                if block["type"] in ("thinking", "redacted_thinking") and field in block:
                    encoded = json.dumps(block[field]).encode()
                    assert all(encoded in raw for raw in raw_bodies[turn + 1 :])
    final = calls[-1].body["messages"]
    kinds = [[b["type"] for b in m["content"]] for m in final if m["role"] == "assistant"]
    assert kinds == [
        ["thinking", "tool_use"],
        ["redacted_thinking", "text", "tool_use", "thinking", "tool_use"],
    ]
    thoughts = [b["thinking"] for m in final for b in m["content"] if b["type"] == "thinking"]
    assert thoughts == ["The diff flips add; who calls it? Read app.py.", "Between the two calls."]


def test_with_the_model_default_display_the_signatures_go_back(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    script_three_turns(emu)

    result = review(client, repo)

    assert result.files[0].status == "reviewed"
    final = emu.requests[-1].body["messages"]
    thinking = [b for m in final for b in m["content"] if b["type"] == "thinking"]
    assert [b["thinking"] for b in thinking] == ["", ""]  # Sonnet 5.5 shows none by default
    first, second = (call.response for call in emu.requests[:2])
    assert first is not None and second is not None
    assert thinking[0]["signature"] == first["content"][0]["signature"]
    assert thinking[1]["signature"] == second["content"][3]["signature"]


def test_a_turn_whose_thinking_used_all_of_max_tokens_is_reported_as_such(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    # 2,000 characters of thinking: 500 tokens, past a 256-token max_tokens.
    emu.enqueue(Reply.json(answer()).thinking("t" * 2000))

    result = review(client, repo, ReviewConfig(max_tokens=256))

    [file] = result.files
    assert file.status == "not-reviewed"
    assert file.stop_reasons == ("max_tokens",)
    assert file.reason == (
        "the model's thinking used all 256 output tokens (max_tokens) before it wrote an "
        "answer; raise review.max_tokens"
    )
    assert len(emu.requests) == 1  # not asked again: it would think through max_tokens again
    assert result.usage.usage.output_tokens == 256
