"""P5: the billed input cost of the nightly batch jobs (test generation, security audit) on
real repositories, with the product's batch + prompt caching against the alternatives.

Each repository is a source distribution from PyPI (`pip download --no-deps --no-binary
:all:`), unpacked, `git init`, committed. For each kind, the requests are the ones
`batch submit --dry-run` builds (`submit(run, dry_run_to=...)`, every Python file under
src/). Every figure is billed by the Claude emulator (its `usage`, with its documented token
approximation and its best-effort batch caching: requests processed 8 at a time in any order,
`claude_batches`) and priced from data/models.json (input tokens only: input, cache writes,
cache reads; output is the same in every column):

- sync, no cache: the same requests with every `cache_control` removed, at synchronous prices;
- batch, no cache: the same, at batch prices;
- product: what `batch submit` itself sends and the emulator bills, at batch prices: the
  docs' recipe for batches (prompt-caching page, "Can I use prompt caching with the Batches
  API?"): the first request of each marked prefix in a warm-up batch of its own, the rest once
  it ended;
- no warm-up: the same with `cache_warmup_minutes: 0` (one batch; its hits best effort);
- best: the floor for this request set: every prefix shared by two or more requests written
  once at the cheapest write (5-minute TTL, 1.25x) and read by every other request (the
  requests sent one at a time with each shared prefix marked), at batch prices.

Goal: product <= 0.3x of sync, no cache.

Run: python -m benchmarks.p5_nightly_cost [requests==2.32.3 flask==3.0.3 ...]
"""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anthropic

from ci_reviewer.batch.api import BatchesAPI
from ci_reviewer.batch.caching import group_of
from ci_reviewer.batch.job_run import JobRun
from ci_reviewer.batch.jobs.base import BatchJobKind
from ci_reviewer.batch.jobs.security_audit import SecurityAuditKind
from ci_reviewer.batch.jobs.test_generation import Delivery, TestGenerationKind
from ci_reviewer.batch.store_dir import DirectoryStore
from ci_reviewer.batch.submit import submit
from ci_reviewer.config import JobConfig
from ci_reviewer.emulators.claude import ClaudeEmulator
from ci_reviewer.pricing import Usage, price_table

MODEL = "claude-sonnet-5-5"
DEFAULT_PROJECTS = ("requests==2.32.3", "flask==3.0.3")
Params = dict[str, Any]


def checkout(spec: str, root: Path) -> Path:
    """The project's source distribution, unpacked and committed."""
    download = root / "download"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
         "-d", str(download), spec],
        check=True,
    )  # fmt: skip
    (archive,) = download.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(root / "src", filter="data")
    (repo,) = (root / "src").iterdir()
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", spec]):
        subprocess.run(
            ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", "-C",
             str(repo), *args],
            check=True,
        )  # fmt: skip
    return repo


def job_run(
    repo: Path, kind_name: str, client: anthropic.Anthropic, state: Path, **job: Any
) -> JobRun:
    config = JobConfig(kind=kind_name, since="all", include=["src/**/*.py"], output="sarif", **job)
    kind: BatchJobKind
    if kind_name == "security-audit":
        kind = SecurityAuditKind("audit", config, repo, None)
    else:
        kind = TestGenerationKind("tests", config, repo, Delivery(None))
    return JobRun(
        name=kind_name,
        job=config,
        model=MODEL,
        kind=kind,
        workdir=repo,
        store=DirectoryStore(state),
        api=BatchesAPI(client),
        now=lambda: datetime.now(UTC),
    )


def built_requests(repo: Path, kind_name: str, client: anthropic.Anthropic) -> list[Params]:
    """The params of every request the dry run of `kind_name` builds, in the order built."""
    with tempfile.TemporaryDirectory() as state:
        out = io.BytesIO()
        submit(job_run(repo, kind_name, client, Path(state)), dry_run_to=out)
    return [json.loads(line)["params"] for line in out.getvalue().splitlines()]


def _uncached(params: Params) -> Params:
    plain = copy.deepcopy(params)
    for block in plain["system"]:
        block.pop("cache_control", None)
    content = plain["messages"][0]["content"]
    for block in content if isinstance(content, list) else ():
        block.pop("cache_control", None)
    return plain


def _shared_key(params: Params) -> str | None:
    content = params["messages"][0]["content"]
    return content[0]["text"] if isinstance(content, list) and len(content) == 2 else None


def _best(requests: list[Params]) -> list[Params]:
    """Every prefix two or more requests share, marked with the 5-minute TTL."""
    counts: dict[str, int] = {}
    for params in requests:
        key = _shared_key(params)
        if key is not None:
            counts[key] = counts.get(key, 0) + 1
    marked = []
    for params in requests:
        plain = _uncached(params)
        key = _shared_key(plain)
        if key is not None and counts[key] >= 2:
            plain["messages"][0]["content"][0]["cache_control"] = {"type": "ephemeral"}
        marked.append(plain)
    return marked


