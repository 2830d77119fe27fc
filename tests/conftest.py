"""Suite-wide guards: no test sees the developer's or the runner's real GitHub/Claude
environment, so a test that forgets to set what it needs fails instead of reaching out; and
every test fails if a credential it used (any credential variable it set, any credential a
request to an emulator carried, the canary values) shows up where a user could see it
(tests/reliability/watch.py lists the channels). Every test starts with the canary values
in ANTHROPIC_API_KEY, GITHUB_TOKEN and GH_TOKEN and both API URLs on a closed local port; a
test about a missing credential deletes it itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ci_reviewer.emulators import server as emulator_server
from tests import external_data
from tests.reliability import watch as leak_watch

# Every test that starts a GitHub emulator has its responses validated against GitHub's
# OpenAPI description (and unmatched routes are reported in the summary).
pytest_plugins = ["tests.emulators.github_fixtures"]

_ISOLATED = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITHUB_API_URL",
    "GITHUB_REPOSITORY",
    "GITHUB_EVENT_PATH",
    "GITHUB_EVENT_NAME",
    "GITHUB_WORKSPACE",
    "GITHUB_SHA",
    "GITHUB_RUN_ID",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_ACTIONS",
    "GITHUB_ACTOR",
    "CI_REVIEWER_KILL_AT",
    "CI_REVIEWER_WORKERS",
    "CI_REVIEWER_SERIAL_FIRST",
)
# The discard port on loopback: nothing listens, so a connection is refused immediately.
NOWHERE_URL = "http://127.0.0.1:9"
_NOWHERE = {"ANTHROPIC_BASE_URL": NOWHERE_URL, "GITHUB_API_URL": NOWHERE_URL}
_WATCH = pytest.StashKey[leak_watch.LeakWatch]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Fetch what the suite validates against (OpenAPI description, SARIF schema, recorded
    GitHub traffic) when it is missing; no registry, no test run: one paragraph says why."""
    try:
        external_data.ensure_all()
    except external_data.FetchFailed as failed:
        raise pytest.UsageError(str(failed)) from None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "deliberate_leak: the test leaks on purpose to prove the leak detector (scan skipped)",
    )
    leak_watch.install_recorders()


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[None]:
    for name in _ISOLATED:
        monkeypatch.delenv(name, raising=False)
    # Every test runs with recognisable credentials (the leak scan looks for them in all it
    # saw), aimed at a closed local port: a test that forgets to point a client at an
    # emulator is refused at once instead of reaching a real API with them.
    for name, value in {**leak_watch.CANARIES, **_NOWHERE}.items():
        monkeypatch.setenv(name, value)
    # Git must not read the developer's config (signing, hooks, default branch names).
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Author")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "author@example.com")
    watch = leak_watch.LeakWatch(tmp_path)
    request.node.stash[_WATCH] = watch
    leak_watch.CURRENT = watch
    emulator_server.START_OBSERVERS.append(watch.on_start)
    try:
        yield
    finally:
        emulator_server.START_OBSERVERS.remove(watch.on_start)
        leak_watch.CURRENT = None


@pytest.fixture
def canaries(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The canary credentials every test starts with (ANTHROPIC_API_KEY, GITHUB_TOKEN,
    GH_TOKEN), set again for a test that asks for them by name."""
    for name, value in leak_watch.CANARIES.items():
        monkeypatch.setenv(name, value)
    return dict(leak_watch.CANARIES)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """Fail the phase whose output, or (at teardown) whose whole record, shows a credential."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    watch = item.stash.get(_WATCH, None)
    if watch is None or report.failed or item.get_closest_marker("deliberate_leak"):
        return
    sections = [
        (f"pytest section {title!r}", text)
        for title, text in report.sections
        if title.endswith(f" {report.when}")
    ]
    if report.when == "teardown":
        leaks = watch.leaks(sections)
    else:
        leaks = leak_watch.find_leaks(watch.secrets(), sections)
    if leaks:
        report.outcome = "failed"
        report.longrepr = leak_watch.report_leaks(leaks)
        # The report is printed into the CI log: it must not repeat what it found.
        report.sections = [(t, leak_watch.masked(watch.secrets(), x)) for t, x in report.sections]
