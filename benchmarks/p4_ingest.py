"""P4: ingest 100,000 batch results from the Claude emulator.

A batch of N requests is created on the emulator (in its own process) and ended; the job's
state holds the matching manifest. A fresh process then runs `collect` with the real SDK:
download, decode, correlate, classify, let the report kind judge each result, publish and
settle the state. Reported: results per second over the whole collect, and that process's
peak RSS. Targets: >= 50,000 results/s, <= 256 MB.

    python benchmarks/p4_ingest.py [--results 100000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

START = datetime(2030, 1, 1, tzinfo=timezone.utc)
MODEL = "claude-sonnet-5-5"


def serve(queue: Any, stop: Any) -> None:
    from ci_reviewer.emulators.claude import ClaudeEmulator, EmulatedClock

    emulator = ClaudeEmulator(clock=EmulatedClock(START)).start()
    queue.put(emulator.url)
    stop.wait()
    emulator.stop()


def setup(url: str, state_dir: Path, count: int) -> None:
    import anthropic

    from ci_reviewer.batch.jobs.report import SCHEMA
    from ci_reviewer.batch.manifest import ManifestEntry, custom_id
    from ci_reviewer.batch.state import StateDocument, Submission
    from ci_reviewer.batch.store_dir import DirectoryStore

    entries = {}
    for i in range(count):
        entry = ManifestEntry(path=f"src/module_{i}.py", content_hash=f"{i:040x}")
        entries[custom_id("report", entry)] = entry
    params = {
        "model": MODEL,
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "x"}],
        "output_config": {"format": {"type": "json_schema", "schema": SCHEMA}},
    }
    with anthropic.Anthropic(api_key="bench", base_url=url, max_retries=0, timeout=600) as client:
        batch = client.messages.batches.create(
            requests=[{"custom_id": cid, "params": params} for cid in entries]
        )
        client.messages.batches.retrieve(batch.id)  # ends it (immediate policy)
    submission = Submission(
        intent_id="bench", intent_at=START, custom_ids=tuple(entries), batch_id=batch.id
    )
    document = StateDocument(job="bench", submissions=(submission,), manifest=entries)
    DirectoryStore(state_dir).save(document, None)


def ingest(url: str, state_dir: Path, queue: Any) -> None:
    import anthropic

    from ci_reviewer.batch.api import BatchesAPI
    from ci_reviewer.batch.job_run import JobRun
    from ci_reviewer.batch.jobs.report import ReportKind
    from ci_reviewer.batch.results import collect
    from ci_reviewer.batch.store_dir import DirectoryStore
    from ci_reviewer.config import JobConfig

    with anthropic.Anthropic(api_key="bench", base_url=url, max_retries=0, timeout=600) as client:
        run = JobRun(
            name="bench",
            job=JobConfig(kind="report"),
            model=MODEL,
            kind=ReportKind(state_dir / "reports"),
            workdir=state_dir,
            store=DirectoryStore(state_dir),
            api=BatchesAPI(client),
            now=lambda: START,
        )
        started = time.perf_counter()
        result = collect(run)
        elapsed = time.perf_counter() - started
    peak_mb = peak_rss_mb()
    queue.put((sum(result.counts.values()), elapsed, peak_mb))


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss it does not inherit the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", type=int, default=100_000)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    queue, stop = context.Queue(), context.Event()
    server = context.Process(target=serve, args=(queue, stop))
    server.start()
    url = queue.get()
    try:
        with tempfile.TemporaryDirectory() as directory:
            state_dir = Path(directory)
            setup(url, state_dir, args.results)
            worker = context.Process(target=ingest, args=(url, state_dir, queue))
            worker.start()
            handled, elapsed, peak_mb = queue.get()
            worker.join()
    finally:
        stop.set()
        server.join()
    rate = handled / elapsed
    print(f"results ingested   {handled}")
    print(f"time               {elapsed:.2f} s")
    print(f"results per second {rate:,.0f}   (target >= 50,000)")
    print(f"peak RSS           {peak_mb:.0f} MB (target <= 256 MB)")
    sys.exit(0 if rate >= 50_000 and peak_mb <= 256 else 1)


if __name__ == "__main__":
    main()
