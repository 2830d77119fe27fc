"""The one model table: it covers every model the installed SDK names, every figure has a
source, and the product (costs, limits) and the Claude emulator (which models exist, max
output) read the same figures."""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from importlib import resources

import anthropic.types.model as sdk_model
import pytest

from ci_reviewer.emulators.claude import ClaudeEmulator
from ci_reviewer.models import THINKING_MODES, model_table
from ci_reviewer.pricing import Usage, price_table
from tests.emulators.test_claude_emulator import raw_post

RAW = json.loads(resources.files("ci_reviewer.data").joinpath("models.json").read_text())
FIGURES = (
    "context_window",
    "max_output_tokens",
    "min_cacheable_tokens",
    "adaptive_thinking",
    "price",
)


def _sdk_ids() -> set[str]:
    literal = typing.get_args(sdk_model.Model)[0]
    return set(typing.get_args(literal))


def test_every_model_the_sdk_names_is_in_the_table() -> None:
    table = model_table()
    missing = sorted(mid for mid in _sdk_ids() if table.facts(mid) is None)
    assert missing == []


def test_every_figure_names_a_source_that_exists() -> None:
    sources = RAW["sources"]
    assert RAW["batch_discount_source"] in sources
    for model_id, row in RAW["models"].items():
        named = row["source"]
        assert set(named.values()) <= set(sources), model_id
        for figure in FIGURES:
            if row.get(figure) is not None:
                assert figure in named, f"{model_id}: {figure} has no source"
        if row.get("long_context_price") is not None:
            assert "long_context_price" in named, model_id


def test_every_model_a_request_can_name_has_every_figure() -> None:
    for facts in (model_table().facts(mid) for mid in model_table().callable_ids()):
        assert facts is not None
        assert facts.price is not None, facts.id
        assert facts.max_output_tokens and facts.min_cacheable_tokens, facts.id
        assert facts.context_window in (200_000, 1_000_000), facts.id
        assert facts.adaptive_thinking in THINKING_MODES, facts.id


def test_cache_writes_cost_what_the_pricing_page_says_and_reads_at_most_a_tenth() -> None:
    """docs-pricing-multipliers: "5-minute cache write | 1.25x base input price", "1-hour
    cache write | 2x base input price"; docs-overview: cache reads cost 10% of the base input
    price (2.5% or 5% on some models), never more."""
    for facts in (model_table().facts(mid) for mid in model_table().callable_ids()):
        assert facts is not None and facts.price is not None
        tiers = [facts.price] + ([facts.long_context.price] if facts.long_context else [])
        for price in tiers:
            assert price.cache_write_5m == pytest.approx(1.25 * price.input), facts.id
            assert price.cache_write_1h == pytest.approx(2 * price.input), facts.id
            assert price.cache_read <= 0.1 * price.input + 1e-12, facts.id


def test_haiku_5_5_prices_a_long_prompt_at_its_long_context_rates() -> None:
    """The Haiku 5.5 page: $0.10 / $0.50 per MTok up to 100K prompt tokens, $0.50 / $2.50
    over; a 5m cache write $0.125 up to 100K, $0.625 over."""
    table = price_table()
    short = Usage(input_tokens=90_000, output_tokens=1_000)
    long = Usage(input_tokens=60_000, output_tokens=1_000, cache_creation_input_tokens=60_000)
    assert table.cost("claude-haiku-5-5", short) == pytest.approx(0.009 + 0.0005)
    assert table.cost("claude-haiku-5-5", long) == pytest.approx(0.03 + 0.0025 + 0.0375)
    # Over two requests of 60K each, neither prompt is long.
    assert table.cost("claude-haiku-5-5", long, requests=2) == pytest.approx(
        0.006 + 0.0005 + 0.0075
    )


def test_fable_5_2_is_priced_at_its_own_list_price() -> None:
    """$8 in / $40 out per MTok (20% below Fable 5.1), cache read $0.20."""
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000, cache_read_input_tokens=10**6)
    assert price_table().cost("claude-fable-5-2", usage) == pytest.approx(8 + 40 + 0.2)


@pytest.fixture(scope="module")
def emulator() -> Iterator[ClaudeEmulator]:
    with ClaudeEmulator() as emu:
        yield emu


@pytest.mark.parametrize("model", model_table().callable_ids())
def test_the_emulator_enforces_each_models_output_limit_from_the_table(
    emulator: ClaudeEmulator, model: str
) -> None:
    facts = model_table().facts(model)
    assert facts is not None and facts.max_output_tokens is not None
    limit = facts.max_output_tokens
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    assert raw_post(emulator, "/v1/messages", {**body, "max_tokens": limit})[0] == 200
    status, answer = raw_post(emulator, "/v1/messages", {**body, "max_tokens": limit + 1})
    assert status == 400
    assert answer["error"]["message"] == (
        f"max_tokens: {limit + 1} > {limit}, which is the maximum allowed number of output "
        f"tokens for {facts.snapshot}"
    )
