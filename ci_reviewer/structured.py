"""Output schemas as structured outputs accept them.

Structured outputs compile `output_config.format.schema` into a grammar and refuse (400)
what a grammar cannot enforce: numeric bounds, string lengths, `minItems` above 1, `maxItems`,
`uniqueItems`, some `pattern`s, unknown formats, open objects. A product schema states its whole
contract, bounds included; `sendable_schema` is what is sent: the SDK's own public transform
(`anthropic.transform_schema`, the one `messages.parse` applies), which keeps what the API
accepts and moves every other keyword into the node's description as `{keyword: value}`, so
the model still reads it. What moved is not enforced by the API: the product's validators
enforce it when they check the answer.

The SDK takes seconds to import, longer than a small batch dry run takes to plan, and the
transform of a fixed schema is always the same: the product's schemas are kept transformed
in `data/sendable_schemas.json`, keyed by a digest of the constraints, and only a schema not
found there is transformed by the SDK. A test keeps the file equal to the SDK's transform
(`python -m ci_reviewer.structured` writes it again).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

_STORED = "sendable_schemas.json"


def sendable_schema(constraints: Mapping[str, Any]) -> dict[str, Any]:
    """The part of `constraints` the API accepts, the rest described (a new dict)."""
    stored = _stored().get(digest(constraints))
    if stored is None:
        return transformed(constraints)
    schema: dict[str, Any] = json.loads(stored)
    return schema


def transformed(constraints: Mapping[str, Any]) -> dict[str, Any]:
    """`anthropic.transform_schema` of `constraints`, through the SDK."""
    import anthropic

    return anthropic.transform_schema(dict(constraints))


def digest(constraints: Mapping[str, Any]) -> str:
    canonical = json.dumps(constraints, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@cache
def _stored() -> dict[str, str]:
    """digest -> the transformed schema as JSON text (parsed anew per ask: a fresh dict)."""
    text = resources.files("ci_reviewer.data").joinpath(_STORED).read_text(encoding="utf-8")
    return {key: json.dumps(value) for key, value in json.loads(text).items()}


def product_constraints() -> dict[str, Mapping[str, Any]]:
    """Every schema the product sends, by name."""
    from ci_reviewer.batch.jobs import report, security_audit, test_generation
    from ci_reviewer.review import findings

    return {
        "report": report.CONSTRAINTS,
        "security-audit": security_audit.CONSTRAINTS,
        "test-generation": test_generation.CONSTRAINTS,
        "review": findings.ANSWER_CONSTRAINTS,
    }


def main() -> None:
    """Write `data/sendable_schemas.json` from the SDK's transform of every product schema."""
    target = resources.files("ci_reviewer.data").joinpath(_STORED)
    table = {digest(c): transformed(c) for c in product_constraints().values()}
    with resources.as_file(target) as path:
        path.write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
