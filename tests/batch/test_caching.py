"""Prompt caching of batch requests: what is marked, where, and what the emulated API bills.

The requests come from a real `batch submit --dry-run` of the security-audit kind over a
checkout with three directories:
- pkg/: a.py, b.py, c.py each import pkg/common.py (4,000 characters): the directory's shared
  context is common.py, its prefix (system + shared) is over Sonnet 5.5's 512-token minimum,
  and three requests (a, b, c) read it; common.py, which imports none of it, is sent alone;
- small/: x.py, y.py import small/util.py (a few lines): a shared part under the minimum;
- two/: p.py, q.py import two/big.py, and only p and q are asked: two readers cannot repay a
  1-hour write (2x the input price; the second request saves 0.9x).
Expected token figures are computed here by hand from the documented rules: the product's
estimate is ceil(characters / 4) of the text; the emulator's is ceil(characters / 4) of each
block's canonical JSON (sorted keys, no spaces, cache_control left out).
"""

from __future__ import annotations

import io
import json
import math
import subprocess
from pathlib import Path
from typing import Any

import anthropic
import pytest

from ci_reviewer.batch.api import BatchesAPI
from ci_reviewer.batch.format import submit_text
from ci_reviewer.batch.job_run import JobRun
from ci_reviewer.batch.jobs.security_audit import SYSTEM, SecurityAuditKind
from ci_reviewer.batch.manifest import ManifestEntry
from ci_reviewer.batch.state import RetryItem, StateDocument
from ci_reviewer.batch.store_dir import DirectoryStore
from ci_reviewer.batch.submit import submit
from ci_reviewer.config import JobConfig
from ci_reviewer.emulators.claude import ClaudeEmulator
from ci_reviewer.emulators.claude_batches import BatchPolicy
from tests.batch.conftest import MakeRun, commit_files

MODEL = "claude-sonnet-5-5"
ONE_HOUR = {"type": "ephemeral", "ttl": "1h"}
COMMON = "".join(f"def helper_{i}(value):\n    return value * {i}  # shared\n" for i in range(80))


def _files() -> dict[str, str]:
    files = {"pkg/common.py": COMMON, "small/util.py": "def tiny():\n    return 1\n"}
    files["two/big.py"] = COMMON
    for name in ("a", "b", "c"):
        files[f"pkg/{name}.py"] = f"from pkg import common\n\n\ndef {name}():\n    return 1\n"
    for name in ("x", "y"):
        files[f"small/{name}.py"] = f"from small import util\n\nVALUE_{name} = 2\n"
    for name in ("p", "q"):
        files[f"two/{name}.py"] = f"from two import big\n\nVALUE_{name} = 3\n"
    return files


def _dry_run(repo: Path, client: anthropic.Anthropic, claude: ClaudeEmulator, tmp: Path) -> Any:
    commit_files(repo, _files(), "packages")
    job = JobConfig(
        kind="security-audit",
        since="all",
        include=["pkg/**", "small/**", "two/p.py", "two/q.py"],
        output="sarif",
    )
    run = JobRun(
        name="audit",
        job=job,
        model=MODEL,
        kind=SecurityAuditKind("audit", job, repo, None),
        workdir=repo,
        store=DirectoryStore(tmp / "state"),
        api=BatchesAPI(client),
        now=claude.clock.now,
    )
    out = io.BytesIO()
    result = submit(run, dry_run_to=out)
    lines = out.getvalue().splitlines()
    return result, lines


@pytest.fixture
def dry(repo: Path, client: anthropic.Anthropic, claude: ClaudeEmulator, tmp_path: Path) -> Any:
    return _dry_run(repo, client, claude, tmp_path)


def _by_path(lines: list[bytes]) -> dict[str, tuple[bytes, dict[str, Any]]]:
    found = {}
    for line in lines:
        params = json.loads(line)["params"]
        content = params["messages"][0]["content"]
        own = content if isinstance(content, str) else content[-1]["text"]
        path = own.split("\n", 1)[0].removeprefix("Audit ").removesuffix(".")
        found[path] = (line, params)
    return found


