"""Start-up cost of `ci-reviewer --help` against a bare `python -c pass`, in one run.

Prints the median of N runs of each and their difference and ratio. Target: the CLI's own
start-up (help minus bare interpreter) under 0.3 s, which holds because `--help` never
imports the anthropic or github SDKs.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = 15


def median_seconds(command: list[str]) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    bare = median_seconds([sys.executable, "-c", "pass"])
    cli = median_seconds([sys.executable, "-m", "ci_reviewer", "--help"])
    print(f"python -c pass        {bare * 1000:7.1f} ms")
    print(f"ci-reviewer --help    {cli * 1000:7.1f} ms")
    print(f"difference            {(cli - bare) * 1000:7.1f} ms (target < 300 ms)")
    print(f"ratio                 {cli / bare:7.1f}x")


if __name__ == "__main__":
    main()
