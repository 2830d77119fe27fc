"""Splitting serialized requests into batches by count and by bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_reviewer.batch.collect import SourceFile
from ci_reviewer.batch.jobs.report import ReportKind
from ci_reviewer.batch.manifest import CUSTOM_ID
from ci_reviewer.batch.requests import RequestBuilder
from ci_reviewer.batch.split import Limits, RequestTooLarge, split
from ci_reviewer.config import JobConfig


def requests(tmp_path: Path, count: int, size: int = 10) -> list:
    builder = RequestBuilder(ReportKind(tmp_path), JobConfig(kind="report"), "claude-sonnet-5-5")
    return [
        builder.build(SourceFile(f"src/f{i}.py", f"{i:040x}", "x" * size)) for i in range(count)
    ]


def bodies(batches) -> list[dict]:
    return [json.loads(batch.body()) for batch in batches]


def test_splits_by_request_count(tmp_path: Path) -> None:
    batches = list(split(requests(tmp_path, 7), Limits(max_requests=3), tmp_path))
    assert [b.count for b in batches] == [3, 3, 1]
    sent = [r["custom_id"] for body in bodies(batches) for r in body["requests"]]
    assert len(sent) == len(set(sent)) == 7
    assert all(CUSTOM_ID.match(cid) for cid in sent)


def test_splits_by_serialized_bytes_and_every_body_fits(tmp_path: Path) -> None:
    built = requests(tmp_path, 10, size=3000)
    one = len(built[0].line)
    limit = 3 * one + 100  # room for three requests, not four
    batches = list(split(built, Limits(max_bytes=limit), tmp_path))
    assert [b.count for b in batches] == [3, 3, 3, 1]
    for batch in batches:
        assert batch.path.stat().st_size == batch.size <= limit
    assert sum(len(body["requests"]) for body in bodies(batches)) == 10


def test_each_request_keeps_the_cached_prefix_and_schema(tmp_path: Path) -> None:
    (batch,) = split(requests(tmp_path, 2), Limits(), tmp_path)
    params = json.loads(batch.body())["requests"][0]["params"]
    assert params["system"][0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert params["output_config"]["format"]["type"] == "json_schema"
    assert "tools" not in params
    assert "src/f0.py" in params["messages"][0]["content"]


def test_a_request_over_the_byte_limit_alone_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RequestTooLarge, match=r"src/f0\.py"):
        list(split(requests(tmp_path, 1, size=5000), Limits(max_bytes=2000), tmp_path))


def test_duplicate_files_are_sent_once(tmp_path: Path) -> None:
    twice = requests(tmp_path, 2) + requests(tmp_path, 2)
    (batch,) = split(twice, Limits(), tmp_path)
    assert batch.count == 2
