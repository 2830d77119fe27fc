"""The API's error shape and the request checks the Claude emulator enforces.

The checks cover what the real API rejects and what our own code could send by mistake:
missing model/max_tokens/messages, a model the API does not serve (404 not_found_error
`model: <id>`, as real answers quoted in public code read), a max_tokens above the model's
max output (400 `max_tokens: N > M, which is the maximum allowed number of output tokens for
<model>`, the wording of real 400s quoted in public code; the limit and the model's name come
from `ci_reviewer.models`), sampling parameters removed in API version 2026-10-21
(`temperature`, `top_p`, `top_k`), empty content, roles that do not alternate (or a first
turn that is not the user's), a tool_result whose tool_use_id is not a tool_use of the
assistant turn just before it, a tool_use left without its tool_result, malformed tools and
output_config, output schemas outside the structured-outputs subset (`claude_schema`), and
prompt-cache breakpoints the API refuses: more than 4 (400 `A maximum of 4 blocks with
cache_control may be provided. Found 5.`, the answer quoted in tghamm/Anthropic.SDK#50 and
Wei-Shaw/sub2api#176) and a 1-hour one after a 5-minute one in processing order (400
`messages.0.content.4.cache_control.ttl: a ttl='1h' cache_control block must not come after a
ttl='5m' cache_control block. Note that blocks are processed in the following order: `tools`,
`system`, `messages`.`, quoted in cnighswonger/claude-code-cache-fix#44; the prompt-caching
page: "When mixing TTLs, longer TTL entries must appear before shorter ones").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ci_reviewer.emulators.claude_schema import SchemaRefused, check_output_schema
from ci_reviewer.models import ModelFacts, model_table

STATUS_BY_ERROR = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
ERROR_BY_STATUS = {status: kind for kind, status in STATUS_BY_ERROR.items()}
REMOVED_PARAMETERS = ("temperature", "top_p", "top_k")
EFFORTS = ("low", "medium", "high", "xhigh", "max")


class ApiError(Exception):
    """An error the emulator answers in the API's JSON shape."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message

    @property
    def status(self) -> int:
        return STATUS_BY_ERROR.get(self.error_type, 500)


def error_type_for(status: int) -> str:
    return ERROR_BY_STATUS.get(status, "api_error" if status >= 500 else "invalid_request_error")


def error_body(error_type: str, message: str, request_id: str) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": request_id,
    }


def _invalid(message: str) -> ApiError:
    return ApiError("invalid_request_error", message)


def validate_message_request(
    body: Any, *, counting: bool = False, extra_models: Mapping[str, ModelFacts] | None = None
) -> None:
    """Raise ApiError(invalid_request_error) for what the API would reject."""
    if not isinstance(body, Mapping):
        raise _invalid("request body must be a JSON object")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise _invalid("model: Field required")
    facts = served_model(body["model"], extra_models)
    if not counting:
        max_tokens = body.get("max_tokens")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            raise _invalid("max_tokens: Field required (an integer >= 1)")
        limit = facts.max_output_tokens
        if limit is not None and max_tokens > limit:
            raise _invalid(
                f"max_tokens: {max_tokens} > {limit}, which is the maximum allowed number of "
                f"output tokens for {facts.snapshot}"
            )
    for name in REMOVED_PARAMETERS:
        if name in body:
            raise _invalid(f"{name}: is not supported in API version 2026-10-21")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _invalid("messages: Field required (at least one message)")
    _validate_tools(body.get("tools"))
    _validate_output_config(body.get("output_config"))
    _validate_turns(messages)
    _validate_breakpoints(body)


# The body count_tokens takes (the SDK's `messages.count_tokens` sends exactly these);
# the API refuses anything else, max_tokens included, as pydantic words it. Source: the
# answer quoted in Wei-Shaw/sub2api#4913 ("strip max_tokens from Anthropic count tokens").
COUNT_TOKENS_FIELDS = frozenset(
    {
        "messages",
        "model",
        "cache_control",
        "output_config",
        "speed",
        "system",
        "thinking",
        "tool_choice",
        "tools",
    }
)


def validate_count_request(body: Any) -> None:
    """count_tokens refuses fields of a Messages request it does not count."""
    if not isinstance(body, Mapping):
        raise _invalid("request body must be a JSON object")
    for name in sorted(set(body) - COUNT_TOKENS_FIELDS):
        raise _invalid(f"{name}: Extra inputs are not permitted")


def served_model(model: str, extra: Mapping[str, ModelFacts] | None = None) -> ModelFacts:
    """The model's row in the model table (or in `extra`, models served beyond it); 404 for
    one the API does not serve (unknown or retired)."""
    facts = (extra or {}).get(model) or model_table().facts(model)
    if facts is None or not facts.callable:
        raise ApiError("not_found_error", f"model: {model}")
    return facts


