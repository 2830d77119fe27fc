"""List prices written out by hand from the models' pages, so tests price what the emulator
billed independently of the product's own price table."""

from __future__ import annotations

from ci_reviewer.pricing import Usage


def sonnet_5_5_dollars(usage: Usage) -> float:
    """Hand-priced at the Sonnet 5.5 page's list prices, independent of the product's
    table: $2 input, $10 output, $2.50 a 5-minute cache write, $0.10 a cache read, per
    million tokens."""
    return (
        usage.input_tokens * 2.0
        + usage.output_tokens * 10.0
        + usage.cache_creation_input_tokens * 2.5
        + usage.cache_read_input_tokens * 0.1
    ) / 1_000_000
