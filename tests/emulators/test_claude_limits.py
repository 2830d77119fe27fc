"""The Claude emulator refuses what the real API refuses, with the real answer: unknown and
retired models, max_tokens above a model's limit, output schemas outside the structured-outputs
subset; and it caches and bounds each model by the model table's figures.

Every expected message below is copied from a real API answer quoted in public code or issue
threads (named next to each case), not computed by the code under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from pydantic import BaseModel, Field

from ci_reviewer.emulators.claude import ClaudeEmulator
from tests.emulators.test_claude_emulator import raw_post


@pytest.fixture(scope="module")
def server() -> Iterator[ClaudeEmulator]:
    emulator = ClaudeEmulator().start()  # the model table's thresholds, no override
    yield emulator
    emulator.stop()


@pytest.fixture
def emu(server: ClaudeEmulator) -> ClaudeEmulator:
    server.reset()
    return server


@pytest.fixture
def client(emu: ClaudeEmulator) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=emu.url, api_key="k", max_retries=0) as sdk:
        yield sdk


def _body(model: str = "claude-sonnet-5-5", max_tokens: int = 100, **extra: Any) -> Any:
    return {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": "hi"}],
        **extra,
    }


@pytest.mark.parametrize("model", ["claude-sonnet-9", "claude-mythos-preview"])
def test_a_model_the_api_does_not_serve_is_404_not_found(emu: ClaudeEmulator, model: str) -> None:
    """A typo'd id, and a retired one (the SDK's deprecated_models.py: end of life June 30th,
    2026), answer as real 404s quoted in public code do: `model: <id>`."""
    status, answer = raw_post(emu, "/v1/messages", _body(model))
    assert status == 404
    assert answer == {
        "type": "error",
        "error": {"type": "not_found_error", "message": f"model: {model}"},
        "request_id": answer["request_id"],
    }
    assert answer["request_id"].startswith("req_")
    status, _ = raw_post(emu, "/v1/messages/count_tokens", {"model": model, "messages": []})
    assert status == 404


def test_the_sdk_raises_not_found_for_an_unknown_model(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.messages.create(**_body("claude-opus-6"))
    assert caught.value.status_code == 404
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "not_found_error", "message": "model: claude-opus-6"},
        "request_id": caught.value.request_id,
    }


@pytest.mark.parametrize(
    ("model", "sent", "message"),
    [
        # Quoted real 400s: "max_tokens: 999999 > 64000, which is the maximum allowed number of
        # output tokens for claude-haiku-4-5-20251001", "... 9999999 > 128000 ... claude-opus-5".
        (
            "claude-haiku-4-5",
            64_001,
            "max_tokens: 64001 > 64000, which is the maximum allowed number of output tokens "
            "for claude-haiku-4-5-20251001",
        ),
        (
            "claude-opus-5",
            9_999_999,
            "max_tokens: 9999999 > 128000, which is the maximum allowed number of output "
            "tokens for claude-opus-5",
        ),
    ],
)
def test_max_tokens_above_the_models_limit_is_400(
    emu: ClaudeEmulator, model: str, sent: int, message: str
) -> None:
    status, answer = raw_post(emu, "/v1/messages", _body(model, sent))
    assert (status, answer["error"]) == (400, {"type": "invalid_request_error", "message": message})


def test_max_tokens_at_the_limit_is_accepted(emu: ClaudeEmulator) -> None:
    # Raw: the SDK itself insists on streaming for a max_tokens this large.
    status, answer = raw_post(emu, "/v1/messages", _body("claude-haiku-4-5", 64_000))
    assert (status, answer["stop_reason"]) == (200, "end_turn")


PREFIX = "output_config.format.schema: "
REFUSED = [
    # sherifkozman/the-llm-council#55: numeric range keywords, several at once, sorted.
    (
        {"type": "number", "minimum": 0, "maximum": 1},
        "For 'number' type, properties maximum, minimum are not supported",
    ),
    # agentjido/req_llm#302: one keyword, quoted.
    ({"type": "integer", "minimum": 1}, "For 'integer' type, property 'minimum' is not supported"),
    # uc_ai's measured list.
    (
        {"type": "number", "multipleOf": 2, "exclusiveMinimum": 0, "exclusiveMaximum": 9},
        "For 'number' type, properties exclusiveMaximum, exclusiveMinimum, multipleOf are "
        "not supported",
    ),
    (
        {"type": "string", "maxLength": 80},
        "For 'string' type, property 'maxLength' is not supported",
    ),
    ({"type": "string", "format": "phone"}, "For 'string' type, format 'phone' is not supported"),
    # agentjido/req_llm#706, and uc_ai's measured uniqueItems.
    (
        {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        "For 'array' type, property 'maxItems' is not supported",
    ),
    (
        {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "For 'array' type, property 'uniqueItems' is not supported",
    ),
    # A real 400 of 2026-09-04 (request_id req_011CeiPWeKkAjSeaPDzHB2z9).
    (
        {"type": "array", "items": {"type": "string"}, "minItems": 6},
        "For 'array' type, 'minItems' values other than 0 or 1 are not supported (got: [6, ∞])",
    ),
    (
        {"type": "array", "items": [{"type": "string"}]},
        "Array types must be specified with a single object schema for 'items'",
    ),
    # veryfront/veryfront-code#3921, BerriAI/litellm#35808, and the 'object' form.
    (
        {"type": "object", "properties": {"a": {"type": "string"}}},
        "For 'object' type, 'additionalProperties' must be explicitly set to false",
    ),
    (
        {"type": "object", "properties": {}, "additionalProperties": True},
        "For 'object' type, 'additionalProperties: true' is not supported. Please set "
        "'additionalProperties' to false",
    ),
    (
        {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}},
        "For 'object' type, 'additionalProperties: object' is not supported. Please set "
        "'additionalProperties' to false",
    ),
    (
        {"type": "object", "properties": {}, "additionalProperties": False, "minProperties": 1},
        "For 'object' type, property 'minProperties' is not supported",
    ),
    # ENTERPILOT/GoModel#963, live probes on claude-haiku-4-5.
    (
        {"type": "string", "pattern": r"^(a)\1$"},
        "Unsupported regex feature in pattern field: Backreferences are not supported.",
    ),
    (
        {"type": "string", "pattern": r"\bParis\b"},
        r"Unsupported regex feature in pattern field: \b is not supported.",
    ),
    (
        {"type": "string", "pattern": "^(?=.*P).*$"},
        "Invalid regex in pattern field: Quantifier '?' without preceding element",
    ),
]


def _wrapped(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"value": node},
        "required": ["value"],
        "additionalProperties": False,
    }


@pytest.mark.parametrize(("node", "message"), REFUSED)
def test_an_unsupported_schema_keyword_is_refused_as_the_api_words_it(
    emu: ClaudeEmulator, node: dict[str, Any], message: str
) -> None:
    config = {"format": {"type": "json_schema", "schema": _wrapped(node)}}
    status, answer = raw_post(emu, "/v1/messages", _body(output_config=config))
    assert status == 400
    assert answer["error"] == {"type": "invalid_request_error", "message": PREFIX + message}
    assert emu.requests[-1].usage is None  # refused before the model ran: nothing billed


def test_a_recursive_schema_is_refused(emu: ClaudeEmulator) -> None:
    """egonSchiele/agency-lang#487 (live call): self-references cannot be compiled."""
    schema = {
        "$ref": "#/$defs/Tree",
        "$defs": {
            "Tree": {
                "type": "object",
                "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Tree"}}},
                "required": ["children"],
                "additionalProperties": False,
            }
        },
    }
    config = {"format": {"type": "json_schema", "schema": schema}}
    status, answer = raw_post(emu, "/v1/messages", _body(output_config=config))
    assert status == 400
    assert answer["error"]["message"] == (
        PREFIX + "Circular reference detected in schema definitions: Tree -> Tree. "
        "Self-referencing or mutually-referencing definitions are not supported."
    )


