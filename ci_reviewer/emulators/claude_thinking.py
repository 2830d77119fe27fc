"""Thinking in the Claude emulator: which requests think, the thinking blocks a reply carries,
their signatures, and the checks the API makes on thinking blocks sent back.

Which requests think: the request's `thinking.type`, else the model's default from
the model table `data/models.json` (a model it says does not think by default does not
think unless asked). The display
is `thinking.display`, else the emulator's `display` option, else the model's default:
"omitted" shows an empty `thinking` (its tokens are billed all the same), "summarized" shows
the thought. `adaptive`/`enabled` think up front: the reply leads with a thinking block (the
scripted thought, or `DEFAULT_THOUGHT`), and the n-th scripted thought (n >= 1) comes just
before tool call n; `between_tools` keeps only those between tool calls.

Signatures: a thinking block's `signature` (and a redacted block's `data`) is base64 of a
kind byte, the SHA-256 of the shown text (of the hidden text for a redacted block), the
SHA-256 of the block's prefix, and an HMAC-SHA256 of those under the emulator's secret. The
prefix is what the preserved-thinking docs call it: tools, system, every earlier message and
the earlier blocks of the block's own message, each block without `cache_control` and
without null fields (a breakpoint that moves between turns is not an edit; a model or
gateway that drops nulls is not either).

Checks on every request, each answered with the API's own wording (400 invalid_request_error;
sources beside each message below), in message and block order:
- a thinking block without `signature`, a redacted one without `data`: Field required;
- a signature that does not open under the secret (edited, truncated, forged): invalid;
- a thinking text that no longer matches its signature: "cannot be modified" in the latest
  assistant message, an invalid signature in an earlier one;
- a redacted block of the latest assistant message whose data does not open: "cannot be
  modified" (earlier redacted blocks are not checked: the API's answer there is not known);
- a block whose prefix changed since it was produced: "bound to a different conversation";
- thinking up front, and the last message a user turn with tool_result blocks: the assistant
  turn before it must start with a thinking or redacted_thinking block;
- thinking on and a `tool_choice` that forces a tool (`any`, `tool`): refused;
- a `thinking.type` the model does not accept: refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ci_reviewer.emulators.claude_replies import Reply, Thought
from ci_reviewer.emulators.claude_usage import canonical, tokens_for
from ci_reviewer.emulators.claude_validation import ApiError

DEFAULT_THOUGHT = "Thinking about the request before answering."
THINKING_TYPES = ("adaptive", "enabled", "between_tools", "disabled")
DISPLAYS = ("summarized", "omitted")

# The API's messages (`{where}` is messages.N.content.M). Sources:
# - invalid signature: anthropics/claude-code#10627, anthropics/anthropic-sdk-python#1598;
# - bound to a different conversation: https://platform.claude.com/docs/en/build-with-claude/
#   preserved-thinking/fix-bound-to-a-different-conversation;
# - cannot be modified: anthropics/claude-code#25361, #63203;
# - missing thinking: anthropics/claude-code issue thread quoted in anomalyco/opencode#3077,
#   deepset-ai/haystack-core-integrations#2146 (the API's own spelling "preceeding");
# - redacted data required: diegosouzapw/OmniRoute#2191;
# - forced tool use: BerriAI/litellm#8883;
# - thinking.type.enabled: anthropics/claude-code#52811 (the same sentence for other types is
#   this emulator's extrapolation).
INVALID_SIGNATURE = "{where}: Invalid `signature` in `thinking` block"
BOUND_ELSEWHERE = (
    "{where}: Invalid `signature` in `thinking` block. The block is bound to a different "
    "conversation. Remove the block, or set `thinking.block_binding.prefix_mismatch_behavior` "
    'to "drop_block".'
)
MODIFIED = (
    "{where}: `thinking` or `redacted_thinking` blocks in the latest assistant message cannot "
    "be modified. These blocks must remain as they were in the original response."
)
MISSING = (
    "{where}.type: Expected `thinking` or `redacted_thinking`, but found `{found}`. When "
    "`thinking` is enabled, a final `assistant` message must start with a thinking block "
    "(preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you "
    "include thinking blocks from previous turns. To avoid this requirement, disable "
    "`thinking`. Please consult our documentation at "
    "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
)
FORCED_TOOL = "Thinking may not be enabled when tool_choice forces tool use."
UNSUPPORTED_TYPE = (
    '"thinking.type.{type}" is not supported for this model. Use "thinking.type.adaptive" '
    'and "output_config.effort" to control thinking behavior.'
)

_THINKING, _REDACTED = b"\x01", b"\x02"
_DIGEST = 32
_SEALED = 1 + 3 * _DIGEST


@dataclass(frozen=True)
class ModelThinking:
    """One model's thinking facts (see `model_thinking`)."""

    default: str
    accepts: tuple[str, ...]
    display: str


