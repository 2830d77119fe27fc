"""Prompt-cache breakpoints for the review conversations (at most 4 per request, as the API
allows).

1. the last system block: tools and system prompt, the same for every file;
2. the PR overview (first block of the first user message): shared by every file of the PR;
3. the last block of the latest user message: the next turn reads the whole conversation so
   far from the cache;
4. the last block of the previous user message: the entry the previous turn wrote, so the
   cache is hit even when a turn added more blocks than the API's lookback window.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

EPHEMERAL: dict[str, str] = {"type": "ephemeral"}


def _marked(block: dict[str, Any]) -> dict[str, Any]:
    return {**block, "cache_control": EPHEMERAL}


def cached_system(blocks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The system blocks with a breakpoint on the last one."""
    copied = [dict(block) for block in blocks]
    if copied:
        copied[-1] = _marked(copied[-1])
    return copied


def mark_breakpoints(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of `messages` with breakpoints 2 to 4; the stored conversation is untouched."""
    copied = [{**message, "content": list(message["content"])} for message in messages]
    user_turns = [index for index, message in enumerate(copied) if message["role"] == "user"]
    if not user_turns:
        return copied
    first = copied[user_turns[0]]["content"]
    first[0] = _marked(first[0])
    for index in user_turns[-2:]:
        content = copied[index]["content"]
        content[-1] = _marked(content[-1])
    return copied
