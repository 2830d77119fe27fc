"""One file's review: a multi-turn conversation in which the model calls repository tools and
finally answers with findings.

How the answer is obtained (and why): the tools stay declared on every turn and the findings
schema is sent as `output_config` on every turn too. Structured output constrains only the
final text, so tool turns are unaffected, and keeping both constant keeps the prompt-cache
prefix identical from turn to turn (changing tools or the output format would invalidate it).
The answer is validated again on our side (a gateway or model may ignore `output_config`); an
invalid one gets one repair turn, then the file is reported as not reviewed. `tool_choice` is
never forced (some models reject it); when a budget runs out, the model is told to answer and
the finishing turn sends `tool_choice: none`.

Every stop_reason is handled: tool_use (run all calls in parallel, answer in one message),
end_turn/stop_sequence (parse), pause_turn (send the turn back to continue), max_tokens (one
"shorter, please" turn, else keep the complete findings; a turn that is all thinking is
reported as such), refusal (recorded), model_context_window_exceeded (keep what is valid).

Thinking (on by default on the 5.5 models; no `thinking` parameter is sent unless
`review.thinking` asks, so each model thinks its own default way): every assistant turn goes
back with its thinking and redacted_thinking blocks unchanged and in place, and answers are
read from text blocks only.
Thinking counts against `max_tokens`, hence a default that leaves room for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Literal

import anthropic

from ci_reviewer.claude import Reply, UsageMeter, send_message
from ci_reviewer.review import prompts
from ci_reviewer.review.cache import cached_system, mark_breakpoints
from ci_reviewer.review.diff import ChangedFile
from ci_reviewer.review.findings import (
    AnswerError,
    DroppedFinding,
    Finding,
    parse_answer,
    salvage_findings,
)
from ci_reviewer.review.tools import TOOL_DEFINITIONS, RepoTools, ToolOutcome
from ci_reviewer.review.turns import answer_text, assistant_blocks, only_thinking

Status = Literal["reviewed", "not-reviewed", "refused"]


@dataclass(frozen=True)
class Budgets:
    """Per-file limits (turns = API calls of the file's conversation)."""

    max_turns: int = 8
    max_tool_calls: int = 40
    max_bytes_fetched: int = 2_000_000
    max_tokens: int = 16_000


@dataclass(frozen=True)
class FileReview:
    """What became of one file."""

    path: str
    status: Status
    findings: tuple[Finding, ...] = ()
    summary: str = ""
    reason: str | None = None
    turns: int = 0
    tool_calls: int = 0
    bytes_fetched: int = 0
    stop_reasons: tuple[str, ...] = ()
    budget_exhausted: str | None = None
    # Findings not published: the code they quote is not in the file (`grounding`).
    dropped: tuple[DroppedFinding, ...] = ()
    # Why this file was reviewed again on the fallback model, and which (`fallback`).
    fallback: str | None = None


@dataclass(frozen=True)
class ReviewContext:
    """What every file's conversation shares."""

    client: anthropic.Anthropic | None  # None: a dry run, which builds requests only
    model: str
    tools: RepoTools
    meter: UsageMeter
    budgets: Budgets
    system: list[dict[str, Any]]
    overview: str
    tool_pool: Executor
    structured_output: bool = True
    prompt_caching: bool = True
    effort: str | None = None  # output_config.effort; None: not sent
    thinking: str | None = None  # thinking.type; None: not sent (the model's default)
    fallback_model: str | None = None  # see ci_reviewer.review.fallback
    abort: threading.Event = field(default_factory=threading.Event)
    # Set when the run's first call has begun its answer (or failed): the shared prefix is
    # then in the cache, and the other conversations may start (`send`).
    warmed: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Conversation:
    changed: ChangedFile
    messages: list[dict[str, Any]]
    turns: int = 0
    tool_calls: int = 0
    bytes_fetched: int = 0
    repaired: bool = False
    finishing: str | None = None
    stop_reasons: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        """Add a user text block: to the last user message, or as a new user message."""
        if self.messages[-1]["role"] == "user":
            self.messages[-1]["content"].append({"type": "text", "text": text})
        else:
            self.messages.append({"role": "user", "content": [{"type": "text", "text": text}]})

    def result(self, status: Status, **fields: Any) -> FileReview:
        return FileReview(
            path=self.changed.path,
            status=status,
            turns=self.turns,
            tool_calls=self.tool_calls,
            bytes_fetched=self.bytes_fetched,
            stop_reasons=tuple(self.stop_reasons),
            budget_exhausted=self.finishing,
            **fields,
        )


def first_request(context: ReviewContext, changed: ChangedFile) -> dict[str, Any]:
    """The first turn's request of a file (what --dry-run estimates)."""
    return build_request(context, _start(context, changed))


def _start(context: ReviewContext, changed: ChangedFile) -> _Conversation:
    content = [
        {"type": "text", "text": context.overview},
        {"type": "text", "text": prompts.file_prompt(changed)},
    ]
    return _Conversation(changed, [{"role": "user", "content": content}])


def build_request(context: ReviewContext, conversation: _Conversation) -> dict[str, Any]:
    params: dict[str, Any] = {
        "model": context.model,
        "max_tokens": context.budgets.max_tokens,
        "system": context.system,
        "tools": list(TOOL_DEFINITIONS),
        "messages": conversation.messages,
    }
    if context.prompt_caching:
        params["system"] = cached_system(context.system)
        params["messages"] = mark_breakpoints(conversation.messages)
    output_config: dict[str, Any] = {}
    if context.structured_output:
        output_config["format"] = {"type": "json_schema", "schema": prompts.ANSWER_SCHEMA}
    if context.effort is not None:
        output_config["effort"] = context.effort
    if output_config:
        params["output_config"] = output_config
    if context.thinking is not None:
        params["thinking"] = {"type": context.thinking}
    if conversation.finishing:
        params["tool_choice"] = {"type": "none"}
    return params


def review_file(context: ReviewContext, changed: ChangedFile) -> FileReview:
    """Run the file's conversation to an answer, a refusal or a budget; never raises except
    ClaudeAPIError (the API failed after retries)."""
    if context.client is None:
        raise ValueError("a dry-run context cannot send requests")
    conversation = _start(context, changed)
    while True:
        if context.abort.is_set():
            return conversation.result("not-reviewed", reason="run stopped after an API error")
        if conversation.turns == 0 and context.meter.budget_exhausted:
            conversation.finishing = "max_cost_usd"
            return conversation.result("not-reviewed", reason="max_cost_usd spent before it")
        _check_budgets(context, conversation)
        message = send(context, context.client, build_request(context, conversation))
        context.meter.add_message(message, context.model)
        conversation.turns += 1
        conversation.stop_reasons.append(str(message.stop_reason))
        outcome = _HANDLERS.get(str(message.stop_reason), _unexpected)(
            context, conversation, message
        )
        if outcome is not None:
            return outcome


def send(context: ReviewContext, client: anthropic.Anthropic, params: dict[str, Any]) -> Reply:
    """One call. The run's first (the others wait on `warmed`) streams, so that they start
    when its answer begins, the moment the API makes its cache entries available ("a cache
    entry only becomes available after the first response begins", the prompt-caching docs),
    not when the whole answer is in. When it fails they are released by the fallback (which
    has a cache of its own) or, once the run is stopped, by the engine."""
    if context.warmed.is_set():
        return send_message(client, params)
    return send_message(client, params, on_start=context.warmed.set)


def _check_budgets(context: ReviewContext, conversation: _Conversation) -> None:
    """Before a call: when a budget is spent, this call is the finishing one."""
    if conversation.finishing:
        return
    budgets = context.budgets
    reason = None
    if context.meter.budget_exhausted:
        reason = "max_cost_usd"
    elif conversation.turns + 1 >= budgets.max_turns:
        reason = "max_turns"
    elif conversation.tool_calls >= budgets.max_tool_calls:
        reason = "max_tool_calls"
    elif conversation.bytes_fetched >= budgets.max_bytes_fetched:
        reason = "max_bytes_fetched"
    if reason is not None:
        conversation.finishing = reason
        conversation.say(prompts.finish_message(f"The review budget ({reason}) is spent."))


Handler = Callable[[ReviewContext, _Conversation, Reply], "FileReview | None"]


def _on_tool_use(
    context: ReviewContext, conversation: _Conversation, message: Reply
) -> FileReview | None:
    calls = [block for block in message.content if block.get("type") == "tool_use"]
    conversation.messages.append({"role": "assistant", "content": assistant_blocks(message)})
    if conversation.finishing:
        refused = ToolOutcome("no more tool calls: give your final answer now", is_error=True)
        outcomes = [refused] * len(calls)
    else:
        outcomes = _run_tools(context, conversation, [(c["name"], c["input"]) for c in calls])
    conversation.messages.append(
        {
            "role": "user",
            "content": [
                outcome.result_block(call["id"])
                for call, outcome in zip(calls, outcomes, strict=True)
            ],
        }
    )
    if conversation.finishing:
        return conversation.result(
            "not-reviewed", reason=f"budget {conversation.finishing} spent before an answer"
        )
    return None


def _run_tools(
    context: ReviewContext, conversation: _Conversation, calls: list[tuple[str, Any]]
) -> list[ToolOutcome]:
    """All calls of the turn at once; those beyond the call budget are refused unrun."""
    budgets = context.budgets
    allowed = max(0, budgets.max_tool_calls - conversation.tool_calls)
    ran = _run_calls(context, calls[:allowed])
    conversation.tool_calls += len(ran)
    outcomes: list[ToolOutcome] = []
    spent = ToolOutcome("byte budget (max_bytes_fetched) spent: not shown", is_error=True)
    for outcome in ran:
        if conversation.bytes_fetched + outcome.size > budgets.max_bytes_fetched:
            conversation.bytes_fetched = budgets.max_bytes_fetched
            outcomes.append(spent)
        else:
            conversation.bytes_fetched += outcome.size
            outcomes.append(outcome)
    over = ToolOutcome("tool-call budget (max_tool_calls) spent: not run", is_error=True)
    return outcomes + [over] * (len(calls) - len(ran))


def _run_calls(context: ReviewContext, calls: list[tuple[str, Any]]) -> list[ToolOutcome]:
    """Several calls run in parallel on the tool pool; a lone call runs on this thread, as
    handing it to the pool would only add two thread switches to the turn."""
    if len(calls) <= 1:
        return [context.tools.run(name, arguments) for name, arguments in calls]
    futures = [context.tool_pool.submit(context.tools.run, n, a) for n, a in calls]
    return [future.result() for future in futures]


def _on_end_turn(
    context: ReviewContext, conversation: _Conversation, message: Reply
) -> FileReview | None:
    text = answer_text(message)
    try:
        answer = parse_answer(text, conversation.changed.path)
    except AnswerError as error:
        if conversation.repaired:
            return conversation.result(
                "not-reviewed", reason=f"invalid answer after a repair turn: {error}"
            )
        conversation.repaired = True
        blocks = assistant_blocks(message) or [{"type": "text", "text": "(no answer)"}]
        conversation.messages.append({"role": "assistant", "content": blocks})
        conversation.say(prompts.repair_message(str(error)))
        return None
    return conversation.result("reviewed", findings=answer.findings, summary=answer.summary)


def _on_max_tokens(
    context: ReviewContext, conversation: _Conversation, message: Reply
) -> FileReview | None:
    text = answer_text(message)
    try:
        answer = parse_answer(text, conversation.changed.path)
        return conversation.result("reviewed", findings=answer.findings, summary=answer.summary)
    except AnswerError:
        pass
    if only_thinking(message):
        # Asking again for a shorter answer would spend max_tokens again on the same thinking.
        limit = context.budgets.max_tokens
        return conversation.result(
            "not-reviewed",
            reason=f"the model's thinking used all {limit} output tokens (max_tokens) before "
            "it wrote an answer; raise review.max_tokens",
        )
    if not conversation.repaired:
        # The cut turn is dropped (a half tool call cannot be answered); ask again, shorter.
        conversation.repaired = True
        conversation.say(prompts.SHORTEN_MESSAGE)
        return None
    return _salvaged(conversation, text, "the answer was cut at max_tokens")


def _salvaged(conversation: _Conversation, text: str, why: str) -> FileReview:
    kept = salvage_findings(text, conversation.changed.path)
    if kept:
        return conversation.result(
            "reviewed", findings=kept, reason=f"{why}; kept {len(kept)} complete findings"
        )
    return conversation.result("not-reviewed", reason=why)


def _on_pause_turn(
    context: ReviewContext, conversation: _Conversation, message: Reply
) -> FileReview | None:
    blocks = assistant_blocks(message)
    if blocks:
        conversation.messages.append({"role": "assistant", "content": blocks})
    if conversation.turns >= context.budgets.max_turns:
        return conversation.result("not-reviewed", reason="paused past the turn budget")
    return None


def _on_refusal(context: ReviewContext, conversation: _Conversation, message: Reply) -> FileReview:
    details = message.stop_details
    category = details.get("category") if details is not None else None
    reason = f"the model declined to review this file ({category or 'no category given'})"
    return conversation.result("refused", reason=reason)


def _on_context_exceeded(
    context: ReviewContext, conversation: _Conversation, message: Reply
) -> FileReview:
    text = answer_text(message)
    try:
        answer = parse_answer(text, conversation.changed.path)
        return conversation.result("reviewed", findings=answer.findings, summary=answer.summary)
    except AnswerError:
        return _salvaged(conversation, text, "the model's context window was exceeded")


def _unexpected(context: ReviewContext, conversation: _Conversation, message: Reply) -> FileReview:
    return conversation.result(
        "not-reviewed", reason=f"unexpected stop_reason {message.stop_reason!r}"
    )


_HANDLERS: dict[str, Handler] = {
    "tool_use": _on_tool_use,
    "end_turn": _on_end_turn,
    "stop_sequence": _on_end_turn,
    "max_tokens": _on_max_tokens,
    "pause_turn": _on_pause_turn,
    "refusal": _on_refusal,
    "model_context_window_exceeded": _on_context_exceeded,
}
