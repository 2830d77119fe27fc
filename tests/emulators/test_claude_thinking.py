"""Adaptive thinking in the Claude emulator, driven through the real anthropic SDK: the blocks
a thinking model's replies carry, what they bill, and what the API refuses about thinking
blocks sent back (each refusal in the API's own words, quoted in `claude_thinking`)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import anthropic
import pytest
from anthropic.types import Message

from ci_reviewer.emulators.claude import ClaudeEmulator, EmulatedClock, Reply, Thought
from ci_reviewer.emulators.claude_replies import DEFAULT_TEXT
from tests.emulators.test_claude_emulator import READ_FILE, results_of, strict

MODEL = "claude-sonnet-5-5"
QUESTION = "Review src/app.py"
# Hand-computed from the documented rule (ceil(chars / 4)): the default thought "Thinking
# about the request before answering." is 44 characters, the default text 73.
DEFAULT_THOUGHT_TOKENS = 11
DEFAULT_TEXT_TOKENS = 19


@pytest.fixture(scope="module")
def server() -> Iterator[ClaudeEmulator]:
    emulator = ClaudeEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def emu(server: ClaudeEmulator) -> ClaudeEmulator:
    server.reset(EmulatedClock(datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)))
    return server


@pytest.fixture
def client(emu: ClaudeEmulator) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=emu.url, api_key="test-key", max_retries=0) as sdk:
        yield sdk


def create(client: anthropic.Anthropic, messages: list[Any], **options: Any) -> Message:
    options.setdefault("model", MODEL)
    options.setdefault("max_tokens", 1000)
    raw = client.messages.with_raw_response.create(messages=messages, **options)
    strict(Message, raw.json())
    return raw.parse()


def sent_back(message: Message) -> dict[str, Any]:
    """The assistant turn as a client must send it back: every block, unchanged."""
    return {"role": "assistant", "content": [block.model_dump() for block in message.content]}


def results(message: Message) -> dict[str, Any]:
    calls = [block for block in message.content if block.type == "tool_use"]
    content = [{"type": "tool_result", "tool_use_id": c.id, "content": "data"} for c in calls]
    return {"role": "user", "content": content}


def tool_turn(client: anthropic.Anthropic, emu: ClaudeEmulator) -> tuple[list[Any], Message]:
    """A first turn that calls read_file, and the conversation to answer it."""
    emu.enqueue(Reply.tool_use([("read_file", {"path": "src/app.py"})]).thinking("Read it."))
    question = [{"role": "user", "content": QUESTION}]
    first = create(client, question, tools=[READ_FILE])
    return question, first


def refused(client: anthropic.Anthropic, messages: list[Any], **options: Any) -> str:
    with pytest.raises(anthropic.BadRequestError) as caught:
        create(client, messages, **options)
    body: Any = caught.value.body
    assert body["error"]["type"] == "invalid_request_error"
    return str(body["error"]["message"])


def test_a_thinking_model_leads_with_a_signed_thinking_block_and_bills_it(
    client: anthropic.Anthropic,
) -> None:
    message = create(client, [{"role": "user", "content": QUESTION}])

    assert [block.type for block in message.content] == ["thinking", "text"]
    thinking = message.content[0]
    assert thinking.type == "thinking"
    assert thinking.thinking == ""  # Sonnet 5.5's default display is "omitted"
    assert len(base64.b64decode(thinking.signature)) > 64
    assert message.usage.output_tokens == DEFAULT_THOUGHT_TOKENS + DEFAULT_TEXT_TOKENS
    assert message.usage.output_tokens_details is not None
    assert message.usage.output_tokens_details.thinking_tokens == DEFAULT_THOUGHT_TOKENS


def test_a_model_that_does_not_think_carries_no_thinking(client: anthropic.Anthropic) -> None:
    message = create(client, [{"role": "user", "content": QUESTION}], model="claude-haiku-4-5")

    assert [block.type for block in message.content] == ["text"]
    assert message.usage.output_tokens == DEFAULT_TEXT_TOKENS
    assert message.usage.output_tokens_details is None


def test_summarized_display_shows_the_thought(client: anthropic.Anthropic) -> None:
    message = create(
        client,
        [{"role": "user", "content": QUESTION}],
        thinking={"type": "adaptive", "display": "summarized"},
    )
    assert message.content[0].type == "thinking"
    assert message.content[0].thinking == "Thinking about the request before answering."


def test_thinking_between_tool_calls_and_the_round_trip_unchanged(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.thinking_display = "summarized"
    calls = [("read_file", {"path": "a.py"}), ("read_file", {"path": "b.py"})]
    emu.enqueue(Reply.tool_use(calls, text="Reading both.").thinking("Plan: two reads.", "Now b."))
    emu.enqueue(Reply.text("Done."))
    question = [{"role": "user", "content": QUESTION}]
    first = create(client, question, tools=[READ_FILE])

    kinds = [(b.type, getattr(b, "thinking", None)) for b in first.content]
    assert kinds == [
        ("thinking", "Plan: two reads."),
        ("text", None),
        ("tool_use", None),
        ("thinking", "Now b."),
        ("tool_use", None),
    ]
    second = create(client, [*question, sent_back(first), results(first)], tools=[READ_FILE])
    assert second.stop_reason == "end_turn"


def test_a_mutated_signature_is_refused(emu: ClaudeEmulator, client: anthropic.Anthropic) -> None:
    question, first = tool_turn(client, emu)
    turn = sent_back(first)
    signature = turn["content"][0]["signature"]
    turn["content"][0]["signature"] = (
        signature[:10] + ("A" if signature[10] != "A" else "B") + (signature[11:])
    )

    message = refused(client, [*question, turn, results(first)], tools=[READ_FILE])

    assert message == "messages.1.content.0: Invalid `signature` in `thinking` block"


def test_a_signature_from_another_emulator_is_refused(client: anthropic.Anthropic) -> None:
    with ClaudeEmulator().start() as other:
        other.enqueue(Reply.tool_use([("read_file", {"path": "src/app.py"})]))
        with anthropic.Anthropic(base_url=other.url, api_key="k", max_retries=0) as sdk:
            question = [{"role": "user", "content": QUESTION}]
            foreign = create(sdk, question, tools=[READ_FILE])

    message = refused(client, [*question, sent_back(foreign), results(foreign)], tools=[READ_FILE])

    assert message == "messages.1.content.0: Invalid `signature` in `thinking` block"


def test_edited_thinking_in_the_latest_turn_cannot_be_modified(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.thinking_display = "summarized"
    question, first = tool_turn(client, emu)
    turn = sent_back(first)
    assert turn["content"][0]["thinking"] == "Read it."
    turn["content"][0]["thinking"] = ""  # a client that blanks the text but keeps the signature

    message = refused(client, [*question, turn, results(first)], tools=[READ_FILE])

    assert message == (
        "messages.1.content.0: `thinking` or `redacted_thinking` blocks in the latest assistant "
        "message cannot be modified. These blocks must remain as they were in the original "
        "response."
    )


def test_a_turn_sent_back_without_its_thinking_is_refused(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    question, first = tool_turn(client, emu)
    turn = sent_back(first)
    turn["content"] = [b for b in turn["content"] if b["type"] != "thinking"]

    message = refused(client, [*question, turn, results(first)], tools=[READ_FILE])

    assert message.startswith(
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
        "`tool_use`. When `thinking` is enabled, a final `assistant` message must start with a "
        "thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks)."
    )


def test_a_block_whose_conversation_changed_is_bound_elsewhere(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    _, first = tool_turn(client, emu)
    edited = [{"role": "user", "content": QUESTION + " please"}]

    message = refused(client, [*edited, sent_back(first), results(first)], tools=[READ_FILE])

    assert message == (
        "messages.1.content.0: Invalid `signature` in `thinking` block. The block is bound to a "
        "different conversation. Remove the block, or set "
        '`thinking.block_binding.prefix_mismatch_behavior` to "drop_block".'
    )


def test_moved_cache_breakpoints_do_not_change_the_conversation(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    _, first = tool_turn(client, emu)
    marked = [
        {
            "role": "user",
            "content": [{"type": "text", "text": QUESTION, "cache_control": {"type": "ephemeral"}}],
        }
    ]

    second = create(client, [*marked, sent_back(first), results(first)], tools=[READ_FILE])

    assert second.stop_reason == "end_turn"


def test_redacted_thinking_round_trips_and_cannot_be_modified(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.enqueue(
        Reply.tool_use([("read_file", {"path": "src/app.py"})]).thinking(
            Thought("r" * 40, redacted=True)
        )
    )
    question = [{"role": "user", "content": QUESTION}]
    first = create(client, question, tools=[READ_FILE])
    assert [block.type for block in first.content] == ["redacted_thinking", "tool_use"]
    # The hidden thought is billed: 40 characters, 10 tokens.
    assert first.usage.output_tokens_details is not None
    assert first.usage.output_tokens_details.thinking_tokens == 10
    assert create(client, [*question, sent_back(first), results(first)], tools=[READ_FILE])

    turn = sent_back(first)
    turn["content"][0]["data"] = turn["content"][0]["data"][::-1]
    message = refused(client, [*question, turn, results(first)], tools=[READ_FILE])
    assert "blocks in the latest assistant message cannot be modified" in message


def test_seeded_redaction_redacts_the_same_requests_every_time(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.redacted_thinking_rate = 0.5

    def kinds() -> list[str]:
        return [
            create(client, [{"role": "user", "content": f"file {n}"}]).content[0].type
            for n in range(12)
        ]

    first = kinds()
    assert set(first) == {"thinking", "redacted_thinking"}
    assert kinds() == first


def test_forced_tool_choice_is_refused_while_thinking(client: anthropic.Anthropic) -> None:
    forced: Any = {"type": "tool", "name": "read_file"}
    question = [{"role": "user", "content": QUESTION}]

    assert refused(client, question, tools=[READ_FILE], tool_choice=forced) == (
        "Thinking may not be enabled when tool_choice forces tool use."
    )
    assert refused(client, question, tools=[READ_FILE], tool_choice={"type": "any"}) == (
        "Thinking may not be enabled when tool_choice forces tool use."
    )
    assert create(client, question, tools=[READ_FILE], tool_choice={"type": "none"})


def test_thinking_types_the_model_refuses(client: anthropic.Anthropic) -> None:
    question = [{"role": "user", "content": QUESTION}]
    budget: Any = {"type": "enabled", "budget_tokens": 2048}

    assert refused(client, question, thinking=budget) == (
        '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" '
        'and "output_config.effort" to control thinking behavior.'
    )
    assert "thinking.type.disabled" in refused(
        client, question, model="claude-opus-5-5", thinking={"type": "disabled"}
    )


def test_thinking_counts_against_max_tokens(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    thought = "x" * 400  # 100 tokens of thinking
    emu.enqueue(Reply.text("y" * 200).thinking(thought))  # then 50 tokens of text
    emu.enqueue(Reply.text("y" * 200).thinking(thought))
    question = [{"role": "user", "content": QUESTION}]

    cut = create(client, question, max_tokens=120)
    assert cut.stop_reason == "max_tokens"
    assert cut.usage.output_tokens == 120
    assert [block.type for block in cut.content] == ["thinking", "text"]
    assert cut.content[1].text == "y" * 80  # the 20 tokens left after the thought

    spent = create(client, question, max_tokens=60)
    assert spent.stop_reason == "max_tokens"
    assert spent.usage.output_tokens == 60
    assert [block.type for block in spent.content] == ["thinking"]


def test_batch_results_carry_the_same_thinking_blocks(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    emu.enqueue(Reply.json({"summary": "ok"}).thinking(Thought("hidden", redacted=True)))
    params = {"model": MODEL, "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}
    batch = client.messages.batches.create(
        requests=[{"custom_id": "a", "params": params}, {"custom_id": "b", "params": params}]
    )

    lines = {r.custom_id: r.result for r in results_of(emu, client, batch.id)}

    kinds = {cid: [b.type for b in r.message.content] for cid, r in lines.items()}  # type: ignore[union-attr]
    assert sorted(kinds.values()) == [["redacted_thinking", "text"], ["thinking", "text"]]
    answers = {
        "".join(b.text for b in r.message.content if b.type == "text")  # type: ignore[union-attr]
        for r in lines.values()
    }
    assert answers == {json.dumps({"summary": "ok"}), DEFAULT_TEXT}


# Every model of the table with its thinking when a request does not ask, as the model
# pages state it (written out here, not read from the table the emulator reads).
THINKS_UNASKED = {
    "claude-fable-5-2": True,  # adaptive, always on
    "claude-opus-5-5": True,
    "claude-opus-5": True,  # on by default since Opus 5
    "claude-haiku-5-5": True,
    "claude-opus-4-8": False,  # adaptive thinking only when asked
    "claude-sonnet-4-6": False,
    "claude-haiku-4-5": False,  # extended thinking only, when asked
    "claude-haiku-4-5-20251001": False,  # its dated name, the same model
}


@pytest.mark.parametrize(("model", "thinks"), sorted(THINKS_UNASKED.items()))
def test_a_model_thinks_unasked_exactly_when_the_model_table_says_so(
    client: anthropic.Anthropic, model: str, thinks: bool
) -> None:
    reply = create(client, [{"role": "user", "content": QUESTION}], model=model)
    kinds = [block.type for block in reply.content]
    assert kinds == (["thinking", "text"] if thinks else ["text"])
