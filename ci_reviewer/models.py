"""The one table of per-model facts (`data/models.json`): which models exist, their context
window, max output tokens, minimum cacheable prompt length, whether adaptive thinking runs
unasked, and their prices (with a long-context tier where the model has one).

The product reads it for cost estimates, budgets and the limits it checks before sending; the
Claude emulator reads the same file for which models exist, the max_tokens limit, the context
window and the cache threshold. Every figure names its source in the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

# Adaptive thinking when the request does not ask: runs always, runs unless turned off,
# runs only when asked, or the model only has manual extended thinking.
THINKING_MODES = ("always-on", "on-by-default", "off-by-default", "not-supported")


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens on the standard (synchronous) tier."""

    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float


@dataclass(frozen=True)
class LongContextPrice:
    """Prices of a request whose prompt (cache reads and writes included) is above a size."""

    above_prompt_tokens: int
    price: ModelPrice


@dataclass(frozen=True)
class ModelFacts:
    """One model as the API serves it; None where the table has no sourced figure."""

    id: str
    lifecycle: str
    context_window: int
    max_output_tokens: int | None
    min_cacheable_tokens: int | None
    adaptive_thinking: str | None
    price: ModelPrice | None
    long_context: LongContextPrice | None
    # The name the API gives the model in its messages (a dated snapshot for older models).
    snapshot: str
    retires: str | None
    source: Mapping[str, str]
    # The thinking types a request may name (None: the table does not say).
    thinking_accepts: tuple[str, ...] | None = None

    @property
    def callable(self) -> bool:
        """Whether requests naming it can succeed (a retired model answers 404)."""
        return self.lifecycle != "retired"

    def price_for(self, prompt_tokens: int) -> ModelPrice | None:
        """The prices of one request whose whole prompt is `prompt_tokens` long."""
        tier = self.long_context
        if tier is not None and prompt_tokens > tier.above_prompt_tokens:
            return tier.price
        return self.price


@dataclass(frozen=True)
class ModelTable:
    models: Mapping[str, ModelFacts]
    aliases: Mapping[str, str]
    batch_discount: float
    sources: Mapping[str, Mapping[str, str]]

    def facts(self, model: str) -> ModelFacts | None:
        """The model's row (a dated alias resolves to its model), or None when unknown."""
        return self.models.get(self.aliases.get(model, model))

    def callable_ids(self) -> tuple[str, ...]:
        """The model ids a request can name, newest first as the table lists them."""
        return tuple(mid for mid, facts in self.models.items() if facts.callable)


def _price(raw: Mapping[str, Any] | None) -> ModelPrice | None:
    if raw is None:
        return None
    return ModelPrice(
        float(raw["input"]),
        float(raw["output"]),
        float(raw["cache_write_5m"]),
        float(raw["cache_write_1h"]),
        float(raw["cache_read"]),
    )


def _facts(model_id: str, raw: Mapping[str, Any]) -> ModelFacts:
    tier = raw.get("long_context_price")
    long_context = None
    if tier is not None:
        price = _price(tier)
        assert price is not None
        long_context = LongContextPrice(int(tier["above_prompt_tokens"]), price)
    return ModelFacts(
        id=model_id,
        lifecycle=str(raw["lifecycle"]),
        context_window=int(raw["context_window"]),
        max_output_tokens=raw.get("max_output_tokens"),
        min_cacheable_tokens=raw.get("min_cacheable_tokens"),
        adaptive_thinking=raw.get("adaptive_thinking"),
        price=_price(raw.get("price")),
        long_context=long_context,
        snapshot=str(raw.get("snapshot") or model_id),
        retires=raw.get("retires"),
        source=dict(raw.get("source") or {}),
        thinking_accepts=_thinking_accepts(raw),
    )


# What a model whose table row has no `thinking` entry accepts, by its adaptive_thinking.
_DERIVED_ACCEPTS = {"always-on": ("adaptive",), "on-by-default": ("adaptive", "disabled")}


def _thinking_accepts(raw: Mapping[str, Any]) -> tuple[str, ...] | None:
    detail = raw.get("thinking")
    if isinstance(detail, Mapping):
        return tuple(str(kind) for kind in detail.get("accepts") or ())
    return _DERIVED_ACCEPTS.get(str(raw.get("adaptive_thinking")))


def load_table(raw: Mapping[str, Any]) -> ModelTable:
    return ModelTable(
        models={mid: _facts(mid, fields) for mid, fields in raw["models"].items()},
        aliases=dict(raw["aliases"]),
        batch_discount=float(raw["batch_discount"]),
        sources={key: dict(value) for key, value in raw["sources"].items()},
    )


@cache
def model_table() -> ModelTable:
    text = resources.files("ci_reviewer.data").joinpath("models.json").read_text("utf-8")
    return load_table(json.loads(text))
