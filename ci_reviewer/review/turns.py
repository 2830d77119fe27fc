"""What a reply's content means to the conversation: the blocks the next request sends back
as the assistant turn, and the answer's text.

Thinking blocks (`thinking`, `redacted_thinking`) go back byte for byte and in their place:
the API verifies each against its signature and the conversation before it, and refuses a
turn answered by tool results that does not lead with its thinking. They never count as the
answer: only text blocks do.
"""

from __future__ import annotations

from typing import Any

from ci_reviewer.claude import Reply


def assistant_blocks(message: Reply) -> list[dict[str, Any]]:
    """The reply's content as the next request sends it back (request fields only)."""
    blocks: list[dict[str, Any]] = []
    for block in message.content:
        kind = block.get("type")
        if kind == "text":
            if block.get("text"):
                blocks.append({"type": "text", "text": block["text"]})
        elif kind == "tool_use":
            blocks.append(
                {
                    "type": "tool_use",
                    "id": block["id"],
                    "name": block["name"],
                    "input": block["input"],
                }
            )
        elif kind in ("thinking", "redacted_thinking"):
            blocks.append(dict(block))  # exactly as received (see the module docstring)
        else:
            blocks.append(without_nulls(block))
    return blocks


def without_nulls(value: Any) -> Any:
    """A JSON value without its null fields (a response field that a request must not send)."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def answer_text(message: Reply) -> str:
    """The answer a turn carries: its text blocks, never its thinking."""
    return "".join(
        str(block.get("text") or "") for block in message.content if block.get("type") == "text"
    )


def only_thinking(message: Reply) -> bool:
    """A turn whose content is thinking and nothing else (the model never got to answer)."""
    kinds = {block.get("type") for block in message.content}
    return bool(kinds) and kinds <= {"thinking", "redacted_thinking"}
