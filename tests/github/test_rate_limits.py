"""GitHub's rate limits waited out as GitHub documents ("Rate limits for the REST API"),
through the product's client (`make_github`, real PyGithub) and the emulator's real
rate-limit answers: with `retry-after`, that many seconds; with `x-ratelimit-remaining: 0`,
until `x-ratelimit-reset`; otherwise at least the configured minimum (a minute on
GitHub). Waits are measured, and the emulator counts the requests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import github
import pytest

from ci_reviewer.emulators import github as github_emulator_module
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.github_faults import rate_limited
from ci_reviewer.emulators.server import Request, Response
from ci_reviewer.errors import GitHubAPIError
from ci_reviewer.github import client as client_module
from ci_reviewer.github.client import GitHubSettings, call, make_github
from tests.emulators.github_fixtures import TOKEN

REPO = r"^/repos/octo/demo$"
ISSUES = r"^/repos/octo/demo/issues$"


def settings(emulator: GitHubEmulator, **overrides: float) -> GitHubSettings:
    return GitHubSettings(emulator.url, TOKEN, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def answered_at() -> Iterator[list[tuple[str, str, float]]]:
    """When the emulator's routes answered each request (a refused one never gets there)."""
    seen: list[tuple[str, str, float]] = []
    lock = threading.Lock()

    def observe(request: Request, _: Response) -> None:
        with lock:
            seen.append((request.method, request.path, time.time()))

    github_emulator_module.RESPONSE_OBSERVERS.append(observe)
    try:
        yield seen
    finally:
        github_emulator_module.RESPONSE_OBSERVERS.remove(observe)


def asked(emulator: GitHubEmulator, method: str, path: str) -> int:
    return sum(1 for r in emulator.log if r.method == method and r.path == path)


def timed_repo(gh: github.Github) -> float:
    started = time.monotonic()
    call("open the repository", lambda: gh.get_repo("octo/demo"))
    return time.monotonic() - started


@pytest.mark.parametrize("status", [403, 429])
def test_retry_after_is_waited_then_the_request_sent_again(
    emulator: GitHubEmulator, status: int
) -> None:
    emulator.inject(rate_limited(REPO, status=status, retry_after=1))
    gh = make_github(settings(emulator, secondary_rate_wait=10.0))
    try:
        elapsed = timed_repo(gh)
    finally:
        gh.close()

    assert 1.0 <= elapsed < 8.0  # retry-after's second, not the 10 s minimum
    assert asked(emulator, "GET", "/repos/octo/demo") == 2


