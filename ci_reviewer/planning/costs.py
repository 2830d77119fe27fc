"""Cost estimates with prompt caching, both ways (synchronous and batch).

Shared by `--dry-run`, `plan` and budgets. Token counts come from a `TokenCounter`: the
count_tokens endpoint when reachable (`ApiCounter`), else the documented approximation of
ceil(characters / 4) (`ApproximateCounter`). Prices come from the one price table.

Caching, as the API bills it: requests of a run share a prefix (tools and system prompt,
marked with `cache_control`). The first request writes that prefix to the cache, every later
one reads it, as long as the prefix reaches the smallest cacheable size. Output cannot be
known before the model answers: an expected figure per request stands in for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ci_reviewer.estimate import TokenCounter
from ci_reviewer.models import model_table
from ci_reviewer.pricing import Usage, price_table

# The smallest prompt prefix the API caches when the model table has no figure for a model
# (the largest threshold of any model: an unknown model is not assumed to cache more).
MIN_CACHEABLE_TOKENS = 4096
EXPECTED_OUTPUT_TOKENS = 1500
# A batch outlives the 5-minute cache TTL between requests, so batch prefixes use 1 h.
BATCH_CACHE_TTL = "1h"


@dataclass(frozen=True)
class RunShape:
    """A run reduced to what it costs: how many requests, their tokens, the shared prefix."""

    requests: int
    input_tokens: int  # every request's whole prompt, prefix included
    prefix_tokens: int  # the shared, cacheable prefix of one request
    output_tokens: int  # expected output over all requests

    def usage(self, *, one_hour_cache: bool, min_cacheable: int = MIN_CACHEABLE_TOKENS) -> Usage:
        """Billed tokens: one cache write of the prefix, then cache reads (when the prefix
        reaches the model's minimum cacheable length)."""
        if self.requests == 0:
            return Usage()
        prefix = self.prefix_tokens if self.prefix_tokens >= min_cacheable else 0
        return Usage(
            input_tokens=self.input_tokens - prefix * self.requests,
            output_tokens=self.output_tokens,
            cache_creation_input_tokens=prefix,
            cache_read_input_tokens=prefix * (self.requests - 1),
            cache_creation_1h_tokens=prefix if one_hour_cache else 0,
        )


@dataclass(frozen=True)
class CostBothWays:
    """The same work priced on the synchronous API and on the Batches API (None: no price)."""

    requests: int
    sync_usd: float | None
    batch_usd: float | None

    def __add__(self, other: CostBothWays) -> CostBothWays:
        return CostBothWays(
            self.requests + other.requests,
            _add(self.sync_usd, other.sync_usd),
            _add(self.batch_usd, other.batch_usd),
        )


def min_cacheable_tokens(model: str) -> int:
    """The model's minimum cacheable prompt length, from the model table."""
    facts = model_table().facts(model)
    if facts is None or facts.min_cacheable_tokens is None:
        return MIN_CACHEABLE_TOKENS
    return facts.min_cacheable_tokens


def price_run(shape: RunShape, model: str) -> CostBothWays:
    table = price_table()
    least = min_cacheable_tokens(model)
    sync = shape.usage(one_hour_cache=False, min_cacheable=least)
    batch = shape.usage(one_hour_cache=True, min_cacheable=least)
    return CostBothWays(
        requests=shape.requests,
        sync_usd=table.cost(model, sync, batch=False, requests=shape.requests),
        batch_usd=table.cost(model, batch, batch=True, requests=shape.requests),
    )


def shape_of_requests(
    requests: Sequence[Mapping[str, Any]],
    counter: TokenCounter,
    *,
    expected_output_tokens: int = EXPECTED_OUTPUT_TOKENS,
) -> RunShape:
    """Measure concrete Messages requests (the params a run would send)."""
    if not requests:
        return RunShape(0, 0, 0, 0)
    total = sum(counter.count(params) for params in requests)
    output = sum(
        min(expected_output_tokens, int(params.get("max_tokens") or expected_output_tokens))
        for params in requests
    )
    return RunShape(len(requests), total, prefix_tokens(requests[0], counter), output)


def prefix_tokens(params: Mapping[str, Any], counter: TokenCounter) -> int:
    """Tokens of the cacheable prefix (tools and a system marked with cache_control)."""
    if not _marks_cache(params.get("system")) and not _marks_cache(params.get("tools")):
        return 0
    probe = {"role": "user", "content": "."}
    with_prefix = {k: params[k] for k in ("model", "system", "tools") if k in params}
    bare = counter.count({"model": params.get("model"), "messages": [probe]})
    return max(0, counter.count({**with_prefix, "messages": [probe]}) - bare)


def _marks_cache(blocks: Any) -> bool:
    return isinstance(blocks, list) and any(
        isinstance(block, dict) and "cache_control" in block for block in blocks
    )


def _add(left: float | None, right: float | None) -> float | None:
    return None if left is None or right is None else left + right


# Assumptions of the monthly projection, documented for `plan` (no request is built there):
# a job's system prompt and output format take ~1,500 tokens before its instructions; a
# review turn declares its tools too (~2,000 tokens); a reviewed file costs its diff plus the
# context the model fetches (about the file again), over ~3 turns answering ~600 tokens each.
JOB_PREFIX_TOKENS = 1500
REQUEST_OVERHEAD_TOKENS = 50
REVIEW_PREFIX_TOKENS = 2000
REVIEW_TURNS = 3
REVIEW_OUTPUT_TOKENS_PER_TURN = 600


def job_run_shape(
    file_tokens: Sequence[int], instructions_tokens: int, max_tokens: int
) -> RunShape:
    """One batch-job run that sends one single-shot request per file."""
    prefix = JOB_PREFIX_TOKENS + instructions_tokens
    count = len(file_tokens)
    return RunShape(
        requests=count,
        input_tokens=count * (prefix + REQUEST_OVERHEAD_TOKENS) + sum(file_tokens),
        prefix_tokens=prefix,
        output_tokens=count * min(EXPECTED_OUTPUT_TOKENS, max_tokens),
    )


def review_run_shape(file_tokens: Sequence[int], instructions_tokens: int) -> RunShape:
    """One review of changed files: a short tool loop per file, the prefix cached."""
    prefix = REVIEW_PREFIX_TOKENS + instructions_tokens
    turns = len(file_tokens) * REVIEW_TURNS
    per_file = [REVIEW_TURNS * (prefix + 2 * tokens) for tokens in file_tokens]
    return RunShape(
        requests=turns,
        input_tokens=sum(per_file),
        prefix_tokens=prefix,
        output_tokens=turns * REVIEW_OUTPUT_TOKENS_PER_TURN,
    )
