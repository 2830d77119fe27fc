"""Output schemas as structured outputs accept them.

Structured outputs compile `output_config.format.schema` into a grammar and refuse (400)
what a grammar cannot enforce: numeric bounds, string lengths, `minItems` above 1, `maxItems`,
`uniqueItems`, some `pattern`s, unknown formats, open objects. A product schema states its whole
contract, bounds included; `sendable_schema` is what is sent: the SDK's own public transform
(`anthropic.transform_schema`, the one `messages.parse` applies), which keeps what the API
accepts and moves every other keyword into the node's description as `{keyword: value}`, so
the model still reads it. What moved is not enforced by the API: the product's validators
enforce it when they check the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anthropic


def sendable_schema(constraints: Mapping[str, Any]) -> dict[str, Any]:
    """The part of `constraints` the API accepts, the rest described (a new dict)."""
    return anthropic.transform_schema(dict(constraints))
