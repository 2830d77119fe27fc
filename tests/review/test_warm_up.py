"""The review's cache warm-up: the run's first call goes alone and streams; the other
conversations start when its answer begins (the emulator's `message_start`, at the end of its
prefill, when its cache entries become visible) instead of when it ends, and read the prefix it
wrote. When it fails (overloaded after the SDK's retries, or refused) they start at once, and
the answer is handled as for a call that did not stream: usage and cache figures, the refusal's
category, the fallback model.

Timing is read from the emulator's own records of each call (arrival, end of prefill, end of
answer), never from the test's clock.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import anthropic
import pytest

from ci_reviewer.claude import build_client
from ci_reviewer.config import ReviewConfig
from ci_reviewer.emulators.claude import ClaudeEmulator, MessageCall, Reply
from ci_reviewer.emulators.claude_usage import input_tokens
from ci_reviewer.emulators.server import Fault
from ci_reviewer.pricing import Usage
from tests.review.conftest import MODEL, RepoFactory, answer, file_of, for_file, review

FALLBACK = "claude-haiku-5-5"
FILES = ("src/m0.py", "src/m1.py", "src/m2.py")


@pytest.fixture
def repo(make_repo: RepoFactory) -> Path:
    files = {path: "".join(f"value_{k} = {k}\n" for k in range(30)) for path in FILES}
    return make_repo({"src/util.py": "def helper():\n    return 1\n"}, files)


@pytest.fixture
def retrying(emu: ClaudeEmulator) -> Iterator[anthropic.Anthropic]:
    """A client that retries once, as the SDK does by default (there: twice)."""
    with build_client("sk-test-key", emu.url, max_retries=1) as sdk:
        yield sdk


def shared_prefix(body: Mapping[str, Any]) -> int:
    """Tokens of what every file's first call shares: tools, system, the PR overview."""
    first = body["messages"][0]["content"][0]
    return input_tokens({**body, "messages": [{"role": "user", "content": [first]}]})


def by_arrival(emu: ClaudeEmulator) -> list[MessageCall]:
    return sorted(emu.requests, key=lambda call: call.received)


def test_the_others_start_when_the_first_answer_begins_and_read_its_prefix(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu.latency, emu.time_to_first_token = 1.5, 0.2
    emu.responder = lambda body: Reply.json(answer())

    result = review(client, repo, ReviewConfig(concurrency=3))

    assert [file.status for file in result.files] == ["reviewed"] * 3
    warm, *others = by_arrival(emu)
    assert file_of(warm.body) == FILES[0] and warm.body["stream"] is True
    assert [call.body.get("stream") for call in others] == [None, None]
    assert warm.first_token is not None and warm.answered is not None
    for call in others:
        # Started after the warm-up's prefill and before its answer was over.
        assert warm.first_token <= call.received < warm.answered
        assert call.usage is not None
        assert call.usage.cache_read_input_tokens == shared_prefix(call.body)
    assert warm.usage is not None and warm.usage.cache_read_input_tokens == 0
    assert warm.usage.cache_creation_input_tokens == input_tokens(warm.body)
    # The streamed call's usage counts as the API billed it, cache figures included.
    billed = Usage()
    for call in emu.requests:
        assert call.response is not None
        billed = billed + Usage.from_api(call.response["usage"])
    assert result.usage.usage == billed and result.usage.calls == 3


def test_a_warm_up_that_stays_overloaded_releases_the_others_before_its_fallback_ends(
    emu: ClaudeEmulator, retrying: anthropic.Anthropic, repo: Path
) -> None:
    emu.latency, emu.time_to_first_token = 1.5, 0.2
    emu.inject(Fault(route="^/v1/messages$", status=529, times=2))  # the try and its retry
    emu.responder = lambda body: Reply.json(answer())

    result = review(retrying, repo, ReviewConfig(concurrency=3, fallback_model=FALLBACK))

    assert [file.status for file in result.files] == ["reviewed"] * 3
    assert result.api_error is None
    assert result.files[0].fallback == (
        f"reviewed again on {FALLBACK}: {MODEL} stayed overloaded "
        "(529 overloaded_error after retries)"
    )
    tries = [r for r in emu.log if r.path == "/v1/messages"][:2]
    assert [r.json()["stream"] for r in tries] == [True, True]  # the warm-up, retried
    [again] = [call for call in emu.requests if call.body["model"] == FALLBACK]
    assert file_of(again.body) == FILES[0]
    others = [call for call in emu.requests if call.body["model"] == MODEL]
    assert sorted(file_of(call.body) for call in others) == list(FILES[1:])
    # They did not wait on the fallback's call (its model has a cache of its own): it did
    # not stream, and they arrived before its prefill was over.
    assert "stream" not in again.body and again.first_token is not None
    assert all(call.received < again.first_token for call in others)


def test_a_warm_up_that_stays_overloaded_without_a_fallback_stops_the_run_at_once(
    emu: ClaudeEmulator, retrying: anthropic.Anthropic, repo: Path
) -> None:
    emu.inject(Fault(route="^/v1/messages$", status=529, times=2))

    result = review(retrying, repo, ReviewConfig(concurrency=3))

    assert result.api_error is not None and "529 Overloaded" in result.api_error
    assert [file.status for file in result.files] == ["not-reviewed"] * 3
    assert [file.reason for file in result.files[1:]] == ["run stopped after an API error"] * 2
    assert emu.requests == []  # nothing else was sent


def test_a_refused_warm_up_releases_the_others_at_its_first_token(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu.latency, emu.time_to_first_token = 1.5, 0.2
    emu.enqueue(Reply.stop("refusal", category="cyber"), when=for_file(FILES[0]))
    emu.responder = lambda body: Reply.json(answer())

    result = review(client, repo, ReviewConfig(concurrency=3))

    refused = result.files[0]
    assert (refused.status, refused.reason) == (
        "refused",
        "the model declined to review this file (cyber)",  # stop_details, streamed
    )
    assert refused.stop_reasons == ("refusal",)
    warm, *others = by_arrival(emu)
    assert warm.body["stream"] is True and warm.first_token is not None
    assert warm.answered is not None
    for call in others:
        assert warm.first_token <= call.received < warm.answered
        assert call.usage is not None
        assert call.usage.cache_read_input_tokens == shared_prefix(call.body)


def test_a_refused_warm_up_is_reviewed_again_on_the_fallback_model(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu.enqueue(Reply.stop("refusal", category="cyber"), when=for_file(FILES[0]))
    emu.responder = lambda body: Reply.json(answer())

    result = review(client, repo, ReviewConfig(concurrency=3, fallback_model=FALLBACK))

    assert [file.status for file in result.files] == ["reviewed"] * 3
    assert result.files[0].fallback == f"reviewed again on {FALLBACK}: {MODEL} declined it"
    streamed = [call for call in emu.requests if call.body.get("stream")]
    assert [(call.body["model"], file_of(call.body)) for call in streamed] == [(MODEL, FILES[0])]
