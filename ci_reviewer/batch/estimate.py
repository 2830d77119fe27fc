"""Token and cost estimate of a stream of batch requests, accumulated as they are built.

Input tokens use the documented approximation (characters / 4) over each serialized request,
which slightly overcounts (it includes the JSON around the prompt): a budget errs on the safe
side. Output is unknown before the model answers: the expected length per request, capped by
its max_tokens, stands in for it (as `ci_reviewer.estimate` does).

Prompt caching is counted as the requests stream by, in the order they are sent: the first
request of a cached prefix (`caching.Breakpoint`) writes it (1-hour TTL, 2x the input price),
every later one reads it (0.1x). That is the best case: in a batch, cache hits are "provided on
a best-effort basis" (batch-processing docs), so the figure is a floor for what is billed,
and the same work without any hit costs at most the uncached figure (`uncached_usd`).

The largest requests are kept as they stream by (a heap of `LARGEST`), so a user sees where
the money goes before paying for it. A request sent to another model than the job's (its
fallback model, `fallback.py`) is priced at that model's prices.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field, replace

from ci_reviewer.pricing import CHARS_PER_TOKEN, PriceTable, Usage, price_table

EXPECTED_OUTPUT_TOKENS = 1500
LARGEST = 10


@dataclass(frozen=True)
class RequestCost:
    """One request's share of the estimate (`usd` at the job's API's prices)."""

    custom_id: str
    path: str
    bytes: int
    input_tokens: int
    output_tokens: int
    usd: float | None = None
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    model: str | None = None  # None: the job's model


@dataclass
class BatchEstimate:
    requests: int = 0
    bytes: int = 0
    input_tokens: int = 0  # the whole prompts, cached parts included
    output_tokens: int = 0
    # Of the input, what is expected to be written to the prompt cache and read from it.
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    # What the same requests would cost with no cache hit at all (at the job's API's prices).
    uncached_usd: float | None = None
    # What the run spends, at the prices of the job's API (`api`); and both prices, to compare.
    usd: float | None = None
    sync_usd: float | None = None
    batch_usd: float | None = None
    api: str = "batch"
    # The largest requests, largest first (complete once priced).
    largest: tuple[RequestCost, ...] = ()
    _heap: list[tuple[int, int, RequestCost]] = field(
        default_factory=list, repr=False, compare=False
    )
    # Of the totals, the requests on another model: model -> [requests, input, output,
    # cache write, cache read].
    _others: dict[str, list[int]] = field(default_factory=dict, repr=False, compare=False)

    def add(
        self,
        line_tokens: tuple[int, int, int],
        custom_id: str = "",
        path: str = "",
        cached: tuple[int, int] | None = None,
        model: str | None = None,
    ) -> None:
        """One request: (bytes, input, output tokens), and (written, read) cache tokens;
        `model` when it goes to another model than the job's."""
        size, tokens, output = line_tokens
        written, read = cached or (0, 0)
        self.requests += 1
        self.bytes += size
        self.input_tokens += tokens
        self.output_tokens += output
        self.cache_write_tokens += written
        self.cache_read_tokens += read
        if model is not None:
            other = self._others.setdefault(model, [0, 0, 0, 0, 0])
            for index, value in enumerate((1, tokens, output, written, read)):
                other[index] += value
        heap = self._heap
        if len(heap) < LARGEST or size > heap[0][0]:
            # Ties keep the earlier request: the sequence number breaks them.
            cost = RequestCost(custom_id, path, size, tokens, output, None, written, read, model)
            item = (size, -self.requests, cost)
            (heapq.heappush if len(heap) < LARGEST else heapq.heapreplace)(heap, item)

    def priced(self, model: str, api: str = "batch") -> BatchEstimate:
        own = [self.requests, self.input_tokens, self.output_tokens]
        own += [self.cache_write_tokens, self.cache_read_tokens]
        for counts in self._others.values():
            own = [total - part for total, part in zip(own, counts, strict=True)]
        parts = [(model, own), *self._others.items()]
        table = price_table()
        batch_usd = _summed(table, parts, batch=True)
        sync_usd = _summed(table, parts, batch=False)
        uncached = _summed(table, [(m, [c[0], c[1], c[2], 0, 0]) for m, c in parts], api != "sync")
        largest = tuple(
            replace(
                cost,
                usd=table.cost(
                    cost.model or model,
                    _usage(
                        cost.input_tokens,
                        cost.output_tokens,
                        cost.cache_write_tokens,
                        cost.cache_read_tokens,
                    ),
                    batch=api != "sync",
                ),
            )
            for _, _, cost in sorted(self._heap, reverse=True)
        )
        return replace(
            self,
            uncached_usd=uncached,
            usd=sync_usd if api == "sync" else batch_usd,
            sync_usd=sync_usd,
            batch_usd=batch_usd,
            api=api,
            largest=largest,
        )

    @property
    def price_label(self) -> str:
        return "synchronous (full) prices" if self.api == "sync" else "batch prices"


def _summed(table: PriceTable, parts: list[tuple[str, list[int]]], batch: bool) -> float | None:
    """Dollars of (model, [requests, input, output, written, read]) parts, each at its
    model's prices; None when a model with requests has no price."""
    costs = [
        table.cost(model, _usage(*counts[1:]), batch=batch, requests=counts[0])
        for model, counts in parts
        if counts[0] or model == parts[0][0]
    ]
    return None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)


def _usage(tokens: int, output: int, written: int, read: int) -> Usage:
    """Usage for `tokens` of prompt of which `written` go to the cache (1-hour TTL, as
    every batch breakpoint is) and `read` come from it."""
    return Usage(
        input_tokens=max(0, tokens - written - read),
        output_tokens=output,
        cache_creation_input_tokens=written,
        cache_read_input_tokens=read,
        cache_creation_1h_tokens=written,
    )


def estimate_line(size: int, max_tokens: int) -> tuple[int, int, int]:
    """(bytes, input tokens, output tokens) of one serialized request of `size` bytes. Bytes
    stand in for characters: equal for ASCII, an overcount otherwise."""
    return size, -(-size // CHARS_PER_TOKEN), min(EXPECTED_OUTPUT_TOKENS, max_tokens)
