"""`review --dry-run` end to end: it writes every file's first request, exactly as the review
then sends it, to a file outside the checkout and names it; secrets never reach that file;
tokens are counted by the count_tokens endpoint when a key is set and it answers, else as
characters / 4, and the output says which. Nothing is sent to the Messages API."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from ci_reviewer.emulators.claude_usage import input_tokens
from ci_reviewer.emulators.server import Fault
from tests.review.conftest import RepoFactory, answer, git
from tests.review.test_local_cli import run_cli

KEY = "sk-ant-api03-dryRunKey-0123456789abcdefghijklmnopqrstuvwxyz0123456789AB"
GITHUB_SECRET = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
HEAD = {
    "src/a.py": "def total(xs):\n    return sum(xs) + 1\n",
    "src/b.py": "def name(user):\n    return user.name.upper()\n",
    ".env": f"GITHUB_TOKEN={GITHUB_SECRET}\n",
    "src/settings.py": f"TOKEN = '{GITHUB_SECRET}'\n",
}


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _about(request: dict[str, Any], path: str) -> bool:
    return f"Review {path} (" in json.dumps(request["messages"][0])


def _dry_run(repo: Path, *extra: str) -> int:
    return run_cli(
        "review", "--local", "--base", "main", "--workdir", str(repo), "--dry-run", *extra
    )


@pytest.fixture
def repo(make_repo: RepoFactory) -> Path:
    return make_repo({"src/a.py": "def total(xs):\n    return sum(xs)\n"}, HEAD)


def test_the_file_holds_each_files_first_request_exactly_as_the_review_sends_it(
    repo: Path,
    emu: ClaudeEmulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    target = tmp_path / "requests.jsonl"

    assert _dry_run(repo, "--requests-out", str(target), "--format", "json") == 0

    document = json.loads(capsys.readouterr().out)
    assert document["requests_file"] == str(target)
    written = _lines(target)
    assert [r["model"] for r in written] == ["claude-sonnet-5-5"] * 2
    assert sorted(document["files"]) == ["src/a.py", "src/b.py"]
    diffs = (("src/a.py", "+     return sum(xs) + 1"), ("src/b.py", "+     return user.name"))
    for path, added in diffs:
        [request] = [r for r in written if _about(r, path)]
        assert "reviewing one file of a pull request" in request["system"][0]["text"]
        assert added in json.dumps(request["messages"][0])  # the file's diff
    # .env and src/settings.py hold a token: named as not reviewed, their content absent.
    assert GITHUB_SECRET not in target.read_text()
    assert "Not reviewed: .env, src/settings.py" in target.read_text()
    assert emu.requests == []

    # The review itself, on the emulator: each conversation opens with the line written.
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emu.url)
    emu.enqueue(Reply.json(answer()), when=lambda body: _about(body, "src/a.py"))
    emu.enqueue(Reply.json(answer()), when=lambda body: _about(body, "src/b.py"))
    assert run_cli("review", "--local", "--base", "main", "--workdir", str(repo)) == 0
    # The run's first call also asks to stream (`agent.send`): how the answer travels, not
    # what is asked, so the file leaves it out.
    assert [call.body.get("stream") for call in emu.requests] == [True, None]
    sent = [{k: v for k, v in call.body.items() if k != "stream"} for call in emu.requests]
    for path in ("src/a.py", "src/b.py"):
        first_sent = next(body for body in sent if _about(body, path))
        assert [r for r in written if _about(r, path)] == [first_sent]


def test_by_default_the_file_is_outside_the_checkout_and_named_in_the_output(
    repo: Path,
    emu: ClaudeEmulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emu.url)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    monkeypatch.setenv("RUNNER_TEMP", str(runner_temp))

    assert _dry_run(repo) == 0

    out = capsys.readouterr().out
    target = runner_temp / "ci-reviewer-review-requests.jsonl"
    assert f"requests (one JSON line per file, its first turn): {target}" in out
    assert len(_lines(target)) == 2
    assert KEY not in target.read_text() and GITHUB_SECRET not in target.read_text()
    assert git(repo, "status", "--porcelain", "--ignored") == ""  # the tree is as it was


def test_with_a_key_tokens_come_from_count_tokens(
    repo: Path,
    emu: ClaudeEmulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emu.url)
    target = tmp_path / "requests.jsonl"

    assert _dry_run(repo, "--requests-file", str(target), "--format", "json") == 0

    document = json.loads(capsys.readouterr().out)
    written = _lines(target)
    # What the API counts for each request, as the emulator counts (tools, system, messages).
    assert document["input_tokens"] == sum(input_tokens(r) for r in written)
    assert document["tokens_counted_by"] == "count_tokens"
    assert document["tokens_counted_note"] is None
    paths = [r.path for r in emu.log]
    assert paths == ["/v1/messages/count_tokens"] * 2  # counted; nothing sent to be answered


def test_when_count_tokens_fails_every_count_is_the_approximation_and_says_why(
    repo: Path,
    emu: ClaudeEmulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emu.url)
    emu.inject(Fault(route=r"/v1/messages/count_tokens$", status=529, times=10, retry_after=0))
    target = tmp_path / "requests.jsonl"

    assert _dry_run(repo, "--requests-file", str(target)) == 0

    out = capsys.readouterr().out
    by_hand = sum(
        math.ceil(len(json.dumps({k: r[k] for k in ("system", "tools", "messages")})) / 4)
        for r in _lines(target)
    )
    assert f"first turns: ~{by_hand} input tokens, counted by characters / 4 " in out
    assert "(count_tokens answered 529 (overloaded_error))" in out
    # One try and one retry for the first file, then no more asking.
    assert [r.path for r in emu.log] == ["/v1/messages/count_tokens"] * 2


@pytest.mark.deliberate_leak  # the checkout holds the run's token on purpose
def test_a_credential_of_the_run_in_a_changed_file_is_masked_in_the_file(
    make_repo: RepoFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token in no format the secret policy knows, pasted into code: the run knows it is
    its GITHUB_TOKEN, so the requests file carries the mask, never the value."""
    token = "plain-ci-secret-5b7c2e9d41"
    monkeypatch.setenv("GITHUB_TOKEN", token)
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    repo = make_repo({}, {"src/deploy.py": f"TOKEN = '{token}'\n"})
    target = tmp_path / "requests.jsonl"

    assert _dry_run(repo, "--requests-file", str(target)) == 0

    text = target.read_text()
    assert token not in text
    assert "TOKEN = '***'" in text