@pytest.mark.parametrize("status", [403, 429])
def test_without_retry_after_a_secondary_limit_waits_the_configured_minimum(
    emulator: GitHubEmulator, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    monkeypatch.setattr(client_module, "SECONDARY_RATE_WAIT", 1.5)
    emulator.inject(rate_limited(REPO, status=status))
    gh = make_github(settings(emulator))  # the module's minimum, as a real run reads it
    try:
        elapsed = timed_repo(gh)
    finally:
        gh.close()

    assert elapsed >= 1.5
    assert asked(emulator, "GET", "/repos/octo/demo") == 2


@pytest.mark.parametrize("status", [403, 429])
def test_a_spent_primary_limit_is_waited_until_its_reset(
    emulator: GitHubEmulator, answered_at: list[tuple[str, str, float]], status: int
) -> None:
    fault = rate_limited(REPO, primary=True, status=status, reset_in=2)
    reset = int(fault.headers["x-ratelimit-reset"])
    emulator.inject(fault)
    gh = make_github(settings(emulator, secondary_rate_wait=0.0))
    try:
        timed_repo(gh)
    finally:
        gh.close()

    [(_, _, answered)] = [a for a in answered_at if a[1] == "/repos/octo/demo"]
    assert answered >= reset  # GitHub: no request before x-ratelimit-reset
    assert asked(emulator, "GET", "/repos/octo/demo") == 2


def test_a_primary_limit_resetting_beyond_the_longest_wait_fails_at_once(
    emulator: GitHubEmulator,
) -> None:
    fault = rate_limited(REPO, primary=True, status=403, reset_in=3600)
    reset = int(fault.headers["x-ratelimit-reset"])
    emulator.inject(fault)
    gh = make_github(settings(emulator, max_rate_limit_wait=300.0))
    try:
        with pytest.raises(GitHubAPIError) as failed:
            timed_repo(gh)
    finally:
        gh.close()

    message = str(failed.value)
    when = datetime.fromtimestamp(reset, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert failed.value.exit_code == 3
    assert "open the repository: GitHub's primary rate limit" in message
    assert f"it resets at {when} (in 59 min" in message or f"it resets at {when} (in 1 h" in (
        message
    )
    assert "API rate limit exceeded for installation ID" in message  # GitHub's own words
    assert "hint: GitHub limits how fast" in message
    assert asked(emulator, "GET", "/repos/octo/demo") == 1  # not waited, not retried


@pytest.mark.parametrize("status", [403, 429])
def test_a_lasting_secondary_limit_fails_after_the_retries_naming_it(
    emulator: GitHubEmulator, status: int
) -> None:
    fault = rate_limited(REPO, status=status, times=50)
    reset = int(fault.headers["x-ratelimit-reset"])
    emulator.inject(fault)
    gh = make_github(settings(emulator, total_retries=2, secondary_rate_wait=0.2))
    try:
        with pytest.raises(GitHubAPIError) as failed:
            timed_repo(gh)
    finally:
        gh.close()

    message = str(failed.value)
    when = datetime.fromtimestamp(reset, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert failed.value.exit_code == 3
    assert (
        f"open the repository: GitHub's secondary rate limit refused the request "
        f"(HTTP {status}) after 2 retries; GitHub asks to wait at least a minute; "
        f"it resets at {when}"
    ) in message
    assert asked(emulator, "GET", "/repos/octo/demo") == 3


def test_a_rate_limited_write_is_sent_again_and_lands_once(
    emulator: GitHubEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "SECONDARY_RATE_WAIT", 0.5)
    emulator.inject(rate_limited(ISSUES, status=429, method="POST", content_creation=True))
    gh = make_github(settings(emulator))
    try:
        repo = gh.get_repo("octo/demo")
        started = time.monotonic()
        call("open the issue", lambda: repo.create_issue(title="once"))
        elapsed = time.monotonic() - started
    finally:
        gh.close()

    assert elapsed >= 0.5
    assert asked(emulator, "POST", "/repos/octo/demo/issues") == 2
    assert [issue["title"] for issue in emulator.state.issues.values()] == ["once"]


def test_a_permission_refusal_is_not_waited_on(emulator: GitHubEmulator) -> None:
    emulator.set_permissions(write=False)
    gh = make_github(settings(emulator, secondary_rate_wait=30.0))
    try:
        repo = gh.get_repo("octo/demo")
        started = time.monotonic()
        with pytest.raises(GitHubAPIError) as failed:
            call("open the issue", lambda: repo.create_issue(title="refused"))
        elapsed = time.monotonic() - started
    finally:
        gh.close()

    assert "HTTP 403: Resource not accessible by integration" in str(failed.value)
    assert elapsed < 30.0
    assert asked(emulator, "POST", "/repos/octo/demo/issues") == 1


def test_a_retry_after_beyond_the_longest_wait_fails_at_once_saying_so(
    emulator: GitHubEmulator,
) -> None:
    emulator.inject(rate_limited(REPO, status=429, retry_after=3600))
    gh = make_github(settings(emulator, max_rate_limit_wait=300.0))
    try:
        with pytest.raises(GitHubAPIError) as failed:
            timed_repo(gh)
    finally:
        gh.close()

    assert failed.value.exit_code == 3
    assert "GitHub asked to wait 3600 s (retry-after)" in str(failed.value)
    assert asked(emulator, "GET", "/repos/octo/demo") == 1
