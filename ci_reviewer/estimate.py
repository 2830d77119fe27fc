"""Token and cost estimates before anything is sent: from the count_tokens endpoint when it
is reachable, else from the documented approximation (characters / 4).

Output cannot be known before the model answers: an expected answer length stands in for it,
capped by the request's max_tokens. A request that asks for thinking spends output on it too:
the SDK's `Usage.output_tokens` is "the inclusive, authoritative total used for billing", its
thinking included (anthropic 2.17.0, types/usage.py), and thinking counts against max_tokens.
So a request with `thinking: {type: enabled, budget_tokens: B}` is counted as the answer plus
B; one with adaptive thinking (`adaptive`, `between_tools`: the model decides how much, with
no budget of its own) as its whole max_tokens, the most it can be billed.
"""

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
    """Asks POST /v1/messages/count_tokens. After the first failure it asks no more and
    counts by the approximation; `failure` says what failed (`fell_back` that one did)."""

    # What count_tokens takes of a Messages request (the SDK's own parameters): anything
    # else, such as max_tokens, the API refuses as an extra input.
    PARAMETERS = (
        "model",
        "messages",
        "system",
        "tools",
        "tool_choice",
        "thinking",
        "output_config",
        "cache_control",
        "speed",
    )

    def __init__(self, client: Any) -> None:
        self._client = client
        self._fallback = ApproximateCounter()
        self.failure: str | None = None

    @property
    def fell_back(self) -> bool:
        return self.failure is not None

    def count(self, params: Mapping[str, Any]) -> int:
        import anthropic

        if self.failure is not None:
            return self._fallback.count(params)
        body = {k: params[k] for k in self.PARAMETERS if k in params}
        try:
            return int(self._client.messages.count_tokens(**body).input_tokens)
        except anthropic.APIStatusError as error:
            self.failure = f"count_tokens answered {error.status_code} ({_error_type(error)})"
        except anthropic.AnthropicError as error:
            self.failure = f"count_tokens could not be reached ({type(error).__name__})"
        return self._fallback.count(params)


def _error_type(error: Any) -> str:
    body = getattr(error, "body", None)
    inner = body.get("error") if isinstance(body, Mapping) else None
    kind = inner.get("type") if isinstance(inner, Mapping) else None
    return str(kind or "no error type")


THINKING_OFF = ("disabled",)
ADAPTIVE = ("adaptive", "between_tools")


def output_allowance(params: Mapping[str, Any], expected: int) -> tuple[int, str]:
    """The output tokens counted for one request, and how its thinking was counted: "" (it
    asks for none), "budget" (answer + budget_tokens) or "adaptive" (all of max_tokens);
    never more than max_tokens, which bounds answer and thinking together."""
    ceiling = int(params.get("max_tokens", 0) or 0)
    thinking = params.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, Mapping) else None
    if kind is None or kind in THINKING_OFF:
        return min(expected, ceiling), ""
    if kind in ADAPTIVE:
        return ceiling, "adaptive"
    budget = thinking.get("budget_tokens") if isinstance(thinking, Mapping) else None
    return min(expected + int(budget or 0), ceiling), "budget"


@dataclass(frozen=True)
class CostEstimate:
    """An estimate for a set of requests; `usd` is None when the model has no price.
    `thinking` is how the requests' thinking is in `output_tokens` ("" when none asks)."""

    requests: int
    input_tokens: int
    output_tokens: int
    usd: float | None
    sync_usd: float | None
    thinking: str = ""


def estimate_requests(
    requests: list[Mapping[str, Any]],
    model: str,
    counter: TokenCounter,
    *,
    expected_output_tokens: int = 1500,
    batch: bool = True,
) -> CostEstimate:
    """Estimate cost of single-shot requests, at batch price and as if sent synchronously.

    Output cannot be known before the model answers: `expected_output_tokens` per request,
    with the thinking it asks for (`output_allowance`), stands in for it.
    """
    table = price_table()
    input_tokens = 0
    output_tokens = 0
    thinking: set[str] = set()
    for params in requests:
        input_tokens += counter.count(params)
        output, how = output_allowance(params, expected_output_tokens)
        output_tokens += output
        thinking.add(how)
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
    return CostEstimate(
        requests=len(requests),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        usd=table.cost(model, usage, batch=batch, requests=len(requests)),
        sync_usd=table.cost(model, usage, batch=False, requests=len(requests)),
        thinking="+".join(sorted(thinking - {""})),
    )


def thinking_note(how: str) -> str:
    """What the output says of the thinking in an estimate's output tokens ("" for none)."""
    if not how:
        return ""
    if "adaptive" in how:
        return (
            "thinking is on and billed as output: adaptive thinking has no budget of its own, "
            "so each request's whole max_tokens is counted (a ceiling)"
        )
    return "thinking is on and billed as output: each request's budget_tokens is counted"


@dataclass(frozen=True)
class CountedEstimate:
    """An estimate and how its tokens were counted: "count_tokens" (every request counted by
    the endpoint) or "characters / 4" (none was: `why` says why)."""

    estimate: CostEstimate
    counted_by: str
    why: str = ""


def estimate_counted(
    requests: list[Mapping[str, Any]],
    model: str,
    client: Any | None,
    *,
    batch: bool,
    why_not: str = "no API client",
) -> CountedEstimate:
    """Count with the count_tokens endpoint when `client` is given and it answers every
    request; otherwise all by the approximation, so one estimate never mixes the two."""
    if client is not None:
        counter = ApiCounter(client)
        counted = estimate_requests(requests, model, counter, batch=batch)
        if counter.failure is None:
            return CountedEstimate(counted, "count_tokens")
        why_not = counter.failure
    approximate = estimate_requests(requests, model, ApproximateCounter(), batch=batch)
    return CountedEstimate(approximate, "characters / 4", why_not)
