"""What the Claude emulator answers: scripted `Reply` records and the deterministic default.

Default reply, when nothing scripted matches a request (and no responder answers):
1. With `tool_choice` forcing a tool (`{"type": "tool", "name": N}`): that tool, called with
   the minimal instance of its input schema.
2. Else, when tools are declared (and not disabled by `tool_choice: none`) and the
   conversation has no assistant turn yet: if one tool has a string `path` property (a tool
   named `read_file` first) and the last user message names a file (a token like
   `src/app.py`), that tool is called once with that path; this is how `ci-reviewer emulate`
   shows a real tool round trip, structured output or not.
3. Else, with `output_config.format` of type json_schema: a text block holding the minimal
   valid instance of the schema (objects carry only required properties, arrays are empty
   unless `minItems`, strings are empty unless `minLength`/`enum`/`const`, numbers take
   `minimum` or 0, booleans false; `$ref` into `$defs`/`definitions` and the first
   `anyOf`/`oneOf` branch are followed).
4. Else a short text: "No issues found (Claude emulator: nothing was scripted for this
   request)." with stop_reason end_turn.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

OVERLOADED_MESSAGE = "Overloaded"
DEFAULT_TEXT = "No issues found (Claude emulator: nothing was scripted for this request)."
STOP_REASONS = (
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
)
_FILE_TOKEN = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.[A-Za-z0-9]{1,8})\b")

Predicate = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class ToolCall:
    name: str
    input: Mapping[str, Any]


@dataclass(frozen=True)
class Thought:
    """What the model thought in one thinking block; `redacted` sends it as a
    `redacted_thinking` block (its text then only counts as tokens)."""

    text: str
    redacted: bool = False


@dataclass(frozen=True)
class Reply:
    """One scripted model turn. Build it with the class methods; `error_type` makes the call
    fail with that API error instead (an `errored` result inside a batch). `thoughts` are its
    thinking blocks, rendered only when the request thinks (`claude_thinking`): the first one
    leads the turn, the n-th (n >= 1) comes just before tool call n."""

    said: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    thoughts: tuple[Thought, ...] = ()
    stop_reason: str = "end_turn"
    stop_sequence: str | None = None
    refusal_category: str | None = None
    error_type: str | None = None
    error_message: str = ""
    # A streamed call fails only after its answer began: message_start, then an error event.
    error_mid_stream: bool = False

    @classmethod
    def text(cls, text: str, stop_reason: str = "end_turn") -> Reply:
        return cls(said=text, stop_reason=stop_reason)

    @classmethod
    def tool_use(
        cls, calls: Iterable[tuple[str, Mapping[str, Any]]], text: str | None = None
    ) -> Reply:
        """One or more tool calls in one turn (several = parallel tool calls)."""
        return cls(
            said=text,
            tool_calls=tuple(ToolCall(name, dict(args)) for name, args in calls),
            stop_reason="tool_use",
        )

    @classmethod
    def json(cls, value: Any) -> Reply:
        """Structured output: the text block carries the JSON document."""
        return cls(said=json.dumps(value), stop_reason="end_turn")

    @classmethod
    def stop(
        cls,
        reason: str,
        text: str = "",
        *,
        category: str | None = None,
        sequence: str | None = None,
    ) -> Reply:
        """A turn that ends for `reason` (refusal, max_tokens, pause_turn, stop_sequence,
        model_context_window_exceeded, ...), carrying `text` if any; `category` is the
        refusal's policy category, `sequence` the stop sequence that matched."""
        if reason not in STOP_REASONS:
            raise ValueError(f"unknown stop_reason {reason!r}; expected one of {STOP_REASONS}")
        return cls(
            said=text or None,
            stop_reason=reason,
            stop_sequence=sequence if reason == "stop_sequence" else None,
            refusal_category=category,
        )

    @classmethod
    def error(cls, error_type: str, message: str = "scripted error") -> Reply:
        return cls(error_type=error_type, error_message=message)

    @classmethod
    def overloaded(cls) -> Reply:
        """The API's answer when it is overloaded: HTTP 529 with the body
        `{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}`
        (and the `request_id` every error carries). Sources: the body as quoted at
        https://docs.llmgateway.io/troubleshooting/anthropic-529-overloaded; the shape
        ("the same shape as every other Claude API error ... and a request_id") at
        https://learn.microsoft.com/en-us/microsoft-cloud/dev/dev-proxy/concepts/anthropic-529-overloaded-error."""
        return cls.error("overloaded_error", OVERLOADED_MESSAGE)

    @classmethod
    def overloaded_mid_stream(cls) -> Reply:
        """Overloaded once the answer has begun: a streamed call gets `message_start`, then
        the error event the streaming docs show ("during periods of high usage, you may
        receive an `overloaded_error`, which would normally correspond to an HTTP 529 in a
        non-streaming context": `event: error`, `data: {"type": "error", "error": {"type":
        "overloaded_error", "message": "Overloaded"}}`, no request_id), and nothing more; a
        call that does not stream gets the 529 answer of `overloaded`."""
        return replace(cls.overloaded(), error_mid_stream=True)

    def thinking(self, *thoughts: str | Thought) -> Reply:
        """This reply with these thoughts instead of the emulator's default one: the first
        leads the turn, each further one comes just before the next tool call."""
        chosen = tuple(t if isinstance(t, Thought) else Thought(t) for t in thoughts)
        if len(chosen) > max(1, len(self.tool_calls)):
            raise ValueError(
                f"{len(chosen)} thoughts for {len(self.tool_calls)} tool call(s): one leads "
                "the turn, each further one precedes a tool call after the first"
            )
        return replace(self, thoughts=chosen)

    def content(self, id_prefix: str) -> list[dict[str, Any]]:
        """The response's text and tool_use blocks (no thinking: `claude_thinking` renders
        the whole turn); tool_use ids are `{id_prefix}_{n}`."""
        blocks: list[dict[str, Any]] = []
        if self.said:
            blocks.append({"type": "text", "text": self.said})
        for number, call in enumerate(self.tool_calls):
            blocks.append(
                {
                    "type": "tool_use",
                    "id": f"{id_prefix}_{number}",
                    "name": call.name,
                    "input": dict(call.input),
                }
            )
        return blocks


