"""Each budget stops the run where it should: turns, tool calls, bytes, dollars."""

from __future__ import annotations

from pathlib import Path

import anthropic
import pytest

from ci_reviewer.config import ReviewConfig
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from tests.review.conftest import CALC_BASE, CALC_HEAD, RepoFactory, answer, review

READ_APP = ("read_file", {"path": "src/app.py"})


@pytest.fixture
def repo(make_repo: RepoFactory) -> Path:
    return make_repo(CALC_BASE, CALC_HEAD)


def test_max_turns_makes_the_last_turn_a_finishing_one(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu.responder = lambda body: (
        Reply.json(answer()) if body.get("tool_choice") else Reply.tool_use([READ_APP])
    )

    result = review(client, repo, ReviewConfig(max_turns=3))

    assert len(emu.requests) == 3
    last = emu.requests[-1].body
    assert last["tool_choice"] == {"type": "none"}
    assert "budget (max_turns)" in last["messages"][-1]["content"][-1]["text"]
    assert result.files[0].status == "reviewed"
    assert result.budgets_exhausted == ("max_turns",)


def test_a_model_that_ignores_the_finish_request_is_not_reviewed(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu.responder = lambda body: Reply.tool_use([READ_APP])

    result = review(client, repo, ReviewConfig(max_turns=2))

    assert len(emu.requests) == 2
    assert result.files[0].status == "not-reviewed"
    assert "max_turns" in (result.files[0].reason or "")


def test_max_turns_option_overrides_the_config(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu.responder = lambda body: Reply.tool_use([READ_APP])

    review(client, repo, ReviewConfig(max_turns=8), max_turns=1)

    assert len(emu.requests) == 1


def test_tool_call_budget_refuses_calls_beyond_it_then_finishes(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu.enqueue(Reply.tool_use([READ_APP, READ_APP, READ_APP]))
    emu.enqueue(Reply.json(answer()))

    result = review(client, repo, ReviewConfig(max_tool_calls=2))

    results = emu.requests[1].body["messages"][-1]["content"]
    tool_results = [block for block in results if block["type"] == "tool_result"]
    assert [bool(block.get("is_error")) for block in tool_results] == [False, False, True]
    assert "max_tool_calls" in tool_results[2]["content"]
    assert emu.requests[1].body["tool_choice"] == {"type": "none"}
    assert result.files[0].tool_calls == 2
    assert result.budgets_exhausted == ("max_tool_calls",)


def test_byte_budget_withholds_content_beyond_it(
    emu: ClaudeEmulator, client: anthropic.Anthropic, make_repo: RepoFactory
) -> None:
    big = "".join(f"line_{n} = {n}\n" for n in range(400))
    repo = make_repo({"big.py": big}, {"small.py": "x = 1\n"})
    emu.enqueue(Reply.tool_use([("read_file", {"path": "big.py"})]))
    emu.enqueue(Reply.json(answer()))

    result = review(client, repo, ReviewConfig(max_bytes_fetched=1000))

    block = emu.requests[1].body["messages"][-1]["content"][0]
    assert block["is_error"] is True
    assert "line_399" not in str(emu.requests[1].body)
    assert emu.requests[1].body["tool_choice"] == {"type": "none"}
    assert result.budgets_exhausted == ("max_bytes_fetched",)


def test_cost_budget_asks_every_conversation_for_its_answer(
    emu: ClaudeEmulator, client: anthropic.Anthropic, make_repo: RepoFactory
) -> None:
    repo = make_repo({}, {f"f{n}.py": f"x{n} = {n}\n" for n in range(3)})
    emu.responder = lambda body: (
        Reply.json(answer()) if body.get("tool_choice") else Reply.tool_use([READ_APP])
    )

    result = review(client, repo, ReviewConfig(max_cost_usd=0.000001, concurrency=1))

    assert {f.budget_exhausted for f in result.files} == {"max_cost_usd"}
    # The first file spent the budget with one call and was asked to finish on the next;
    # the others were never started.
    assert len(emu.requests) == 2
    assert emu.requests[1].body["tool_choice"] == {"type": "none"}
    statuses = sorted(f.status for f in result.files)
    assert statuses == ["not-reviewed", "not-reviewed", "reviewed"]
    assert result.cost_usd is not None and result.cost_usd > 0


def test_unknown_model_means_unknown_cost_with_a_warning(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu.serve_model("claude-future-9")  # released after the product's model table
    result = review(client, repo, ReviewConfig(max_cost_usd=1.0), model="claude-future-9")

    assert result.cost_usd is None
    assert any("cost unknown" in w and "cannot be enforced" in w for w in result.warnings)
    assert result.files[0].status == "reviewed"
