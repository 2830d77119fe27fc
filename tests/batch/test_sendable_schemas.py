"""The output schemas sent are the SDK's own transform of the product's schemas, whether
they come from the table kept in `data/sendable_schemas.json` (so that planning never
imports the SDK) or from the SDK itself."""

from __future__ import annotations

import anthropic

from ci_reviewer.structured import digest, product_constraints, sendable_schema


def test_every_product_schema_is_kept_transformed_as_the_sdk_transforms_it() -> None:
    from ci_reviewer.structured import _stored

    table = _stored()
    for name, constraints in product_constraints().items():
        expected = anthropic.transform_schema(dict(constraints))
        assert digest(constraints) in table, (
            f"{name}: run `python -m ci_reviewer.structured` to keep its transform"
        )
        assert sendable_schema(constraints) == expected, name
        # The same bytes are sent: key order included.
        assert list(sendable_schema(constraints)) == list(expected), name


def test_a_schema_not_in_the_table_is_transformed_by_the_sdk() -> None:
    constraints = {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 9}},
        "required": ["n"],
    }
    sent = sendable_schema(constraints)
    assert sent == anthropic.transform_schema(constraints)
    assert "minimum" not in sent["properties"]["n"]  # what a grammar cannot enforce moved