# What a model that the table says thinks, but whose thinking the table does not detail,
# is emulated as: adaptive by default, with the display the 5.5 models document.
_DERIVED = {
    "always-on": ModelThinking("adaptive", ("adaptive",), "omitted"),
    "on-by-default": ModelThinking("adaptive", ("adaptive", "disabled"), "omitted"),
}


@cache
def model_thinking() -> dict[str, ModelThinking]:
    """Each thinking model's facts, from the one model table (`data/models.json`): its
    `thinking` entry where the table has one, else derived from `adaptive_thinking`."""
    raw = json.loads(resources.files("ci_reviewer.data").joinpath("models.json").read_text())
    facts: dict[str, ModelThinking] = {}
    for name, entry in raw["models"].items():
        detail = entry.get("thinking")
        if detail is not None:
            facts[name] = ModelThinking(
                str(detail["default"]), tuple(detail["accepts"]), str(detail["display"])
            )
        elif entry.get("adaptive_thinking") in _DERIVED:
            facts[name] = _DERIVED[entry["adaptive_thinking"]]
    for alias, name in (raw.get("aliases") or {}).items():
        if name in facts:
            facts[alias] = facts[name]
    return facts


@dataclass(frozen=True)
class ThinkingMode:
    """How one request thinks."""

    type: str
    display: str

    @property
    def on(self) -> bool:
        return self.type != "disabled"

    @property
    def up_front(self) -> bool:
        return self.type in ("adaptive", "enabled")


def thinking_mode(body: Mapping[str, Any], display: str | None = None) -> ThinkingMode:
    """The request's thinking; ApiError for a `thinking` the model refuses."""
    facts = model_thinking().get(str(body.get("model")))
    param = body.get("thinking")
    if param is None:
        kind = facts.default if facts else "disabled"
        chosen = None
    elif not isinstance(param, Mapping) or param.get("type") not in THINKING_TYPES:
        raise ApiError("invalid_request_error", f"thinking.type: must be one of {THINKING_TYPES}")
    else:
        kind, chosen = str(param["type"]), param.get("display")
    if facts is not None and kind not in facts.accepts:
        raise ApiError("invalid_request_error", UNSUPPORTED_TYPE.format(type=kind))
    if chosen is not None and chosen not in DISPLAYS:
        raise ApiError("invalid_request_error", f"thinking.display: must be one of {DISPLAYS}")
    shown = chosen or display or (facts.display if facts else "summarized")
    return ThinkingMode(kind, str(shown))


def thoughts_for(reply: Reply, mode: ThinkingMode) -> tuple[Thought, ...]:
    """The thoughts `reply` carries under `mode` (the default one when none is scripted)."""
    if not mode.on:
        return ()
    thoughts = reply.thoughts or ((Thought(DEFAULT_THOUGHT),) if mode.up_front else ())
    if not mode.up_front:
        return (Thought(""), *thoughts[1:]) if len(thoughts) > 1 else ()
    return thoughts


def thinking_tokens(thoughts: Sequence[Thought]) -> int:
    """What the thoughts bill as output: their whole text, shown or not."""
    return sum(tokens_for(len(thought.text)) for thought in thoughts if thought.text)


def _normalized(block: Any) -> Any:
    if not isinstance(block, Mapping):
        return block
    return {k: v for k, v in block.items() if k != "cache_control" and v is not None}


def _as_blocks(content: Any) -> list[Any]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return list(content) if isinstance(content, list) else []


