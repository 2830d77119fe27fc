"""The list of endpoints the product calls is held to what the product does: a request to a
GitHub emulator is told apart as the product's or a test's, and a product call to an
endpoint the list lacks is named."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import github
import pytest

from ci_reviewer.emulators import github as github_emulator_module
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.server import Request, Response
from ci_reviewer.github.review_source import PullRequestRef, load_pull
from tests.emulators import product_calls
from tests.emulators.github_fixtures import TOKEN, commit_files, git


@pytest.fixture
def senders() -> Iterator[list[tuple[str, str]]]:
    """(path, sender) of every request any emulator answers during the test."""
    seen: list[tuple[str, str]] = []

    def observe(request: Request, _: Response) -> None:
        seen.append((request.path, product_calls.caller()))

    github_emulator_module.RESPONSE_OBSERVERS.append(observe)
    try:
        yield seen
    finally:
        github_emulator_module.RESPONSE_OBSERVERS.remove(observe)


def test_a_request_from_test_code_is_the_tests(
    emulator: GitHubEmulator, gh: github.Github, senders: list[tuple[str, str]]
) -> None:
    gh.get_repo("octo/demo").get_branch("main")
    assert senders == [
        ("/repos/octo/demo", product_calls.TEST),
        ("/repos/octo/demo/branches/main", product_calls.TEST),
    ]


def test_a_request_from_product_code_is_the_products(
    emulator: GitHubEmulator, gh: github.Github, git_repo: Path, senders: list[tuple[str, str]]
) -> None:
    git(git_repo, "checkout", "-q", "-b", "feature")
    commit_files(git_repo, {"app.py": "changed\n"}, "change")
    number = emulator.open_pull("feature")
    load_pull(gh, PullRequestRef("octo/demo", number))
    assert senders == [
        ("/repos/octo/demo", product_calls.PRODUCT),
        (f"/repos/octo/demo/pulls/{number}", product_calls.PRODUCT),
    ]


def test_a_request_from_another_process_is_the_products(
    emulator: GitHubEmulator, senders: list[tuple[str, str]]
) -> None:
    # The CLI run as a subprocess, a forked batch worker: nothing in this process waits on it.
    script = (
        "import sys, urllib.request\n"
        "request = urllib.request.Request(sys.argv[1] + '/repos/octo/demo',"
        f" headers={{'Authorization': 'token {TOKEN}'}})\n"
        "urllib.request.urlopen(request).read()\n"
    )
    subprocess.run([sys.executable, "-c", script, emulator.url], check=True, timeout=60)
    assert senders == [("/repos/octo/demo", product_calls.PRODUCT)]


def test_a_product_call_to_an_unlisted_endpoint_is_named() -> None:
    calls = [
        ("GET", "/repos/octo/demo/pulls/7"),
        ("DELETE", "/repos/octo/demo/labels/nightly"),
        ("GET", "/repos/octo/demo/pulls/8"),
    ]
    assert product_calls.unlisted(calls, "a test") == [
        "DELETE /repos/{owner}/{repo}/labels/{name} (as DELETE /repos/octo/demo/labels/nightly)"
    ]
