"""Thinking is billed as output (the SDK's `Usage.output_tokens` is the billed total, thinking
included) and counts against max_tokens: a pre-run estimate of requests that ask for thinking
counts it, and `review --dry-run` with `review.thinking` on says so. Figures by hand from
models.json's prices (USD per million tokens): Sonnet 5.5 $2 in / $10 out, Sonnet 4.5 $3 in /
$15 out; batch half of those."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from ci_reviewer.estimate import estimate_requests
from tests.review.conftest import RepoFactory
from tests.review.test_local_cli import run_cli


class Thousand:
    """Every request is 1,000 input tokens: the output side is what is under test."""

    def count(self, params: Mapping[str, Any]) -> int:
        return 1000


def request(max_tokens: int, thinking: dict[str, Any] | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"max_tokens": max_tokens, "messages": []}
    if thinking is not None:
        params["thinking"] = thinking
    return params


def test_without_thinking_the_expected_answer_alone_is_counted() -> None:
    estimate = estimate_requests([request(8000)], "claude-sonnet-5-5", Thousand(), batch=False)

    assert estimate.output_tokens == 1500 and estimate.thinking == ""
    assert estimate.usd == pytest.approx((1000 * 2 + 1500 * 10) / 1e6)  # $0.017


def test_a_disabled_thinking_adds_nothing() -> None:
    estimate = estimate_requests(
        [request(8000, {"type": "disabled"})], "claude-sonnet-5-5", Thousand(), batch=False
    )

    assert estimate.output_tokens == 1500 and estimate.thinking == ""


def test_adaptive_thinking_counts_the_whole_max_tokens() -> None:
    estimate = estimate_requests(
        [request(8000, {"type": "adaptive"})] * 2, "claude-sonnet-5-5", Thousand(), batch=True
    )

    assert estimate.output_tokens == 16_000 and estimate.thinking == "adaptive"
    assert estimate.sync_usd == pytest.approx((2000 * 2 + 16_000 * 10) / 1e6)  # $0.164
    assert estimate.usd == pytest.approx(0.164 / 2)


def test_a_thinking_budget_is_added_to_the_answer_up_to_max_tokens() -> None:
    budget = {"type": "enabled", "budget_tokens": 3000}
    within = estimate_requests([request(8000, budget)], "claude-sonnet-4-5", Thousand())
    capped = estimate_requests([request(4000, budget)], "claude-sonnet-4-5", Thousand())

    assert within.output_tokens == 4500 and within.thinking == "budget"
    assert within.sync_usd == pytest.approx((1000 * 3 + 4500 * 15) / 1e6)  # $0.0705
    assert within.usd == pytest.approx(0.0705 / 2)  # batch
    assert capped.output_tokens == 4000  # max_tokens bounds answer and thinking together


def two_files(make_repo: RepoFactory) -> Path:
    return make_repo({"src/a.py": "x = 1\n"}, {"src/a.py": "x = 2\n", "src/b.py": "y = 3\n"})


def dry_run(repo: Path, config: str, *extra: str) -> int:
    path = repo.parent / "ci-reviewer.yml"
    path.write_text(config, encoding="utf-8")
    args = ["--workdir", str(repo), "--config", str(path), "--dry-run"]
    args += ["--requests-file", str(repo.parent / "requests.jsonl"), *extra]
    return run_cli("review", "--local", "--base", "main", *args)


def test_review_dry_run_with_thinking_on_prices_each_files_max_tokens_and_says_so(
    make_repo: RepoFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    config = "review:\n  thinking: adaptive\n  max_tokens: 4000\n"

    repo = two_files(make_repo)

    code = dry_run(repo, config, "--format", "json")
    document = json.loads(capsys.readouterr().out)
    text_code = dry_run(repo, config)
    out = capsys.readouterr().out

    assert code == text_code == 0
    assert document["files"] == ["src/a.py", "src/b.py"]
    assert document["output_tokens"] == 2 * 4000
    assert document["estimated_cost_usd"] == pytest.approx(
        (document["input_tokens"] * 2 + 8000 * 10) / 1e6
    )
    assert "adaptive thinking has no budget" in document["thinking_in_estimate"]
    assert "output: 8000 tokens counted; thinking is on and billed as output" in out


def test_review_dry_run_without_thinking_keeps_the_expected_answer(
    make_repo: RepoFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)

    repo = two_files(make_repo)

    code = dry_run(repo, "review:\n  max_tokens: 4000\n", "--format", "json")
    document = json.loads(capsys.readouterr().out)

    assert code == 0
    assert document["output_tokens"] == 2 * 1500
    assert document["thinking_in_estimate"] is None
    assert document["estimated_cost_usd"] == pytest.approx(
        (document["input_tokens"] * 2 + 3000 * 10) / 1e6
    )
