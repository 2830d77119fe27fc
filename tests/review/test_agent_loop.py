"""The per-file tool loop against the Claude emulator and the real SDK: the tool round trip,
parallel tool calls, every stop_reason, repair turns and structured output."""

from __future__ import annotations

import json
from pathlib import Path

import anthropic
import pytest

from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from tests.review.conftest import (
    CALC_BASE,
    CALC_HEAD,
    RepoFactory,
    answer,
    finding_json,
    review,
    turn,
)


@pytest.fixture
def repo(make_repo: RepoFactory) -> Path:
    return make_repo(CALC_BASE, CALC_HEAD)


def test_tool_round_trip_brings_the_fetched_file_to_the_model(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu.enqueue(Reply.tool_use([("read_file", {"path": "src/app.py"})]))
    emu.enqueue(Reply.json(answer({"line": 2})))

    result = review(client, repo)

    second = emu.requests[1].body["messages"]
    results = second[-1]["content"]
    assert results[0]["type"] == "tool_result"
    calls = [block for block in second[-2]["content"] if block["type"] == "tool_use"]
    assert results[0]["tool_use_id"] == calls[0]["id"]
    assert "import calc" in results[0]["content"]
    assert not results[0].get("is_error")
    assert [f.title for f in result.findings] == ["add subtracts"]
    assert result.findings[0].line_text == "    return a - b"
    assert result.blocking


def test_all_tool_calls_of_a_turn_are_answered_in_one_message_in_order(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu.enqueue(
        Reply.tool_use(
            [
                ("read_file", {"path": "src/app.py"}),
                ("read_base_file", {"path": "src/calc.py"}),
                ("list_directory", {"path": "src"}),
                ("search_code", {"query": "def mul"}),
            ]
        )
    )
    emu.enqueue(Reply.json(answer()))

    result = review(client, repo)

    messages = emu.requests[1].body["messages"]
    ids = [block["id"] for block in messages[-2]["content"] if block["type"] == "tool_use"]
    results = messages[-1]["content"]
    assert [block["tool_use_id"] for block in results] == ids
    assert "return a + b" in results[1]["content"]  # the base version, before the change
    assert "calc.py" in results[2]["content"]
    assert "src/calc.py:5:" in results[3]["content"]
    assert result.files[0].tool_calls == 4
    assert len(emu.requests) == 2


def test_findings_are_requested_as_structured_output_with_tools_on_every_turn(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu.enqueue(Reply.tool_use([("read_file", {"path": "src/app.py"})]))
    emu.enqueue(Reply.json(answer()))

    review(client, repo)

    for call in emu.requests:
        body = call.body
        assert body["output_config"]["format"]["type"] == "json_schema"
        assert "findings" in body["output_config"]["format"]["schema"]["properties"]
        assert {tool["name"] for tool in body["tools"]} >= {"read_file", "search_code"}
        assert "tool_choice" not in body  # never forced
        assert "temperature" not in body


def test_unscripted_emulator_answer_is_a_valid_empty_review(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    result = review(client, repo)

    assert result.files[0].status == "reviewed"
    assert result.findings == ()
    assert not result.blocking


def test_pause_turn_is_sent_back_to_continue(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu.enqueue(Reply.stop("pause_turn", text="Still looking"))
    emu.enqueue(Reply.json(answer()))

    result = review(client, repo)

    continued = emu.requests[1].body["messages"]
    paused = emu.requests[0].response
    assert paused is not None
    assert [block["type"] for block in paused["content"]] == ["thinking", "text"]
    assert continued[-1] == {"role": "assistant", "content": paused["content"]}
    assert result.files[0].status == "reviewed"
    assert result.files[0].stop_reasons == ("pause_turn", "end_turn")


def test_refusal_is_recorded_and_other_files_still_reviewed(
    emu: ClaudeEmulator, client: anthropic.Anthropic, make_repo: RepoFactory
) -> None:
    repo = make_repo({}, {"a.py": "x = 1\n", "b.py": "y = 2\n"})
    emu.enqueue(Reply.stop("refusal", category="cyber"), when=lambda b: "Review a.py" in str(b))
    emu.enqueue(
        Reply.json(answer({"path": "b.py", "line": 1, "excerpt": "y = 2"})),
        when=lambda b: "Review b.py" in str(b),
    )

    result = review(client, repo)

    by_path = {f.path: f for f in result.files}
    assert by_path["a.py"].status == "refused"
    assert "cyber" in (by_path["a.py"].reason or "")
    assert by_path["b.py"].status == "reviewed"
    assert [f.path for f in result.findings] == ["b.py"]


def test_stop_sequence_is_read_like_end_turn(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu.enqueue(Reply(said=json.dumps(answer({"line": 2})), stop_reason="stop_sequence"))

    result = review(client, repo)

    assert result.files[0].status == "reviewed"
    assert len(result.findings) == 1


def test_max_tokens_gets_one_shorter_retry(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu.enqueue(Reply.stop("max_tokens", text='{"summary": "long'))
    emu.enqueue(Reply.json(answer({"line": 2})))

    result = review(client, repo)

    retry = emu.requests[1].body["messages"]
    assert len(retry) == 1  # the cut turn is dropped, the request asks again
    assert "cut off" in retry[-1]["content"][-1]["text"]
    assert result.files[0].status == "reviewed"
    assert len(result.findings) == 1


def test_max_tokens_twice_keeps_the_complete_findings(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    whole = json.dumps(finding_json(line=2, title="first"))
    cut = '{"summary": "s", "findings": [' + whole + ', {"path": "src/calc.py", "li'
    emu.enqueue(Reply.stop("max_tokens", text=cut))
    emu.enqueue(Reply.stop("max_tokens", text=cut))

    result = review(client, repo)

    assert [f.title for f in result.findings] == ["first"]
    assert "max_tokens" in (result.files[0].reason or "")


def test_context_window_exceeded_finishes_with_what_is_known(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    whole = json.dumps(finding_json(line=5, title="kept"))
    emu.enqueue(Reply.stop("model_context_window_exceeded", text=f'{{"findings": [{whole}, {{"pa'))

    result = review(client, repo)

    assert [f.title for f in result.findings] == ["kept"]
    assert len(emu.requests) == 1
    assert "context window" in (result.files[0].reason or "")


def test_context_window_exceeded_with_nothing_valid_is_not_reviewed(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu.enqueue(Reply.stop("model_context_window_exceeded", text="I was reading"))

    result = review(client, repo)

    assert result.files[0].status == "not-reviewed"


def test_invalid_answer_gets_one_repair_turn(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu.enqueue(Reply.text("Looks fine to me!"))
    emu.enqueue(Reply.json(answer({"line": 2, "severity": "LOW"})))

    result = review(client, repo)

    repair = emu.requests[1].body["messages"]
    assert repair[-2]["role"] == "assistant"
    assert "could not be used" in repair[-1]["content"][-1]["text"]
    assert result.files[0].status == "reviewed"
    assert result.findings[0].severity == "low"


def test_invalid_answer_twice_means_not_reviewed_never_a_crash(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu.enqueue(Reply.text("Looks fine to me!"))
    emu.enqueue(Reply.json({"summary": "x", "findings": [{"line": 0, "severity": "urgent"}]}))

    result = review(client, repo)

    assert result.files[0].status == "not-reviewed"
    assert "invalid answer" in (result.files[0].reason or "")
    assert len(emu.requests) == 2


def test_api_error_after_retries_is_reported_not_raised(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu.enqueue(Reply.error("overloaded_error", "busy"))

    result = review(client, repo)

    assert result.api_error is not None
    assert "529" in result.api_error
    assert result.files[0].status == "not-reviewed"


@pytest.mark.parametrize("first_turn_calls", [1, 3])
def test_turn_numbering_matches_calls(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path, first_turn_calls: int
) -> None:
    calls = [("read_file", {"path": "src/app.py"})] * first_turn_calls
    emu.enqueue(Reply.tool_use(calls), when=turn(1))
    emu.enqueue(Reply.json(answer()), when=turn(2))

    result = review(client, repo)

    assert result.files[0].turns == 2
    assert result.files[0].tool_calls == first_turn_calls