@dataclass
class ReplyScript:
    """Queued replies with optional predicates: the first acceptable one wins (FIFO)."""

    queue: list[tuple[Reply, Predicate | None]] = field(default_factory=list)

    def push(self, reply: Reply, when: Predicate | None) -> None:
        self.queue.append((reply, when))

    def take(self, body: Mapping[str, Any]) -> Reply | None:
        for index, (reply, when) in enumerate(self.queue):
            if when is None or when(body):
                del self.queue[index]
                return reply
        return None


def default_reply(body: Mapping[str, Any]) -> Reply:
    """The documented deterministic answer (see the module docstring)."""
    tools = [tool for tool in body.get("tools") or [] if isinstance(tool, Mapping)]
    choice = body.get("tool_choice")
    if isinstance(choice, Mapping) and choice.get("type") == "tool":
        forced = next((tool for tool in tools if tool.get("name") == choice.get("name")), None)
        if forced is not None:
            schema = forced.get("input_schema") or {}
            return Reply.tool_use([(str(forced["name"]), minimal_instance(schema, schema))])
    tools_allowed = not (isinstance(choice, Mapping) and choice.get("type") == "none")
    if tools and tools_allowed and not _has_assistant_turn(body):
        call = _demo_tool_call(tools, body)
        if call is not None:
            return Reply.tool_use([call], text="Let me read the file first.")
    schema = _output_schema(body)
    if schema is not None:
        return Reply.json(minimal_instance(schema, schema))
    return Reply.text(DEFAULT_TEXT)


def _output_schema(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    config = body.get("output_config")
    if not isinstance(config, Mapping):
        return None
    output_format = config.get("format")
    if isinstance(output_format, Mapping) and output_format.get("type") == "json_schema":
        schema = output_format.get("schema")
        return schema if isinstance(schema, Mapping) else None
    return None


def _has_assistant_turn(body: Mapping[str, Any]) -> bool:
    messages = body.get("messages") or []
    return any(isinstance(m, Mapping) and m.get("role") == "assistant" for m in messages)


def _demo_tool_call(
    tools: Sequence[Mapping[str, Any]], body: Mapping[str, Any]
) -> tuple[str, dict[str, Any]] | None:
    def takes_path(tool: Mapping[str, Any]) -> bool:
        properties = (tool.get("input_schema") or {}).get("properties") or {}
        return (properties.get("path") or {}).get("type") == "string"

    candidates = sorted(
        (tool for tool in tools if takes_path(tool)), key=lambda t: t.get("name") != "read_file"
    )
    if not candidates:
        return None
    messages = [m for m in body.get("messages") or [] if isinstance(m, Mapping)]
    text = json.dumps(messages[-1].get("content")) if messages else ""
    match = _FILE_TOKEN.search(text.replace("\\n", " "))
    if match is None:
        return None
    return str(candidates[0]["name"]), {"path": match.group(1)}


def minimal_instance(schema: Any, root: Mapping[str, Any], depth: int = 0) -> Any:
    """The smallest document `schema` accepts (see the module docstring for the rules)."""
    if not isinstance(schema, Mapping) or depth > 32:
        return None
    if "$ref" in schema:
        return minimal_instance(_resolve(str(schema["$ref"]), root), root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return minimal_instance(schema[key][0], root, depth + 1)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    return _minimal_of_type(str(kind), schema, root, depth)


def _minimal_of_type(
    kind: str, schema: Mapping[str, Any], root: Mapping[str, Any], depth: int
) -> Any:
    if kind == "object":
        properties = schema.get("properties") or {}
        return {
            name: minimal_instance(properties.get(name, {}), root, depth + 1)
            for name in schema.get("required") or []
        }
    if kind == "array":
        item = minimal_instance(schema.get("items", {}), root, depth + 1)
        return [item for _ in range(int(schema.get("minItems", 0)))]
    if kind == "string":
        return "x" * int(schema.get("minLength", 0))
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        value = low + 1 if "exclusiveMinimum" in schema and "minimum" not in schema else low
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return False
    return None


def _resolve(reference: str, root: Mapping[str, Any]) -> Any:
    node: Any = root
    for part in reference.lstrip("#").strip("/").split("/"):
        if not part:
            continue
        node = node.get(part) if isinstance(node, Mapping) else None
    return node
