"""Prices (data in `data/prices.json`), token estimates and costs: the one price table that
`review`, `--dry-run`, `plan` and budgets share."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

# The documented approximation when no count_tokens endpoint is reachable: ~4 characters a
# token for English and code, as the API's own guidance says.
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens on the standard (synchronous) tier."""

    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float


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


@dataclass(frozen=True)
class PriceTable:
    models: dict[str, ModelPrice]
    aliases: dict[str, str]
    batch_discount: float

    def price(self, model: str) -> ModelPrice | None:
        """The model's prices, or None when the table does not know it (cost unknown)."""
        return self.models.get(self.aliases.get(model, model))

    def cost(self, model: str, usage: Usage, *, batch: bool = False) -> float | None:
        """Dollars for `usage`; None for an unknown model. Batch halves every token class."""
        price = self.price(model)
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
    raw = json.loads(resources.files("ci_reviewer.data").joinpath("prices.json").read_text())
    return PriceTable(
        models={name: ModelPrice(**fields) for name, fields in raw["models"].items()},
        aliases=dict(raw["aliases"]),
        batch_discount=float(raw["batch_discount"]),
    )


def estimate_tokens(text: str) -> int:
    """Tokens for `text` by the documented approximation (ceil(chars / 4))."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)
