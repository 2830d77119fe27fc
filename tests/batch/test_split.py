"""Splitting requests into batches by count and by bytes, and each batch's body as sent."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from ci_reviewer.batch.collect import SourceFile
from ci_reviewer.batch.jobs.report import ReportKind
from ci_reviewer.batch.manifest import CUSTOM_ID
from ci_reviewer.batch.requests import RequestBuilder
from ci_reviewer.batch.split import BodyChanged, Entry, Limits, RequestTooLarge, split
from ci_reviewer.batch.submit import submit
from ci_reviewer.config import JobConfig
from ci_reviewer.emulators.claude import ClaudeEmulator
from tests.batch.conftest import MakeRun, git


class Files:
    """Files by path, and the line source that builds their requests again when sent."""

    def __init__(self, tmp_path: Path) -> None:
        kind = ReportKind(tmp_path)
        self.builder = RequestBuilder(kind, JobConfig(kind="report"), "claude-sonnet-5-5")
        self.texts: dict[str, str] = {}

    def __call__(self, custom_id: str, entry: Entry) -> bytes:
        path, content_hash, attempt = entry
        if path not in self.texts:
            raise FileNotFoundError(path)
        source = SourceFile(path, content_hash, self.texts[path])
        return self.builder.build(source, attempt).line


def requests(files: Files, count: int, size: int = 10) -> list:
    built = []
    for i in range(count):
        files.texts[f"src/f{i}.py"] = "x" * size
        built.append(files.builder.build(SourceFile(f"src/f{i}.py", f"{i:040x}", "x" * size)))
    return built


def sent(batch, files: Files) -> bytes:
    return b"".join(batch.body(files))


def bodies(batches, files: Files) -> list[dict]:
    return [json.loads(sent(batch, files)) for batch in batches]


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(tmp_path)


def test_splits_by_request_count(files: Files) -> None:
    batches = list(split(requests(files, 7), Limits(max_requests=3)))
    assert [b.count for b in batches] == [3, 3, 1]
    ids = [r["custom_id"] for body in bodies(batches, files) for r in body["requests"]]
    assert len(ids) == len(set(ids)) == 7
    assert all(CUSTOM_ID.match(cid) for cid in ids)


def test_splits_by_serialized_bytes_and_every_body_fits(files: Files) -> None:
    built = requests(files, 10, size=3000)
    one = len(built[0].line)
    limit = 3 * one + 100  # room for three requests, not four
    batches = list(split(built, Limits(max_bytes=limit)))
    assert [b.count for b in batches] == [3, 3, 3, 1]
    for batch in batches:
        assert len(sent(batch, files)) == batch.size <= limit
    assert sum(len(body["requests"]) for body in bodies(batches, files)) == 10


def test_a_body_is_sent_in_bounded_chunks_and_can_be_sent_again(files: Files) -> None:
    (batch,) = split(requests(files, 300, size=10_000), Limits())
    body = batch.body(files)
    chunks = list(body)
    assert len(chunks) > 1
    assert max(len(chunk) for chunk in chunks) < 2 * 1024 * 1024
    assert b"".join(chunks) == b"".join(body)  # a retried create sends the same bytes
    assert len(json.loads(b"".join(chunks))["requests"]) == 300


def test_each_request_keeps_the_schema_and_no_breakpoint_under_the_minimum(files: Files) -> None:
    (batch,) = split(requests(files, 2), Limits())
    params = json.loads(sent(batch, files))["requests"][0]["params"]
    # The report's system prompt is ~80 tokens: under Sonnet 5.5's 512, a breakpoint there
    # caches nothing, so there is none.
    assert len(params["system"][0]["text"]) < 512 * 4
    assert "cache_control" not in params["system"][0]
    assert params["output_config"]["format"]["type"] == "json_schema"
    assert "tools" not in params
    assert "src/f0.py" in params["messages"][0]["content"]


def test_a_request_over_the_byte_limit_alone_is_refused(files: Files) -> None:
    with pytest.raises(RequestTooLarge, match=r"src/f0\.py"):
        list(split(requests(files, 1, size=5000), Limits(max_bytes=2000)))


def test_duplicate_files_are_sent_once(files: Files) -> None:
    twice = requests(files, 2) + requests(files, 2)
    (batch,) = split(twice, Limits())
    assert batch.count == 2
    assert len(json.loads(sent(batch, files))["requests"]) == 2


@pytest.mark.parametrize("edit", ["x" * 11, "x" * 9, None])
def test_a_file_that_changed_before_sending_stops_the_body(files: Files, edit: str | None) -> None:
    (batch,) = split(requests(files, 3), Limits())
    if edit is None:
        del files.texts["src/f1.py"]  # gone: reading it again fails
    else:
        files.texts["src/f1.py"] = edit
    body = batch.body(files)
    with pytest.raises(BodyChanged, match=r"another size|src/f1\.py could not be read"):
        b"".join(body)
    with pytest.raises(BodyChanged):
        b"".join(body)  # and again at once when the client retries


def test_a_checkout_edited_before_sending_creates_no_batch_and_the_work_is_resent(
    repo: Path, claude: ClaudeEmulator, make_run: MakeRun
) -> None:
    def edit_after_planning(point: str) -> None:
        if point == "intent-recorded":
            (repo / "src/a.py").write_text("print('edited while the batch was being sent')\n")

    job = make_run()
    with pytest.raises(BodyChanged, match="another size") as refused:
        submit(replace(job, checkpoint=edit_after_planning))
    assert refused.value.exit_code == 2 and "batch was not created" in str(refused.value)

    git(repo, "checkout", "--", "src/a.py")
    claude.clock.advance(hours=1)  # past the orphan grace: the intent is requeued
    later = submit(job)
    # The first batch the emulator ever created: the stopped body created none.
    assert [(b.batch_id, b.requests) for b in later.batches] == [("msgbatch_emu00000001", 2)]
    created = claude.batch("msgbatch_emu00000001").requests
    assert sorted(params["messages"][0]["content"][:15] for _, params in created) == [
        "File: src/a.py\n",
        "File: src/b.py\n",
    ]
