"""The GitHub emulator's page is open to a browser (no token) and only the page is: the API
beside it still answers 401 without a token; an issue's or pull request's html_url redirects
to its section; the page forbids scripts by its Content-Security-Policy."""

from __future__ import annotations

import http.client
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import github
import pytest

from ci_reviewer.emulators.github import GitHubEmulator


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[GitHubEmulator]:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "a.txt").write_text("a\n")
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "a"], check=True)
    with GitHubEmulator(repo, full_name="octo/demo") as emu:
        yield emu


def get(emulator: GitHubEmulator, path: str) -> tuple[int, dict[str, str], str]:
    """A GET with no Authorization header, as a browser sends it (redirects not followed)."""
    address = urlsplit(emulator.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, response.read().decode()
    finally:
        connection.close()


def test_the_page_needs_no_token_and_the_api_still_does(emulator: GitHubEmulator) -> None:
    status, headers, body = get(emulator, "/_emulator/")
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src" not in headers["content-security-policy"]  # so default-src 'none'
    assert headers["content-security-policy"].startswith("default-src 'none'")
    assert "<h1>octo/demo</h1>" in body
    status, _, body = get(emulator, "/repos/octo/demo/issues")
    assert status == 401
    assert '"Requires authentication"' in body


def test_html_urls_lead_to_their_section(emulator: GitHubEmulator) -> None:
    gh = github.Github(base_url=emulator.url, auth=github.Auth.Token("emulator-token"))
    try:
        issue = gh.get_repo("octo/demo").create_issue(title="An issue")
    finally:
        gh.close()
    path = urlsplit(issue.html_url).path
    assert path == f"/octo/demo/issues/{issue.number}"
    status, headers, _ = get(emulator, path)
    assert (status, headers["location"]) == (302, f"/_emulator/#issue-{issue.number}")