class Biller:
    """Batches through the emulator; each scenario starts from an empty cache."""

    def __init__(self, emulator: ClaudeEmulator, client: anthropic.Anthropic) -> None:
        self.emulator = emulator
        self.client = client

    def batches(self, *parts: list[Params], concurrency: int = 8) -> list[Usage]:
        self.emulator.cache.clear()
        self.emulator.batches.concurrency = concurrency
        usages: list[Usage] = []
        for part in parts:
            if not part:
                continue
            batch = self.client.messages.batches.create(
                requests=[{"custom_id": f"r{i}", "params": p} for i, p in enumerate(part)]  # type: ignore[misc]
            )
            self.emulator.batches.end_now(batch.id)
            for result in self.client.messages.batches.results(batch.id):
                message = getattr(result.result, "message", None)
                assert message is not None, result
                usages.append(Usage.from_api(message.usage))
        return usages


def submitted(biller: Biller, repo: Path, kind_name: str, warmup_minutes: float) -> list[Usage]:
    """What the product's own `batch submit` sends, billed: the warm-up batch (if any) ends
    when submit looks at it, before the rest is created, as on the real API."""
    biller.emulator.cache.clear()
    biller.emulator.batches.concurrency = 8
    with tempfile.TemporaryDirectory() as state:
        run = job_run(
            repo, kind_name, biller.client, Path(state), cache_warmup_minutes=warmup_minutes
        )
        result = submit(run)
    usages: list[Usage] = []
    for batch in result.batches:
        biller.emulator.batches.end_now(batch.batch_id)
        for line in biller.client.messages.batches.results(batch.batch_id):
            message = getattr(line.result, "message", None)
            assert message is not None, line
            usages.append(Usage.from_api(message.usage))
    return usages


def input_cost(usages: list[Usage], *, batch: bool) -> float:
    table = price_table()
    total = 0.0
    for usage in usages:
        priced = table.cost(
            MODEL,
            Usage(
                input_tokens=usage.input_tokens,
                cache_creation_input_tokens=usage.cache_creation_input_tokens,
                cache_read_input_tokens=usage.cache_read_input_tokens,
                cache_creation_1h_tokens=usage.cache_creation_1h_tokens,
            ),
            batch=batch,
        )
        assert priced is not None
        total += priced
    return total


def scenarios(biller: Biller, repo: Path, kind: str, requests: list[Params]) -> dict[str, float]:
    plain = [_uncached(p) for p in requests]
    uncached = biller.batches(plain)
    runs: dict[str, Callable[[], float]] = {
        "sync, no cache": lambda: input_cost(uncached, batch=False),
        "batch, no cache": lambda: input_cost(uncached, batch=True),
        "product": lambda: input_cost(submitted(biller, repo, kind, 10), batch=True),
        "no warm-up": lambda: input_cost(submitted(biller, repo, kind, 0), batch=True),
        "best": lambda: input_cost(biller.batches(_best(requests), concurrency=1), batch=True),
    }
    return {name: run() for name, run in runs.items()}


def describe(requests: list[Params]) -> str:
    groups: dict[str, int] = {}
    marked = 0
    for params in requests:
        content = params["messages"][0]["content"]
        own = content if isinstance(content, str) else content[-1]["text"]
        path = own.split("\n", 1)[0].split(" ")[-1].rstrip(".")
        groups[group_of(path)] = groups.get(group_of(path), 0) + 1
        marked += isinstance(content, list) and "cache_control" in content[0]
    return f"{len(requests)} requests in {len(groups)} directories, {marked} with a marked prefix"


def main(projects: list[str]) -> None:
    emulator = ClaudeEmulator().start()
    client = anthropic.Anthropic(api_key="sk-bench", base_url=emulator.url, max_retries=0)
    biller = Biller(emulator, client)
    try:
        for spec in projects:
            with tempfile.TemporaryDirectory() as tmp:
                repo = checkout(spec, Path(tmp))
                for kind in ("test-generation", "security-audit"):
                    requests = built_requests(repo, kind, client)
                    costs = scenarios(biller, repo, kind, requests)
                    sync = costs["sync, no cache"]
                    files = len(requests)
                    print(f"{spec} {kind}: {describe(requests)}")
                    for name, usd in costs.items():
                        print(
                            f"  {name:16} ${usd:.4f} (${usd / files:.5f}/file) "
                            f"= {usd / sync:.3f}x sync, {usd / costs['best']:.2f}x best"
                        )
    finally:
        client.close()
        emulator.stop()


if __name__ == "__main__":
    main(sys.argv[1:] or list(DEFAULT_PROJECTS))