class _Ticket(BaseModel):
    title: str = Field(min_length=1, max_length=80)
    priority: int = Field(ge=1, le=5)
    tags: list[str] = Field(min_length=2)
    owner: str | None = None
    due: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")


ACCEPTED = [
    # What the SDK itself sends for a pydantic model with constraints: its transform moves
    # the unsupported keywords into descriptions.
    anthropic.transform_schema(_Ticket),
    _wrapped({"type": "array", "items": {"type": "string"}, "minItems": 1}),
    _wrapped({"type": "string", "pattern": "^CWE-[0-9]+$", "format": "date-time"}),
    _wrapped({"type": ["integer", "null"], "description": "{minimum: 1}"}),
    _wrapped({"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "null"}]}),
    _wrapped({"type": "string", "pattern": r"^[\b]x(?:y|z)$"}),  # backspace in a class, (?:)
]


@pytest.mark.parametrize("schema", ACCEPTED)
def test_schemas_inside_the_subset_are_accepted(
    client: anthropic.Anthropic, schema: dict[str, Any]
) -> None:
    config: Any = {"format": {"type": "json_schema", "schema": schema}}
    message = client.messages.create(**_body(output_config=config))
    assert message.stop_reason == "end_turn"


def _cached(client: anthropic.Anthropic, model: str, prefix_chars: int) -> Any:
    system = [{"type": "text", "text": "s" * prefix_chars, "cache_control": {"type": "ephemeral"}}]
    return client.messages.create(**_body(model, system=system)).usage


def test_each_model_caches_from_its_own_minimum(client: anthropic.Anthropic) -> None:
    """The prompt-caching page: 512 tokens for Claude Sonnet 5.5, 4096 for Claude Haiku 4.5.
    A system block of 2,400 characters is ceil((2400 + 26) / 4) = 607 tokens in the
    emulator's canonical JSON (`{"text":"...","type":"text"}` adds 26 characters); the user's
    "hi" is ceil(28 / 4) = 7."""
    sonnet = _cached(client, "claude-sonnet-5-5", 2400)
    assert sonnet.cache_creation_input_tokens == 607
    haiku = _cached(client, "claude-haiku-4-5", 2400)
    assert (haiku.cache_creation_input_tokens, haiku.input_tokens) == (0, 607 + 7)


def test_each_model_has_its_own_context_window(emu: ClaudeEmulator) -> None:
    """Claude Sonnet 4.5 has a 200k-token context window; Claude Sonnet 5.5 has 1M."""
    long = "w" * (4 * 200_001)
    body = {**_body("claude-sonnet-4-5"), "messages": [{"role": "user", "content": long}]}
    status, answer = raw_post(emu, "/v1/messages", body)
    assert status == 400
    assert answer["error"]["message"].startswith("prompt is too long: ")
    assert answer["error"]["message"].endswith(" > 200000 maximum")
    status, _ = raw_post(emu, "/v1/messages", {**body, "model": "claude-sonnet-5-5"})
    assert status == 200


def test_count_tokens_refuses_what_it_does_not_count(
    emu: ClaudeEmulator, client: anthropic.Anthropic
) -> None:
    """count_tokens takes the prompt, not a request's output settings: `max_tokens` is an
    extra input to it (the 400 quoted in Wei-Shaw/sub2api#4913, which strips max_tokens
    before counting). The SDK's own count_tokens sends only what it takes."""
    status, answer = raw_post(emu, "/v1/messages/count_tokens", _body())
    assert status == 400
    assert answer["error"] == {
        "type": "invalid_request_error",
        "message": "max_tokens: Extra inputs are not permitted",
    }
    counted = client.messages.count_tokens(
        model="claude-sonnet-5-5", messages=[{"role": "user", "content": "hi"}]
    )
    assert counted.input_tokens > 0
