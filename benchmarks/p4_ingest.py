"""P4: ingest 100,000 batch results from the Claude emulator.

A batch of N requests is created on the emulator (in its own process) and ended; the job's
state holds the matching manifest. A fresh process then runs `collect` with the real SDK:
download, decode, correlate, classify, let the job's kind judge each result, publish and
settle the state. Reported: results per second over the whole collect, and that process's
peak RSS. Targets: >= 50,000 results/s, <= 256 MB.

The answers are as large as real ones (`--kind`): `audit`, a security audit whose every file
has three findings with a few hundred bytes of description and recommendation each (published
as one SARIF file); `testgen`, test generation whose every file gets a 2-6 KB test file
(written into the checkout); `report`, the emulator's minimal answer (the figure before).
The floor, in the same process: `orjson.loads` of the same result lines, one by one.

    python benchmarks/p4_ingest.py [--results 100000] [--kind audit|testgen|report]
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

START = datetime(2030, 1, 1, tzinfo=timezone.utc)
MODEL = "claude-sonnet-5-5"


DESCRIPTION = (
    "The query string is built by formatting the request parameter `{name}` into the SQL text "
    "and executed with cursor.execute, so a value containing a quote ends the literal and the "
    "rest runs as SQL: any caller of this endpoint can read or change every table the service "
    "account can reach. "
)
RECOMMENDATION = (
    "Pass the value as a bound parameter (cursor.execute(sql, (value,))) instead of formatting "
    "it into the statement, and reject identifiers that are not on an allow list; add a test "
    "that sends a value with a quote and checks that it is stored verbatim. "
)
TEST_LINES = (
    "def test_{name}_{n}_adds_its_offset():\n"
    "    assert module.f_{n}(10) == 10 + {n}, 'f_{n} adds {n} to its argument'\n\n"
)


def answer_for(kind: str, body: dict[str, Any]) -> Any:
    """The model's answer to one request, as large as a real one (see the docstring)."""
    from ci_reviewer.emulators.claude import Reply

    path = body["messages"][0]["content"]
    number = int(path.rsplit("_", 1)[1].split(".")[0])
    if kind == "audit":
        findings = [
            {
                "path": path,
                "line": 10 * k + 3,
                "severity": ("high", "medium", "low")[k],
                "cwe": "CWE-89",
                "title": f"SQL injection through parameter {k} of the lookup",
                "description": DESCRIPTION.format(name=f"p{k}"),
                "recommendation": RECOMMENDATION,
                "confidence": "medium",
            }
            for k in range(3)
        ]
        return Reply.json({"findings": findings})
    if kind == "testgen":
        name = f"module_{number}"
        size = 2000 + (number * 7919) % 4000  # 2-6 KB, spread over the files
        lines = "".join(TEST_LINES.format(name=name, n=n) for n in range(size // 110 + 1))
        content = f"import module_{number} as module\n\n\n" + lines
        return Reply.json(
            {
                "target_path": f"test_{name}.py",
                "content": content,
                "framework": "pytest",
                "notes": "",
            }
        )
    return None  # the emulator's minimal default


def serve(queue: Any, stop: Any, kind: str) -> None:
    from ci_reviewer.emulators.claude import ClaudeEmulator, EmulatedClock

    emulator = ClaudeEmulator(clock=EmulatedClock(START))
    emulator.responder = lambda body: answer_for(kind, body)
    emulator.start()
    queue.put(emulator.url)
    stop.wait()
    emulator.stop()


def setup(url: str, state_dir: Path, count: int, kind: str) -> str:
    """The ended batch and the state that expects it; returns the batch id."""
    import anthropic

    from ci_reviewer.batch.manifest import ManifestEntry, custom_id
    from ci_reviewer.batch.state import StateDocument, Submission
    from ci_reviewer.batch.store_dir import DirectoryStore

    subprocess.run(["git", "init", "-q", str(state_dir)], check=True)
    schema, prefix = kind_schema(kind)
    entries = {}
    for i in range(count):
        entry = ManifestEntry(path=f"src/module_{i}.py", content_hash=f"{i:040x}")
        entries[custom_id(prefix, entry)] = entry

    def params(entry: ManifestEntry) -> dict[str, Any]:
        return {
            "model": MODEL,
            "max_tokens": 16000,
            "messages": [{"role": "user", "content": entry.path}],
            "output_config": {"format": {"type": "json_schema", "schema": schema}},
        }

    with anthropic.Anthropic(api_key="bench", base_url=url, max_retries=0, timeout=600) as client:
        batch = client.messages.batches.create(
            requests=[{"custom_id": cid, "params": params(e)} for cid, e in entries.items()]
        )
        client.messages.batches.retrieve(batch.id)  # ends it (immediate policy)
    submission = Submission(
        intent_id="bench", intent_at=START, custom_ids=tuple(entries), batch_id=batch.id
    )
    document = StateDocument(job="bench", submissions=(submission,), manifest=entries)
    DirectoryStore(state_dir).save(document, None)
    return batch.id


def kind_schema(kind: str) -> tuple[Any, str]:
    if kind == "audit":
        from ci_reviewer.batch.jobs.security_audit import SCHEMA, SecurityAuditKind

        return SCHEMA, SecurityAuditKind.prefix
    if kind == "testgen":
        from ci_reviewer.batch.jobs.test_generation import SCHEMA, TestGenerationKind

        return SCHEMA, TestGenerationKind.prefix
    from ci_reviewer.batch.jobs.report import SCHEMA

    return SCHEMA, "report"


def job_kind(kind: str, state_dir: Path) -> tuple[Any, Any]:
    from ci_reviewer.config import JobConfig

    if kind == "audit":
        from ci_reviewer.batch.jobs.security_audit import SecurityAuditKind

        job = JobConfig(kind="security-audit", output="sarif")
        return job, SecurityAuditKind("bench", job, state_dir, None)
    if kind == "testgen":
        from ci_reviewer.batch.jobs.test_generation import Delivery, TestGenerationKind

        job = JobConfig(kind="test-generation", output="file")
        return job, TestGenerationKind("bench", job, state_dir, Delivery(None))
    from ci_reviewer.batch.jobs.report import ReportKind

    return JobConfig(kind="report"), ReportKind(state_dir / "reports")


def parse_floor(url: str, batch_id: str) -> tuple[int, int, float, float]:
    """(lines, bytes, seconds, download seconds): the same results, fetched whole (the
    emulator's own time to serve them is most of the download), then only parsed."""
    import urllib.request

    import orjson

    request = urllib.request.Request(
        f"{url}/v1/messages/batches/{batch_id}/results",
        headers={"x-api-key": "bench", "anthropic-version": "2023-06-01"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request) as response:  # the emulator on loopback
        body = response.read()
    download = time.perf_counter() - started
    lines = body.splitlines()
    started = time.perf_counter()
    for line in lines:
        orjson.loads(line)
    return len(lines), len(body), time.perf_counter() - started, download


def ingest(url: str, state_dir: Path, kind_name: str, batch_id: str, queue: Any) -> None:
    import anthropic

    from ci_reviewer.batch.api import BatchesAPI
    from ci_reviewer.batch.job_run import JobRun
    from ci_reviewer.batch.results import collect
    from ci_reviewer.batch.store_dir import DirectoryStore

    job, kind = job_kind(kind_name, state_dir)
    with anthropic.Anthropic(api_key="bench", base_url=url, max_retries=0, timeout=600) as client:
        run = JobRun(
            name="bench",
            job=job,
            model=MODEL,
            kind=kind,
            workdir=state_dir,
            store=DirectoryStore(state_dir),
            api=BatchesAPI(client),
            now=lambda: START,
        )
        collections = GcClock()
        gc.callbacks.append(collections)
        user, system = cpu_seconds()
        started = time.perf_counter()
        result = collect(run)
        elapsed = time.perf_counter() - started
        user_after, system_after = cpu_seconds()
        user, system = user_after - user, system_after - system
        gc.callbacks.remove(collections)
    peak_mb = peak_rss_mb()
    floor = parse_floor(url, batch_id)  # after, so its bytes do not count in the peak
    written = write_floor(state_dir, kind_name)
    timings = {
        "wall": elapsed,
        "cpu": user + system,
        "system": system,
        "gc": collections.seconds,
        "gcs": collections.count,
    }
    queue.put((dict(result.counts), timings, peak_mb, floor, written))


class GcClock:
    """CPU spent in the garbage collector while it is installed (`gc.callbacks`), and the
    number of collections per generation."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.by_generation = [0, 0, 0]
        self._started = 0.0

    @property
    def count(self) -> str:
        young, middle, full = self.by_generation
        return f"{young}/{middle}/{full}"

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds += time.process_time() - self._started
            self.by_generation[info["generation"]] += 1


def cpu_seconds() -> tuple[float, float]:
    """(user, system) CPU of this process and the processes it waited for (git)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + children.ru_utime, own.ru_stime + children.ru_stime


def write_floor(state_dir: Path, kind: str) -> tuple[int, float, float] | None:
    """(files, seconds, CPU seconds) to write the files test generation wrote, as they are,
    into a fresh folder beside them with one open, write and close each (the kernel's and
    the disk's part of `output: file`); None for a kind that writes no file."""
    if kind != "testgen":
        return None
    written = sorted(p for p in (state_dir / "tests" / "generated").rglob("*") if p.is_file())
    contents = [p.read_bytes() for p in written]
    target = state_dir / "floor"
    target.mkdir()
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    names = [str(target / f"test_{number}.py") for number in range(len(contents))]
    cpu = sum(cpu_seconds())
    started = time.perf_counter()
    for name, data in zip(names, contents, strict=True):
        descriptor = os.open(name, flags, 0o644)
        os.write(descriptor, data)
        os.close(descriptor)
    return len(contents), time.perf_counter() - started, sum(cpu_seconds()) - cpu


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss it does not inherit the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", type=int, default=100_000)
    parser.add_argument("--kind", choices=("audit", "testgen", "report"), default="audit")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    queue, stop = context.Queue(), context.Event()
    server = context.Process(target=serve, args=(queue, stop, args.kind))
    server.start()
    url = queue.get()
    try:
        with tempfile.TemporaryDirectory() as directory:
            state_dir = Path(directory)
            batch_id = setup(url, state_dir, args.results, args.kind)
            worker = context.Process(
                target=ingest, args=(url, state_dir, args.kind, batch_id, queue)
            )
            worker.start()
            counts, timings, peak_mb, (lines, size, parse_s, download_s), written = queue.get()
            worker.join()
    finally:
        stop.set()
        server.join()
    handled = sum(counts.values())
    elapsed = timings["wall"]
    rate = handled / elapsed
    floor = lines / parse_s
    print(f"kind               {args.kind}: {json.dumps(counts)}")
    print(f"results ingested   {handled}, {size / lines:,.0f} bytes a result line on average")
    print(
        f"time               {elapsed:.2f} s wall, {timings['cpu']:.2f} s CPU "
        f"({timings['system']:.2f} s of it in the kernel, {timings['gc']:.2f} s in garbage "
        f"collections, {timings['gcs']} by generation)"
    )
    print(
        f"results per second {rate:,.0f} (target >= 50,000); per CPU second "
        f"{handled / timings['cpu']:,.0f}, {timings['cpu'] / handled * 1e6:.0f} us a result"
    )
    print(
        f"parse floor        {floor:,.0f}/s (orjson.loads of the same {size / 1e6:.0f} MB, "
        f"line by line, {parse_s:.2f} s): collect takes {elapsed / parse_s:.1f}x the floor "
        f"in wall time, {timings['cpu'] / parse_s:.1f}x in CPU"
    )
    print(
        f"download           {download_s:.2f} s to fetch the same results whole from the "
        "emulator (its process), without decoding them"
    )
    if written is not None:
        files, write_s, write_cpu = written
        fair = parse_s + write_s
        print(
            f"write floor        {files} files written as they are in {write_s:.2f} s "
            f"({write_cpu:.2f} s CPU); parse + write {fair:.2f} s: collect takes "
            f"{elapsed / fair:.1f}x in wall time, {timings['cpu'] / (parse_s + write_cpu):.1f}x "
            "in CPU"
        )
    print(f"peak RSS           {peak_mb:.0f} MB (target <= 256 MB)")
    print(f"load average       {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    sys.exit(0 if rate >= 50_000 and peak_mb <= 256 else 1)


if __name__ == "__main__":
    main()