class Prefix:
    """A running hash of a prompt prefix, in the order the prefix check reads it."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        self._hash = hashlib.sha256(b"prefix-v1")
        for tool in body.get("tools") or []:
            self.add(tool)
        self._hash.update(b"\x1d")
        for block in _as_blocks(body.get("system")):
            self.add(block)
        self._hash.update(b"\x1d")

    def start(self, role: str) -> None:
        self._hash.update(b"\x1e" + role.encode())

    def add(self, block: Any) -> None:
        self._hash.update(canonical(_normalized(block)).encode() + b"\x1f")

    def digest(self) -> bytes:
        return self._hash.copy().digest()


class ThinkingSigner:
    """Signs the thinking blocks of replies and checks those sent back (module docstring)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _seal(self, kind: bytes, text: str, prefix: bytes) -> str:
        sealed = kind + hashlib.sha256(text.encode()).digest() + prefix
        mac = hmac.new(self._secret, sealed, hashlib.sha256).digest()
        return base64.b64encode(sealed + mac).decode()

    def _open(self, kind: bytes, value: Any) -> tuple[bytes, bytes] | None:
        """(text digest, prefix digest) of a value this emulator sealed, else None."""
        try:
            raw = base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            return None
        if len(raw) != _SEALED or raw[:1] != kind:
            return None
        sealed, mac = raw[:-_DIGEST], raw[-_DIGEST:]
        expected = hmac.new(self._secret, sealed, hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            return None
        return sealed[1 : 1 + _DIGEST], sealed[1 + _DIGEST :]

    def block(self, thought: Thought, mode: ThinkingMode, prefix: bytes) -> dict[str, Any]:
        if thought.redacted:
            return {
                "type": "redacted_thinking",
                "data": self._seal(_REDACTED, thought.text, prefix),
            }
        shown = thought.text if mode.display == "summarized" else ""
        return {
            "type": "thinking",
            "thinking": shown,
            "signature": self._seal(_THINKING, shown, prefix),
        }

    def content(
        self,
        reply: Reply,
        thoughts: Sequence[Thought],
        mode: ThinkingMode,
        body: Mapping[str, Any],
        id_prefix: str,
    ) -> list[dict[str, Any]]:
        """The reply's content blocks in order, thinking blocks signed over their prefix."""
        visible = reply.content(id_prefix)
        calls = [b for b in visible if b["type"] == "tool_use"]
        placed: list[tuple[Thought | None, dict[str, Any] | None]] = []
        if thoughts and thoughts[0].text:
            placed.append((thoughts[0], None))
        placed += [(None, block) for block in visible if block["type"] != "tool_use"]
        for number, call in enumerate(calls):
            if 1 <= number < len(thoughts):
                placed.append((thoughts[number], None))
            placed.append((None, call))
        prefix = Prefix(body)
        for message in body.get("messages") or []:
            prefix.start(str(message.get("role")))
            for block in _as_blocks(message.get("content")):
                prefix.add(block)
        prefix.start("assistant")
        blocks: list[dict[str, Any]] = []
        for thought, block in placed:
            rendered = block if thought is None else self.block(thought, mode, prefix.digest())
            assert rendered is not None
            prefix.add(rendered)
            blocks.append(rendered)
        return blocks

    def check(self, body: Mapping[str, Any], mode: ThinkingMode) -> None:
        """Raise ApiError for what the API refuses about thinking in `body` (docstring)."""
        choice = body.get("tool_choice")
        if mode.on and isinstance(choice, Mapping) and choice.get("type") in ("any", "tool"):
            raise ApiError("invalid_request_error", FORCED_TOOL)
        messages = [m for m in body.get("messages") or [] if isinstance(m, Mapping)]
        latest = max(
            (i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=-1
        )
        for index, position, block, prefix in _assistant_blocks(body, messages):
            self._check_block(
                block, f"messages.{index}.content.{position}", index == latest, prefix
            )
        if mode.up_front:
            _check_leading_thinking(messages)

    def _check_block(
        self, block: Mapping[str, Any], where: str, latest: bool, prefix: bytes
    ) -> None:
        def refuse(message: str) -> ApiError:
            return ApiError("invalid_request_error", message.format(where=where))

        if block["type"] == "redacted_thinking":
            if not isinstance(block.get("data"), str):
                raise refuse("{where}.redacted_thinking.data: Field required")
            opened = self._open(_REDACTED, block["data"])
            if opened is None:
                if latest:
                    raise refuse(MODIFIED)
                return
        else:
            if not isinstance(block.get("signature"), str):
                raise refuse("{where}.thinking.signature: Field required")
            opened = self._open(_THINKING, block["signature"])
            if opened is None:
                raise refuse(INVALID_SIGNATURE)
            text = str(block.get("thinking") or "")
            if not hmac.compare_digest(opened[0], hashlib.sha256(text.encode()).digest()):
                raise refuse(MODIFIED if latest else INVALID_SIGNATURE)
        if not hmac.compare_digest(opened[1], prefix):
            raise refuse(BOUND_ELSEWHERE)


def _assistant_blocks(
    body: Mapping[str, Any], messages: Sequence[Mapping[str, Any]]
) -> Iterator[tuple[int, int, Mapping[str, Any], bytes]]:
    """Every thinking or redacted_thinking block of an assistant message, with the digest
    of the prefix before it."""
    prefix = Prefix(body)
    for index, message in enumerate(messages):
        role = str(message.get("role"))
        prefix.start(role)
        for position, block in enumerate(_as_blocks(message.get("content"))):
            kind = block.get("type") if isinstance(block, Mapping) else None
            if role == "assistant" and kind in ("thinking", "redacted_thinking"):
                yield index, position, block, prefix.digest()
            prefix.add(block)


def _check_leading_thinking(messages: Sequence[Mapping[str, Any]]) -> None:
    """With thinking up front, the assistant turn answered by tool results leads with thinking."""
    if len(messages) < 2 or messages[-1].get("role") != "user":
        return
    results = [b for b in _as_blocks(messages[-1].get("content")) if _type(b) == "tool_result"]
    turn = messages[-2]
    if not results or turn.get("role") != "assistant":
        return
    blocks = _as_blocks(turn.get("content"))
    found = _type(blocks[0]) if blocks else "nothing"
    if found not in ("thinking", "redacted_thinking"):
        where = f"messages.{len(messages) - 2}.content.0"
        raise ApiError("invalid_request_error", MISSING.format(where=where, found=found))


def _type(block: Any) -> str:
    return str(block.get("type")) if isinstance(block, Mapping) else type(block).__name__