def _marks(params: dict[str, Any]) -> list[str]:
    """Where the request's breakpoints are: 'system', 'shared' (first user block), 'own'."""
    where = [f"system.{i}" for i, b in enumerate(params["system"]) if "cache_control" in b]
    content = params["messages"][0]["content"]
    if isinstance(content, list):
        names = ["shared", "own"] if len(content) == 2 else ["own"]
        where += [names[i] for i, b in enumerate(content) if "cache_control" in b]
    return where


def test_a_shared_prefix_under_the_minimum_carries_no_breakpoint(dry: Any) -> None:
    _, lines = dry
    requests = _by_path(lines)
    system_tokens = math.ceil(len(SYSTEM) / 4)
    assert system_tokens < 512  # the audit prompt alone is far under Sonnet 5.5's minimum
    for path in ("small/x.py", "small/y.py"):
        _, params = requests[path]
        assert "small/util.py" in params["messages"][0]["content"][0]["text"]  # shared
        assert _marks(params) == [], path


def test_a_shared_prefix_over_the_minimum_is_marked_at_its_end(dry: Any) -> None:
    _, lines = dry
    requests = _by_path(lines)
    for path in ("pkg/a.py", "pkg/b.py", "pkg/c.py"):
        _, params = requests[path]
        shared, own = params["messages"][0]["content"]
        assert _marks(params) == ["shared"], path
        assert shared["cache_control"] == ONE_HOUR
        assert '<imported path="pkg/common.py">' in shared["text"]
        assert own["text"].startswith(f"Audit {path}.")
        # Over the minimum by the product's own estimate, with its margin of 25%.
        assert math.ceil(len(SYSTEM) / 4) + math.ceil(len(shared["text"]) / 4) >= 640


def test_a_prefix_only_two_requests_read_is_not_marked(dry: Any) -> None:
    _, lines = dry
    requests = _by_path(lines)
    for path in ("two/p.py", "two/q.py"):
        _, params = requests[path]
        shared = params["messages"][0]["content"][0]["text"]
        assert len(shared) > 4 * 640  # long enough: only the readers are missing
        assert _marks(params) == [], path


def test_a_groups_requests_share_a_byte_identical_prefix_and_are_adjacent(dry: Any) -> None:
    _, lines = dry
    requests = _by_path(lines)
    prefixes = set()
    for path in ("pkg/a.py", "pkg/b.py", "pkg/c.py"):
        line, _ = requests[path]
        start = line.index(b'"params":')
        end = line.index(b'},{"type":"text","text":"Audit ')
        prefixes.add(line[start:end])
    assert len(prefixes) == 1
    order = [path.rsplit("/", 1)[0] for path in _by_path(lines)]
    assert order == sorted(order, key=order.index)  # each directory's requests together
    assert [d for i, d in enumerate(order) if i == 0 or order[i - 1] != d] == [
        "pkg",
        "small",
        "two",
    ]


def test_the_dry_run_estimate_counts_one_write_and_the_reads(dry: Any) -> None:
    result, lines = dry
    _, params = _by_path(lines)["pkg/a.py"]
    shared = params["messages"][0]["content"][0]["text"]
    prefix = math.ceil(len(SYSTEM) / 4) + math.ceil(len(shared) / 4)
    estimate = result.estimate
    assert (estimate.cache_write_tokens, estimate.cache_read_tokens) == (prefix, 2 * prefix)
    # Sonnet 5.5 at batch prices: input $2, 1-hour write $4, read $0.10, output $10 /MTok, x0.5.
    uncached = estimate.input_tokens - 3 * prefix
    expected = (uncached * 2 + prefix * 4 + 2 * prefix * 0.1 + estimate.output_tokens * 10) / 2e6
    assert estimate.usd == pytest.approx(expected)
    assert estimate.uncached_usd == pytest.approx(
        (estimate.input_tokens * 2 + estimate.output_tokens * 10) / 2e6
    )
    assert estimate.usd < estimate.uncached_usd
    # What the dry run prints.
    assert f"prompt cache: ~{prefix} tokens written (1 h), ~{2 * prefix} read" in submit_text(
        result
    )


