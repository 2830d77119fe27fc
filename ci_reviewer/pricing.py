"""Token usage, token estimates and costs, priced from the one model table (`data/models.json`,
read by `ci_reviewer.models`) that `review`, `--dry-run`, `plan`, budgets and the emulator share."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

from ci_reviewer.models import ModelPrice, ModelTable, model_table

__all__ = ["CHARS_PER_TOKEN", "ModelPrice", "PriceTable", "Usage", "estimate_tokens", "price_table"]

# The documented approximation when no count_tokens endpoint is reachable: ~4 characters a
# token for English and code, as the API's own guidance says.
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class Usage:
    """Token counts as the API reports them (`usage` of a Message)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    # Of the cache writes, how many were written with the 1-hour TTL (billed higher).
    cache_creation_1h_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            self.cache_read_input_tokens + other.cache_read_input_tokens,
            self.cache_creation_1h_tokens + other.cache_creation_1h_tokens,
        )

    @property
    def total_input_tokens(self) -> int:
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens

    @classmethod
    def from_api(cls, usage: Any) -> Usage:
        """From an SDK `Usage` object (or its dict form)."""

        def get(obj: Any, name: str) -> Any:
            return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)

        breakdown = get(usage, "cache_creation")
        one_hour = get(breakdown, "ephemeral_1h_input_tokens") if breakdown is not None else 0
        return cls(
            input_tokens=int(get(usage, "input_tokens") or 0),
            output_tokens=int(get(usage, "output_tokens") or 0),
            cache_creation_input_tokens=int(get(usage, "cache_creation_input_tokens") or 0),
            cache_read_input_tokens=int(get(usage, "cache_read_input_tokens") or 0),
            cache_creation_1h_tokens=int(one_hour or 0),
        )


class PriceTable:
    """Dollars for token usage, from the one model table (`ci_reviewer.models`)."""

    def __init__(self, table: ModelTable) -> None:
        self.table = table
        self.batch_discount = table.batch_discount

    def price(self, model: str) -> ModelPrice | None:
        """The model's standard prices, or None when the table does not know it (cost
        unknown)."""
        facts = self.table.facts(model)
        return facts.price if facts is not None else None

    def cost(
        self, model: str, usage: Usage, *, batch: bool = False, requests: int = 1
    ) -> float | None:
        """Dollars for `usage` over `requests` requests; None for an unknown model. A model
        with a long-context tier is priced by the prompt size of a request (the average, for
        a total of several). Batch applies the discount to every token class."""
        facts = self.table.facts(model)
        if facts is None:
            return None
        price = facts.price_for(usage.total_input_tokens // max(1, requests))
        if price is None:
            return None
        one_hour = min(usage.cache_creation_1h_tokens, usage.cache_creation_input_tokens)
        five_minute = usage.cache_creation_input_tokens - one_hour
        dollars = (
            usage.input_tokens * price.input
            + usage.output_tokens * price.output
            + five_minute * price.cache_write_5m
            + one_hour * price.cache_write_1h
            + usage.cache_read_input_tokens * price.cache_read
        ) / 1_000_000
        return dollars * (self.batch_discount if batch else 1.0)


@cache
def price_table() -> PriceTable:
    return PriceTable(model_table())


def estimate_tokens(text: str) -> int:
    """Tokens for `text` by the documented approximation (ceil(chars / 4))."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)
