"""P2: billed input cost with prompt caching against the same review with caching off, for
(a) one file reviewed in 6 turns and (b) a 10-file PR with 3 turns per file.

The best possible cut for each shape is computed from the calls actually made: the shared
prefix (tools, system, PR overview) is written once; every other call reads everything up to
its conversation's previous call from the cache (a conversation's first call reads the shared
prefix) and writes the rest. Target: the achieved cut is at least 95% of that best cut.

Run: python benchmarks/p2_caching.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from benchmarks._review_bench import emulator_process, make_pr_repo
from ci_reviewer.claude import build_client
from ci_reviewer.config import ReviewConfig
from ci_reviewer.globs import PathFilter
from ci_reviewer.pricing import price_table
from ci_reviewer.review.diff import diff_from_git, select_reviewable
from ci_reviewer.review.engine import run_review

MODEL = "claude-sonnet-5-5"
PRICE = price_table().price(MODEL)
assert PRICE is not None


def input_cost(calls: list[dict[str, Any]]) -> float:
    return (
        sum(
            c["input_tokens"] * PRICE.input
            + c["cache_creation_input_tokens"] * PRICE.cache_write_5m
            + c["cache_read_input_tokens"] * PRICE.cache_read
            for c in calls
        )
        / 1e6
    )


def best_cost(calls: list[dict[str, Any]]) -> float:
    """The ideal described in the module docstring, over the same calls' prompt sizes."""
    last_prompt: dict[str, int] = {}
    total, prefix_written = 0.0, False
    for call in calls:
        prompt = call["prompt"]
        read = last_prompt.get(call["file"], call["prefix"] if prefix_written else 0)
        total += read * PRICE.cache_read + (prompt - read) * PRICE.cache_write_5m
        prefix_written = True
        last_prompt[call["file"]] = prompt
    return total / 1e6


def run(files: int, turns: int, caching: bool) -> list[dict[str, Any]]:
    """The billed usage of every call of the review, in the order the API received them."""
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_pr_repo(Path(tmp), files)
        source = select_reviewable(
            diff_from_git(repo, "main"), PathFilter.build(["**"], []), repo, skip_generated=True
        )
        config = ReviewConfig(concurrency=4, max_turns=turns)
        with emulator_process(turns, 0.0) as (url, report), build_client("bench", url) as client:
            result = run_review(
                client, source, config, model=MODEL, workdir=repo, prompt_caching=caching
            )
    assert all(review.status == "reviewed" for review in result.files), result.files
    calls: list[dict[str, Any]] = report["usage"]
    return calls


def main() -> None:
    for label, files, turns in (("(a) 1 file x 6 turns", 1, 6), ("(b) 10 files x 3 turns", 10, 3)):
        off = input_cost(run(files, turns, caching=False))
        on_calls = run(files, turns, caching=True)
        on = input_cost(on_calls)
        best = best_cost(on_calls)
        achieved_cut, best_cut = 1 - on / off, 1 - best / off
        print(
            f"{label}: {len(on_calls)} calls; input cost off ${off:.5f}, on ${on:.5f}, "
            f"best ${best:.5f}; cut {100 * achieved_cut:.1f}% of best possible "
            f"{100 * best_cut:.1f}% = {100 * achieved_cut / best_cut:.1f}% (target >= 95%)"
        )


if __name__ == "__main__":
    main()
