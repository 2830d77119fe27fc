"""Token figures and prompt caching as the Claude emulator bills them.

Tokens (a documented approximation, not a tokenizer): the prompt is cut into blocks in the
order the API caches it: each tool definition, then each system block (a string system is one
text block), then each message's content blocks (a string content is one text block). A
block's tokens are ceil(len(canonical JSON)/4), where the canonical JSON has sorted keys, no
spaces, non-ASCII kept, and `cache_control` removed (so marking a breakpoint costs nothing).
Input tokens are the sum over blocks, so any prefix has an exact token count and
input + cache_creation + cache_read always add up to the whole prompt. Output tokens are
ceil(chars/4) (at least 1) over the text of text blocks plus name and canonical input of
tool_use blocks, plus, for a reply that thinks, ceil(chars/4) of each thought's whole text
(shown, omitted or redacted alike; `claude_thinking`).

Caching, as the real API describes it: breakpoints are blocks carrying `cache_control` and,
with the top-level `cache_control` parameter, the last block. A cache entry is keyed by the
model and a hash of the whole prefix up to and including a breakpoint block (the hash also
covers each message block's role). For each breakpoint the emulator looks back over up to
`LOOKBACK_BLOCKS` earlier block positions for a live entry; the longest hit is billed as
`cache_read_input_tokens` (and its lifetime is refreshed). Tokens after the hit up to the last
breakpoint whose prefix is at least the model's minimum cacheable length (the model table's
figure, or the emulator's `min_cacheable_tokens` override) long are billed as
`cache_creation_input_tokens`, split by the TTL of the breakpoint that closes each segment
(`cache_creation.ephemeral_5m_input_tokens` / `ephemeral_1h_input_tokens`), and entries are
written for those breakpoints. Everything else is `input_tokens`. Prefixes shorter than
`min_cacheable_tokens` are neither written nor billed as creation.

Requests processed at the same time cannot read what the others write: within a `wave` (the
requests of a batch processed together, `claude_batches`) every write becomes visible only
when the wave ends. A Messages call looks the cache up when it arrives and its entries become
visible when its prefill ends, at its first token (`bill(..., writes=...)` then `publish`):
"a cache entry only becomes available after the first response begins" (the prompt-caching
docs, on concurrent requests), so a request that arrives during another's prefill misses.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ci_reviewer.emulators.claude_clock import EmulatedClock
from ci_reviewer.models import model_table

LOOKBACK_BLOCKS = 20
# For a model the table has no cache figure for (the largest threshold any model has).
DEFAULT_MIN_CACHEABLE_TOKENS = 4096
TTLS = {"5m": timedelta(minutes=5), "1h": timedelta(hours=1)}


def canonical(value: Any) -> str:
    """The serialization every token figure is computed over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def tokens_for(chars: int) -> int:
    return math.ceil(chars / 4)


@dataclass(frozen=True)
class PromptBlock:
    """One cacheable unit of a prompt: its tokens, its identity, and its breakpoint TTL."""

    tokens: int
    identity: str
    breakpoint_ttl: str | None


def _without_cache_control(block: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in block.items() if key != "cache_control"}


def _ttl_of(block: Mapping[str, Any]) -> str | None:
    control = block.get("cache_control")
    if not isinstance(control, Mapping):
        return None
    return str(control.get("ttl") or "5m")


def _as_blocks(content: Any) -> list[Mapping[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [block for block in content if isinstance(block, Mapping)]
    return []


def _block(block: Mapping[str, Any], scope: str) -> PromptBlock:
    text = canonical(_without_cache_control(block))
    return PromptBlock(tokens_for(len(text)), f"{scope}:{text}", _ttl_of(block))


def prompt_blocks(body: Mapping[str, Any]) -> list[PromptBlock]:
    """The request's prompt in cache order: tools, system, messages."""
    blocks = [_block(tool, "tool") for tool in body.get("tools") or [] if isinstance(tool, Mapping)]
    blocks += [_block(block, "system") for block in _as_blocks(body.get("system"))]
    for message in body.get("messages") or []:
        if isinstance(message, Mapping):
            role = str(message.get("role"))
            blocks += [_block(block, role) for block in _as_blocks(message.get("content"))]
    automatic = body.get("cache_control")
    if isinstance(automatic, Mapping) and blocks and blocks[-1].breakpoint_ttl is None:
        last = blocks[-1]
        ttl = str(automatic.get("ttl") or "5m")
        blocks[-1] = PromptBlock(last.tokens, last.identity, ttl)
    return blocks


def input_tokens(body: Mapping[str, Any]) -> int:
    """What count_tokens answers: the whole prompt, cached or not."""
    return sum(block.tokens for block in prompt_blocks(body))


def output_tokens(content: Sequence[Mapping[str, Any]]) -> int:
    chars = 0
    for block in content:
        if block.get("type") == "text":
            chars += len(str(block.get("text", "")))
        elif block.get("type") == "tool_use":
            chars += len(str(block.get("name", ""))) + len(canonical(block.get("input", {})))
    return max(1, tokens_for(chars))


@dataclass(frozen=True)
class Usage:
    """What one call was billed."""

    input_tokens: int
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_5m: int = 0
    cache_creation_1h: int = 0
    # Of the output, what thinking took; None when the request did not think.
    thinking_tokens: int | None = None

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens

    def with_output(self, tokens: int, thinking: int | None = None) -> Usage:
        return Usage(
            self.input_tokens,
            tokens,
            self.cache_creation_input_tokens,
            self.cache_read_input_tokens,
            self.cache_creation_5m,
            self.cache_creation_1h,
            thinking,
        )

    def to_json(self, service_tier: str) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_creation_5m,
                "ephemeral_1h_input_tokens": self.cache_creation_1h,
            },
            "service_tier": service_tier,
        }
        if self.thinking_tokens is not None:
            usage["output_tokens_details"] = {"thinking_tokens": self.thinking_tokens}
        return usage


