"""Fixtures for the GitHub emulator: a real git repository, the emulator over it, PyGithub
clients, and an autouse check that every response an emulator gave during a test matches
GitHub's OpenAPI description.

Register suite-wide with `pytest_plugins = ["tests.emulators.github_fixtures"]` in
tests/conftest.py so that every test that starts a GitHubEmulator is validated.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import github
import pytest

from ci_reviewer.emulators import github as github_emulator_module
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.server import Request, Response
from tests.emulators import coverage, graphql_schema, openapi, product_calls

TOKEN = "emulator-token"
UNMATCHED: set[tuple[str, str]] = set()


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def commit_files(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A repository with `main` holding app.py (40 numbered lines) and README.md."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    lines = "".join(f"line {i}\n" for i in range(1, 41))
    commit_files(repo, {"app.py": lines, "README.md": "# demo\n"}, "initial")
    return repo


@pytest.fixture
def emulator(git_repo: Path) -> Iterator[GitHubEmulator]:
    emu = GitHubEmulator(git_repo).start()
    try:
        yield emu
    finally:
        emu.stop()


def client(emu: GitHubEmulator, token: str = TOKEN, **kwargs: Any) -> github.Github:
    # PyGithub paces calls (0.25 s, writes 1 s) as GitHub advises; an emulator needs no pause.
    kwargs.setdefault("seconds_between_writes", 0)
    kwargs.setdefault("seconds_between_requests", 0)
    return github.Github(base_url=emu.url, auth=github.Auth.Token(token), **kwargs)


@pytest.fixture
def gh(emulator: GitHubEmulator) -> Iterator[github.Github]:
    g = client(emulator, retry=None)
    yield g
    g.close()


@pytest.fixture(autouse=True)
def github_openapi_responses(
    request: pytest.FixtureRequest,
) -> Iterator[list[tuple[str, str, int, Any]]]:
    """At teardown, validate every JSON response any GitHubEmulator gave in this test, and
    fail a test in which the product called an endpoint tests/emulators/product_endpoints.py
    does not list."""
    seen: list[tuple[str, str, int, Any]] = []
    documents: list[tuple[Any, Any]] = []  # (request, answer) of POST /graphql
    by_product: list[tuple[str, str]] = []
    lock = threading.Lock()

    def observe(received: Request, response: Response) -> None:
        body = response.body
        copy = json.loads(json.dumps(body)) if not isinstance(body, (bytes, str)) else body
        sender = product_calls.caller()
        with lock:
            if received.path.rstrip("/") == "/graphql":
                documents.append((_json_or_none(received.body), copy))
            else:
                seen.append((received.method, received.path, response.status, copy))
            if sender == product_calls.PRODUCT:
                by_product.append((received.method, received.path))

    github_emulator_module.RESPONSE_OBSERVERS.append(observe)
    try:
        yield seen
    finally:
        github_emulator_module.RESPONSE_OBSERVERS.remove(observe)
    problems = _validate(seen) if seen else []
    problems += graphql_problems(documents)
    assert not problems, "responses that GitHub's OpenAPI description rejects:\n" + (
        "\n".join(problems)
    )
    unlisted = product_calls.unlisted(by_product, request.node.nodeid)
    assert not unlisted, (
        "the product called GitHub endpoints that tests/emulators/product_endpoints.py does "
        "not list (add each, with the fields the product reads and a recorded exchange to "
        "replay if one covers it):\n" + "\n".join(unlisted)
    )


def graphql_problems(documents: list[tuple[Any, Any]]) -> list[str]:
    """Why GitHub's GraphQL schema rejects a document sent, or the emulator's answer to it."""
    problems: list[str] = []
    for request, answer in documents:
        if not isinstance(request, dict) or not isinstance(request.get("query"), str):
            problems.append(f"POST /graphql without a query: {request!r:.200}")
            continue
        query, variables = request["query"], request.get("variables")
        label = f"POST /graphql {' '.join(query.split())[:80]!r}"
        wrong = graphql_schema.document_errors(query, variables)
        if not wrong:
            wrong = graphql_schema.answer_errors(query, variables, answer)
        problems += [f"{label}: {why}" for why in wrong]
    return problems


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None


def _validate(seen: list[tuple[str, str, int, Any]]) -> list[str]:
    from urllib.parse import unquote

    problems: list[str] = []
    for method, raw_path, status, body in seen:
        path = unquote(raw_path)
        op = openapi.match_operation(method, path)
        if op is None:
            # Routes GitHub does not have: only the 404 error body can be checked.
            UNMATCHED.add((method, path))
            problems += openapi.error_body_errors(body, f"{method} {path} {status}")
            continue
        problems += openapi.validation_errors(method, path, status, body)
    return problems


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """List the routes answered that GitHub's description has no operation for, and report
    which endpoints the product calls are held to recorded real traffic."""
    if UNMATCHED:
        terminalreporter.section("GitHub emulator: routes with no OpenAPI operation")
        for method, path in sorted(UNMATCHED):
            terminalreporter.write_line(f"{method} {path}")
    coverage.report(terminalreporter, config.rootpath / coverage.REPORT)