def _validate_tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise _invalid("tools: must be a list")
    names: set[str] = set()
    for index, tool in enumerate(tools):
        if not isinstance(tool, Mapping) or not isinstance(tool.get("name"), str):
            raise _invalid(f"tools.{index}.name: Field required")
        if "type" not in tool and not isinstance(tool.get("input_schema"), Mapping):
            raise _invalid(f"tools.{index}.input_schema: Field required")
        if tool["name"] in names:
            raise _invalid(f"tools: Tool names must be unique ({tool['name']!r} repeats)")
        names.add(tool["name"])


def _validate_output_config(config: Any) -> None:
    if config is None:
        return
    if not isinstance(config, Mapping):
        raise _invalid("output_config: must be an object")
    effort = config.get("effort")
    if effort is not None and effort not in EFFORTS:
        # The values of the SDK's OutputConfigParam.effort; the wording is pydantic's, as the
        # API's other field errors read.
        raise _invalid(
            "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'"
        )
    output_format = config.get("format")
    if output_format is None:
        return
    if not isinstance(output_format, Mapping) or output_format.get("type") != "json_schema":
        raise _invalid("output_config.format.type: must be 'json_schema'")
    if not isinstance(output_format.get("schema"), Mapping):
        raise _invalid("output_config.format.schema: Field required")
    try:
        check_output_schema(output_format["schema"])
    except SchemaRefused as refused:
        raise _invalid(str(refused)) from None


def _blocks(content: Any, where: str) -> list[Mapping[str, Any]]:
    if isinstance(content, str):
        if not content:
            raise _invalid(f"{where}: text content blocks must be non-empty")
        return [{"type": "text", "text": content}]
    if not isinstance(content, list) or not content:
        raise _invalid(f"{where}: messages must have non-empty content")
    for index, block in enumerate(content):
        if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
            raise _invalid(f"{where}.{index}.type: Field required")
        if block["type"] == "text" and not block.get("text"):
            raise _invalid(f"{where}.{index}: text content blocks must be non-empty")
    return list(content)


def _validate_turns(messages: list[Any]) -> None:
    previous_role: str | None = None
    pending_tool_ids: set[str] = set()
    for index, message in enumerate(messages):
        where = f"messages.{index}"
        if not isinstance(message, Mapping) or message.get("role") not in ("user", "assistant"):
            raise _invalid(f"{where}.role: must be 'user' or 'assistant'")
        role = message["role"]
        if previous_role is None and role != "user":
            raise _invalid("messages: the first message must use the 'user' role")
        if role == previous_role:
            raise _invalid(f"{where}: roles must alternate between 'user' and 'assistant'")
        blocks = _blocks(message.get("content"), f"{where}.content")
        if role == "user":
            answered = {
                str(block.get("tool_use_id")) for block in blocks if block["type"] == "tool_result"
            }
            for tool_use_id in answered - pending_tool_ids:
                raise _invalid(
                    f"{where}.content: unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{tool_use_id}. Each `tool_result` block must have a corresponding "
                    "`tool_use` block in the previous message."
                )
            if pending_tool_ids - answered:
                missing = ", ".join(sorted(pending_tool_ids - answered))
                raise _invalid(
                    f"{where}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {missing}"
                )
            pending_tool_ids = set()
        else:
            pending_tool_ids = {
                str(block.get("id")) for block in blocks if block["type"] == "tool_use"
            }
        previous_role = role


MAX_BREAKPOINTS = 4


def _marked_blocks(body: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(location, cache_control) of every block carrying one, in processing order."""
    found: list[tuple[str, Mapping[str, Any]]] = []
    for index, tool in enumerate(body.get("tools") or []):
        if isinstance(tool, Mapping) and isinstance(tool.get("cache_control"), Mapping):
            found.append((f"tools.{index}", tool["cache_control"]))
    system = body.get("system")
    for index, block in enumerate(system if isinstance(system, list) else []):
        if isinstance(block, Mapping) and isinstance(block.get("cache_control"), Mapping):
            found.append((f"system.{index}", block["cache_control"]))
    for number, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, Mapping) else None
        for index, block in enumerate(content if isinstance(content, list) else []):
            if isinstance(block, Mapping) and isinstance(block.get("cache_control"), Mapping):
                found.append((f"messages.{number}.content.{index}", block["cache_control"]))
    return found


def _validate_breakpoints(body: Mapping[str, Any]) -> None:
    marked = _marked_blocks(body)
    if len(marked) > MAX_BREAKPOINTS:
        raise _invalid(
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {len(marked)}."
        )
    five_minute_seen = False
    for where, control in marked:
        ttl = control.get("ttl") or "5m"
        if ttl == "1h" and five_minute_seen:
            raise _invalid(
                f"{where}.cache_control.ttl: a ttl='1h' cache_control block must not come "
                "after a ttl='5m' cache_control block. Note that blocks are processed in the "
                "following order: `tools`, `system`, `messages`."
            )
        five_minute_seen = five_minute_seen or ttl == "5m"
