"""P1: a 40-file PR, 3 turns per file, the emulator answering each call after 0.5 s (its first
token after half of it, the emulator's default), at concurrency C = 8. Wall time against the
critical path ceil(40/C) x 3 x 0.5 s (target <= 1.1x) and against its floor with the cache
warm-up (the other conversations start at the first call's first token: + 0.25 s), and the
tool's own CPU time against wall (target <= 2%).

Run: python benchmarks/p1_review_concurrency.py
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path

from benchmarks._review_bench import emulator_process, make_pr_repo
from ci_reviewer.claude import build_client, tracing_requested
from ci_reviewer.config import ReviewConfig
from ci_reviewer.emulators.claude_stream import FIRST_TOKEN_SHARE
from ci_reviewer.globs import PathFilter
from ci_reviewer.review.diff import diff_from_git, select_reviewable
from ci_reviewer.review.engine import run_review

FILES, TURNS, LATENCY, CONCURRENCY = 40, 3, 0.5, 8


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_pr_repo(Path(tmp), FILES)
        config = ReviewConfig(concurrency=CONCURRENCY)
        source = select_reviewable(
            diff_from_git(repo, "main"), PathFilter.build(["**"], []), repo, skip_generated=True
        )
        assert len(source.files) == FILES
        with (
            emulator_process(TURNS, LATENCY) as (url, report),
            build_client("bench", url, tracing=tracing_requested(os.environ)) as client,
        ):
            cpu0, children0, wall0 = time.process_time(), _children(), time.perf_counter()
            result = run_review(client, source, config, model="claude-sonnet-5-5", workdir=repo)
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0 + _children() - children0
    bound = math.ceil(FILES / CONCURRENCY) * TURNS * LATENCY
    reviewed = sum(review.status == "reviewed" for review in result.files)
    print(f"files reviewed: {reviewed}/{FILES}, calls: {result.usage.calls}")
    print(f"peak calls in flight at the emulator: {report['peak_in_flight']}")
    print(
        f"wall {wall:.2f} s, critical path {bound:.2f} s, ratio {wall / bound:.3f} (target <= 1.1)"
    )
    floor = bound + LATENCY * FIRST_TOKEN_SHARE
    print(
        f"floor with the cache warm-up {floor:.2f} s = {floor / bound:.3f}x; "
        f"wall / floor {wall / floor:.3f}"
    )
    print(f"tool CPU {cpu:.3f} s = {100 * cpu / wall:.2f}% of wall (target <= 2%)")


def _children() -> float:
    times = os.times()
    return times.children_user + times.children_system


if __name__ == "__main__":
    main()