def _canonical_tokens(block: dict[str, Any]) -> int:
    plain = {k: v for k, v in block.items() if k != "cache_control"}
    text = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return math.ceil(len(text) / 4)


def test_the_emulator_bills_a_groups_second_request_as_a_cache_read(
    dry: Any, client: anthropic.Anthropic
) -> None:
    _, lines = dry
    requests = _by_path(lines)
    first_params, second_params = requests["pkg/a.py"][1], requests["pkg/b.py"][1]
    shared = first_params["messages"][0]["content"][0]
    prefix = _canonical_tokens(first_params["system"][0]) + _canonical_tokens(shared)
    own_a = _canonical_tokens(first_params["messages"][0]["content"][1])
    own_b = _canonical_tokens(second_params["messages"][0]["content"][1])

    first = client.messages.create(**first_params).usage
    second = client.messages.create(**second_params).usage

    assert (first.cache_creation_input_tokens, first.cache_read_input_tokens) == (prefix, 0)
    assert first.cache_creation is not None
    assert first.cache_creation.ephemeral_1h_input_tokens == prefix
    assert first.input_tokens == own_a
    assert (second.cache_creation_input_tokens, second.cache_read_input_tokens) == (0, prefix)
    assert second.input_tokens == own_b


def _batch_usages(
    client: anthropic.Anthropic, claude: ClaudeEmulator, params: list[dict[str, Any]]
) -> list[Any]:
    batch = client.messages.batches.create(
        requests=[{"custom_id": f"r{i}", "params": p} for i, p in enumerate(params)]  # type: ignore[misc]
    )
    claude.batches.end_now(batch.id)
    results = sorted(client.messages.batches.results(batch.id), key=lambda r: r.custom_id)
    return [r.result.message.usage for r in results]  # type: ignore[union-attr]


def test_a_batch_processed_at_once_misses_and_a_warmed_prefix_is_read_by_all(
    dry: Any, client: anthropic.Anthropic, claude: ClaudeEmulator
) -> None:
    """Batch requests run concurrently: those processed together cannot read each other's
    writes (the docs' "best-effort" hits); a prefix written by an earlier batch (the docs'
    warm-up) is read by every request of the next."""
    _, lines = dry
    requests = _by_path(lines)
    group = [requests[p][1] for p in ("pkg/a.py", "pkg/b.py", "pkg/c.py")]
    prefix = _canonical_tokens(group[0]["system"][0]) + _canonical_tokens(
        group[0]["messages"][0]["content"][0]
    )

    together = _batch_usages(client, claude, group)  # one wave of 8: nobody reads
    assert [u.cache_creation_input_tokens for u in together] == [prefix] * 3
    assert [u.cache_read_input_tokens for u in together] == [0] * 3

    claude.cache.clear()
    warm = _batch_usages(client, claude, group[:1])
    rest = _batch_usages(client, claude, group[1:])
    assert warm[0].cache_creation_input_tokens == prefix
    assert [u.cache_read_input_tokens for u in rest] == [prefix] * 2
    assert [u.cache_creation_input_tokens for u in rest] == [0] * 2


