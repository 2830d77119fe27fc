"""Token and cost estimates before anything is sent: from the count_tokens endpoint when it
is reachable, else from the documented approximation (characters / 4)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ci_reviewer.pricing import Usage, estimate_tokens, price_table


class TokenCounter(Protocol):
    def count(self, params: Mapping[str, Any]) -> int:
        """Input tokens of one Messages request."""


class ApproximateCounter:
    """ceil(characters / 4) over the request's system, tools and messages as JSON."""

    def count(self, params: Mapping[str, Any]) -> int:
        relevant = {k: params[k] for k in ("system", "tools", "messages") if k in params}
        return estimate_tokens(json.dumps(relevant, ensure_ascii=False))


class ApiCounter:
    """Asks POST /v1/messages/count_tokens; falls back to the approximation if it fails."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._fallback = ApproximateCounter()
        self.fell_back = False

    def count(self, params: Mapping[str, Any]) -> int:
        import anthropic

        body = {k: params[k] for k in ("model", "system", "tools", "messages") if k in params}
        try:
            return int(self._client.messages.count_tokens(**body).input_tokens)
        except anthropic.AnthropicError:
            self.fell_back = True
            return self._fallback.count(params)


@dataclass(frozen=True)
class CostEstimate:
    """An estimate for a set of requests; `usd` is None when the model has no price."""

    requests: int
    input_tokens: int
    output_tokens: int
    usd: float | None
    sync_usd: float | None


def estimate_requests(
    requests: list[Mapping[str, Any]],
    model: str,
    counter: TokenCounter,
    *,
    expected_output_tokens: int = 1500,
    batch: bool = True,
) -> CostEstimate:
    """Estimate cost of single-shot requests, at batch price and as if sent synchronously.

    Output cannot be known before the model answers: `expected_output_tokens` per request
    (capped by each request's max_tokens) stands in for it.
    """
    table = price_table()
    input_tokens = 0
    output_tokens = 0
    for params in requests:
        input_tokens += counter.count(params)
        output_tokens += min(expected_output_tokens, int(params.get("max_tokens", 0) or 0))
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
    return CostEstimate(
        requests=len(requests),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        usd=table.cost(model, usage, batch=batch, requests=len(requests)),
        sync_usd=table.cost(model, usage, batch=False, requests=len(requests)),
    )
