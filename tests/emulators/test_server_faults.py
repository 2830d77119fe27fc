"""The "after" fault: the route does its work (a write lands) and the client is then told
it failed, by an injected status or a dropped connection. This is what a retrying client
must survive without writing twice."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import github
import pytest
import requests

from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.server import EmulatorServer, Fault, Request, Response
from tests.emulators.github_fixtures import client, emulator, git_repo

__all__ = ["emulator", "git_repo"]  # fixtures in use


class Counter(EmulatorServer):
    """Counts the POSTs it handled; answers 201 with the count."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def handle(self, request: Request) -> Response:
        if request.method == "POST":
            self.writes += 1
        return Response(201 if request.method == "POST" else 200, {"writes": self.writes})


@pytest.fixture
def counter() -> Iterator[Counter]:
    server = Counter()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def send(server: Counter, method: str, path: str) -> tuple[int, bytes]:
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request(method, path, body=b"{}")
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_after_runs_the_route_then_answers_the_injected_status(counter: Counter) -> None:
    counter.inject(Fault(r"^/things$", kind="after", status=502))

    status, body = send(counter, "POST", "/things")

    assert status == 502
    assert b"injected fault" in body
    assert counter.writes == 1  # the write landed although the client was told it failed
    assert send(counter, "POST", "/things") == (201, b'{"writes": 2}')  # consumed: once


def test_after_then_drop_runs_the_route_and_closes_without_an_answer(counter: Counter) -> None:
    counter.inject(Fault(r"^/things$", kind="after", then="drop"))

    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        send(counter, "POST", "/things")

    assert counter.writes == 1


def test_after_honours_the_method_filter(counter: Counter) -> None:
    counter.inject(Fault(r"^/things$", kind="after", status=500, method="POST"))

    assert send(counter, "GET", "/things")[0] == 200
    assert send(counter, "POST", "/things")[0] == 500
    assert counter.writes == 1


def test_pygithub_is_told_502_while_the_issue_was_created(emulator: GitHubEmulator) -> None:
    gh = client(emulator, retry=None)
    repo = gh.get_repo("octo/demo")
    emulator.inject(Fault(r"/issues$", kind="after", status=502, method="POST"))
    try:
        with pytest.raises(github.GithubException) as failed:
            repo.create_issue(title="landed", body="then failed")
        titles = [issue.title for issue in repo.get_issues(state="all")]
    finally:
        gh.close()

    assert failed.value.status == 502
    assert titles == ["landed"]


def test_pygithub_sees_a_dropped_connection_after_the_comment_landed(
    emulator: GitHubEmulator,
) -> None:
    gh = client(emulator, retry=None)
    repo = gh.get_repo("octo/demo")
    issue = repo.create_issue(title="host")
    emulator.inject(Fault(r"/comments$", kind="after", then="drop", method="POST"))
    try:
        with pytest.raises(requests.ConnectionError):
            issue.create_comment("written once")
        bodies = [comment.body for comment in issue.get_comments()]
    finally:
        gh.close()

    assert bodies == ["written once"]