def _text(text: str, ttl: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": text}
    if ttl is not None:
        block["cache_control"] = {"type": "ephemeral", "ttl": ttl}
    return block


def test_more_than_four_breakpoints_are_refused_with_the_apis_answer(
    client: anthropic.Anthropic,
) -> None:
    system = [_text(f"part {i} " * 300, "1h") for i in range(5)]
    with pytest.raises(anthropic.BadRequestError) as refused:
        client.messages.create(
            model=MODEL, max_tokens=16, system=system, messages=[{"role": "user", "content": "q"}]
        )
    assert refused.value.status_code == 400
    error = refused.value.body["error"]  # type: ignore[index]
    assert error == {
        "type": "invalid_request_error",
        "message": "A maximum of 4 blocks with cache_control may be provided. Found 5.",
    }
    # Four are accepted.
    client.messages.create(
        model=MODEL, max_tokens=16, system=system[:4], messages=[{"role": "user", "content": "q"}]
    )


def test_a_one_hour_breakpoint_after_a_five_minute_one_is_refused(
    client: anthropic.Anthropic,
) -> None:
    with pytest.raises(anthropic.BadRequestError) as refused:
        client.messages.create(
            model=MODEL,
            max_tokens=16,
            system=[_text("a" * 3000, "5m")],
            messages=[{"role": "user", "content": [_text("b" * 3000, "1h"), _text("q")]}],
        )
    assert refused.value.body["error"]["message"] == (  # type: ignore[index]
        "messages.0.content.0.cache_control.ttl: a ttl='1h' cache_control block must not come "
        "after a ttl='5m' cache_control block. Note that blocks are processed in the "
        "following order: `tools`, `system`, `messages`."
    )
    # The other way round is the documented order: accepted.
    client.messages.create(
        model=MODEL,
        max_tokens=16,
        system=[_text("a" * 3000, "1h")],
        messages=[{"role": "user", "content": [_text("b" * 3000, "5m"), _text("q")]}],
    )


def _run(repo: Path, client: anthropic.Anthropic, claude: ClaudeEmulator, tmp: Path,
         sleeps: list[float], **job: Any) -> JobRun:  # fmt: skip
    commit_files(repo, _files(), "packages")
    config = JobConfig(
        kind="security-audit",
        since="all",
        include=["pkg/**", "small/**", "two/p.py", "two/q.py"],
        output="sarif",
        **job,
    )
    return JobRun(
        name="audit",
        job=config,
        model=MODEL,
        kind=SecurityAuditKind("audit", config, repo, None),
        workdir=repo,
        store=DirectoryStore(tmp / "state"),
        api=BatchesAPI(client),
        now=claude.clock.now,
        sleep=sleeps.append,
    )


def _usage_by_path(client: anthropic.Anthropic, batch_id: str) -> dict[str, Any]:
    batch = client.messages.batches.retrieve(batch_id)
    assert batch.processing_status == "ended"
    found = {}
    for result in client.messages.batches.results(batch_id):
        found[result.custom_id] = result.result.message.usage  # type: ignore[union-attr]
    return found


def test_the_first_request_of_each_cached_group_warms_the_cache_in_a_batch_of_its_own(
    repo: Path, client: anthropic.Anthropic, claude: ClaudeEmulator, tmp_path: Path
) -> None:
    sleeps: list[float] = []
    run = _run(repo, client, claude, tmp_path, sleeps)
    _, lines = _dry_run_lines(run)
    requests = _by_path(lines)
    params = requests["pkg/a.py"][1]
    prefix = _canonical_tokens(params["system"][0]) + _canonical_tokens(
        params["messages"][0]["content"][0]
    )

    result = submit(run)

    warm, rest = result.batches
    # Only pkg/ has a marked prefix: its first request alone warms it, the 8 others follow.
    assert (warm.requests, rest.requests) == (1, 8)
    assert sleeps == []  # the emulated warm-up had ended when it was first looked at
    # The rest first: had submit not waited for the warm-up to end, the rest would have been
    # processed before it (the emulator processes a batch when it is first looked at).
    followers = _usage_by_path(client, rest.batch_id)
    (leader,) = _usage_by_path(client, warm.batch_id).values()
    assert (leader.cache_creation_input_tokens, leader.cache_read_input_tokens) == (prefix, 0)
    reads = sorted(u.cache_read_input_tokens for u in followers.values())
    # pkg/b and pkg/c read what the warm-up wrote, processed together or not.
    assert reads == [0] * 6 + [prefix] * 2
    assert all(u.cache_creation_input_tokens == 0 for u in followers.values())


def test_a_warm_up_that_does_not_end_is_waited_for_a_bounded_time(
    repo: Path, client: anthropic.Anthropic, claude: ClaudeEmulator, tmp_path: Path
) -> None:
    sleeps: list[float] = []
    run = _run(repo, client, claude, tmp_path, sleeps, cache_warmup_minutes=1)
    claude.batches.policy = BatchPolicy.until_expired()

    result = submit(run)

    assert [b.requests for b in result.batches] == [1, 8]  # the rest went anyway
    assert sleeps == [15.0] * 4  # 1 minute of 15-second polls


def test_no_warm_up_when_it_is_turned_off(
    repo: Path, client: anthropic.Anthropic, claude: ClaudeEmulator, tmp_path: Path
) -> None:
    sleeps: list[float] = []
    run = _run(repo, client, claude, tmp_path, sleeps, cache_warmup_minutes=0)
    assert [b.requests for b in submit(run).batches] == [9]


def _dry_run_lines(run: JobRun) -> tuple[Any, list[bytes]]:
    out = io.BytesIO()
    return submit(run, dry_run_to=out), out.getvalue().splitlines()


def test_a_system_block_long_enough_to_cache_is_warmed_by_one_request(
    repo: Path, claude: ClaudeEmulator, make_run: MakeRun
) -> None:
    commit_files(repo, {"src/c.py": "print('c')\n"})
    # ~900 tokens of instructions: the report's system block passes Sonnet 5.5's 512 (x1.25).
    run = make_run(instructions="Check every branch of the code for errors. " * 85)
    result = submit(run)
    assert [b.requests for b in result.batches] == [1, 2]
    params = claude.batches.get(result.batches[0].batch_id).requests[0][1]
    assert params["system"][0]["cache_control"] == ONE_HOUR


# -- a file that imports none of its directory's shared modules is sent alone -----------------
# app/: a, b, c import app/models.py (the shared context); cli.py imports app/settings.py only
# (imported once: not shared), models.py imports nothing. trio/: p and q import trio/big.py,
# r imports nothing. web/: p and q import web/big.py; index.html is no source (sent alone,
# never a reader), and big.py imports nothing. wide/: 66 files, more than the 64 a directory
# is worked out from (sorted: base.py and f00..f62 are scanned); z1.py imports base.py,
# z2.py nothing: judged alike.
def _mixed_files() -> dict[str, str]:
    files = {"app/models.py": COMMON, "app/settings.py": "DEBUG = False\n"}
    for name in ("a", "b", "c"):
        files[f"app/{name}.py"] = f"from app import models\n\n\ndef {name}():\n    return 1\n"
    files["app/cli.py"] = "from app import settings\n\nVERBOSE = settings.DEBUG\n"
    files["trio/big.py"] = COMMON
    for name in ("p", "q"):
        files[f"trio/{name}.py"] = f"from trio import big\n\nVALUE_{name} = 3\n"
    files["trio/r.py"] = "VALUE_r = 4\n"
    files["web/big.py"] = COMMON
    for name in ("p", "q"):
        files[f"web/{name}.py"] = f"from web import big\n\nVALUE_{name} = 3\n"
    files["web/index.html"] = '<script type="module">import "./p.py";</script>\n'
    files["wide/base.py"] = COMMON
    for i in range(63):
        files[f"wide/f{i:02}.py"] = f"from wide import base\n\nVALUE = {i}\n"
    files["wide/z1.py"] = "from wide import base\n\nLAST = 1\n"
    files["wide/z2.py"] = "LAST = 2\n"
    return files


def test_a_file_that_imports_nothing_shared_is_sent_alone_and_not_counted_as_a_reader(
    repo: Path, client: anthropic.Anthropic, claude: ClaudeEmulator, tmp_path: Path
) -> None:
    commit_files(repo, _mixed_files(), "mixed")
    job = JobConfig(
        kind="security-audit",
        since="all",
        include=["app/**", "trio/[pqr].py", "web/**", "wide/f00.py", "wide/z*.py"],
        output="sarif",
    )
    run = JobRun(
        name="audit",
        job=job,
        model=MODEL,
        kind=SecurityAuditKind("audit", job, repo, None),
        workdir=repo,
        store=DirectoryStore(tmp_path / "state"),
        api=BatchesAPI(client),
        now=claude.clock.now,
    )
    result, lines = _dry_run_lines(run)
    requests = {path: params for path, (_, params) in _by_path(lines).items()}

    # Alone: the whole message is the file's own part, with its own imports.
    alone = {"app/cli.py": "app/models.py", "app/models.py": "app/models.py"}
    alone |= {"trio/r.py": "trio/big.py", "wide/z2.py": "wide/base.py"}
    alone |= {"web/index.html": "web/big.py", "web/big.py": "web/big.py"}
    for path, unrelated in alone.items():
        content = requests[path]["messages"][0]["content"]
        assert isinstance(content, str), path
        assert f'<imported path="{unrelated}"' not in content, path
    assert '<imported path="app/settings.py">' in requests["app/cli.py"]["messages"][0]["content"]
    # The readers keep the shared prefix.
    for path in ("app/a.py", "app/b.py", "app/c.py", "trio/p.py", "wide/f00.py", "wide/z1.py"):
        shared, own = requests[path]["messages"][0]["content"]
        assert "<imported path=" in shared["text"] and own["text"].startswith(f"Audit {path}.")
    # app/ has three readers: marked; trio/ and web/ have two (of three and four requests):
    # not worth a write.
    assert [_marks(requests[p]) for p in ("app/a.py", "app/b.py", "app/c.py")] == [["shared"]] * 3
    assert [_marks(requests[p]) for p in ("trio/p.py", "trio/q.py")] == [[], []]
    assert [_marks(requests[p]) for p in ("web/p.py", "web/q.py")] == [[], []]
    # wide/: f00 and z1 read; z2 was not scanned, so it counts (3 readers known): marked.
    assert _marks(requests["wide/f00.py"]) == _marks(requests["wide/z1.py"]) == ["shared"]

    # Hand count: each marked prefix written once and read by the other readers only.
    app = math.ceil(len(SYSTEM) / 4) + math.ceil(
        len(requests["app/a.py"]["messages"][0]["content"][0]["text"]) / 4
    )
    wide = math.ceil(len(SYSTEM) / 4) + math.ceil(
        len(requests["wide/z1.py"]["messages"][0]["content"][0]["text"]) / 4
    )
    estimate = result.estimate
    assert (estimate.cache_write_tokens, estimate.cache_read_tokens) == (
        app + wide,
        2 * app + 1 * wide,
    )


def test_a_retry_that_is_skipped_does_not_count_as_a_reader_of_its_group(
    repo: Path, client: anthropic.Anthropic, claude: ClaudeEmulator, tmp_path: Path
) -> None:
    """pkg/a.py and pkg/b.py read pkg/common.py; the state also holds a retry of pkg/c.py
    whose content is in no object of the checkout any more (skipped when its turn comes).
    Two requests are sent: two readers cannot repay a 1-hour write, so nothing is marked;
    counting the skipped retry, three would have been, and the write paid for nothing."""
    files = {"pkg/common.py": COMMON}
    for name in ("a", "b"):
        files[f"pkg/{name}.py"] = f"from pkg import common\n\n\ndef {name}():\n    return 1\n"
    commit_files(repo, files, "two readers")
    gone = "from pkg import common\n\nLOST = 1\n"
    missing = subprocess.run(
        ["git", "-C", str(repo), "hash-object", "--stdin"],
        input=gone, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    store = DirectoryStore(tmp_path / "state")
    retry = RetryItem(entry=ManifestEntry("pkg/c.py", missing, 2), reason="errored")
    store.save(StateDocument(job="audit", retry=(retry,)), None)
    job = JobConfig(
        kind="security-audit", since="all", include=["pkg/a.py", "pkg/b.py"], output="sarif"
    )
    run = JobRun(
        name="audit",
        job=job,
        model=MODEL,
        kind=SecurityAuditKind("audit", job, repo, None),
        workdir=repo,
        store=store,
        api=BatchesAPI(client),
        now=claude.clock.now,
    )

    result, lines = _dry_run_lines(run)

    assert result.skipped.get("retry content no longer in the checkout") == 1
    requests = _by_path(lines)
    assert sorted(requests) == ["pkg/a.py", "pkg/b.py"]
    for path in ("pkg/a.py", "pkg/b.py"):
        shared, _ = requests[path][1]["messages"][0]["content"]
        assert '<imported path="pkg/common.py">' in shared["text"]
        assert _marks(requests[path][1]) == [], path
    assert (result.estimate.cache_write_tokens, result.estimate.cache_read_tokens) == (0, 0)