def _prefix_keys(model: str, blocks: Sequence[PromptBlock]) -> Iterator[str]:
    digest = hashlib.sha256(model.encode())
    for block in blocks:
        digest.update(b"\x00" + block.identity.encode())
        yield digest.hexdigest()


class PromptCache:
    """Cache entries (prefix key -> expiry) on the emulator's clock; thread-safe."""

    def __init__(self, clock: EmulatedClock, min_cacheable_tokens: int | None = None) -> None:
        self.clock = clock
        # None: each model's own threshold, from the model table.
        self.min_cacheable_tokens = min_cacheable_tokens
        self._entries: dict[str, tuple[datetime, str]] = {}
        # While a wave runs, what it writes (visible once it ends); None outside a wave.
        self._pending: dict[str, tuple[datetime, str]] | None = None
        self._lock = threading.Lock()

    def threshold(self, model: str) -> int:
        """The shortest prefix `model` caches: the override, else the model table's figure."""
        if self.min_cacheable_tokens is not None:
            return self.min_cacheable_tokens
        facts = model_table().facts(model)
        if facts is None or facts.min_cacheable_tokens is None:
            return DEFAULT_MIN_CACHEABLE_TOKENS
        return facts.min_cacheable_tokens

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    @contextlib.contextmanager
    def wave(self) -> Iterator[None]:
        """Requests billed inside are processed at the same time: none reads another's
        writes; they all become visible when the block ends."""
        with self._lock:
            self._pending = {}
        try:
            yield
        finally:
            with self._lock:
                pending, self._pending = self._pending or {}, None
                self._entries.update(pending)

    def publish(self, writes: Mapping[str, tuple[datetime, str]]) -> None:
        """Make the entries a request's `bill(..., writes=)` held back visible (its prefill
        is over)."""
        with self._lock:
            self._entries.update(writes)

    def bill(
        self,
        model: str,
        body: Mapping[str, Any],
        writes: dict[str, tuple[datetime, str]] | None = None,
    ) -> Usage:
        """Bill the prompt of one request, reading and writing cache entries; with `writes`,
        the entries it writes go there, for `publish` to make visible later."""
        blocks = prompt_blocks(body)
        keys = list(_prefix_keys(model, blocks))
        ends = _cumulative(blocks)
        least = self.threshold(model)
        breakpoints = [
            index
            for index, block in enumerate(blocks)
            if block.breakpoint_ttl and ends[index] >= least
        ]
        now = self.clock.now()
        with self._lock:
            hit = self._longest_hit(keys, breakpoints, now)
            read = ends[hit] if hit is not None else 0
            created = {"5m": 0, "1h": 0}
            previous = read
            for index in breakpoints:
                ttl = blocks[index].breakpoint_ttl or "5m"
                if hit is None or index > hit:
                    created[ttl] += max(0, ends[index] - previous)
                    previous = max(previous, ends[index])
                    written = (now + TTLS.get(ttl, TTLS["5m"]), ttl)
                    target = self._entries if self._pending is None else self._pending
                    if writes is not None:
                        target = writes
                    target[keys[index]] = written
        creation = created["5m"] + created["1h"]
        total = ends[-1] if ends else 0
        return Usage(
            input_tokens=total - read - creation,
            cache_creation_input_tokens=creation,
            cache_read_input_tokens=read,
            cache_creation_5m=created["5m"],
            cache_creation_1h=created["1h"],
        )

    def _longest_hit(self, keys: list[str], breakpoints: list[int], now: datetime) -> int | None:
        best: int | None = None
        for breakpoint in breakpoints:
            for index in range(breakpoint, max(-1, breakpoint - LOOKBACK_BLOCKS - 1), -1):
                entry = self._entries.get(keys[index])
                if entry is None or entry[0] <= now:
                    continue
                if best is None or index > best:
                    best = index
                break
        if best is not None:
            ttl = self._entries[keys[best]][1]
            self._entries[keys[best]] = (now + TTLS.get(ttl, TTLS["5m"]), ttl)
        return best


def _cumulative(blocks: Sequence[PromptBlock]) -> list[int]:
    ends: list[int] = []
    running = 0
    for block in blocks:
        running += block.tokens
        ends.append(running)
    return ends
