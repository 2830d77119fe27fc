"""The secret-leak detector itself: each channel it promises to watch catches a deliberate
leak, in each encoding a writer might apply, and names the channel without the secret."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import anthropic
import click
import pytest
from click.testing import CliRunner

from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from tests.reliability.leaks import credentials_in, files_under, find_leaks, secret_forms
from tests.reliability.watch import CANARIES, LeakWatch

SECRET = CANARIES["ANTHROPIC_API_KEY"]
# A value URL quoting changes (GitHub App installation tokens are plain; PATs and keys a user
# pastes may not be).
ODD = "sk/odd+key=with&chars"


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (f"key={SECRET}\n", "raw"),
        (f"https://x/?k={quote(ODD, safe='')}", "url-quoted"),
        (json.dumps({"k": SECRET}), "raw"),
        (base64.b64encode(SECRET.encode()).decode(), "base64+0"),
        (base64.b64encode(b"a" + SECRET.encode() + b"z").decode(), "base64+1"),
        (base64.b64encode(b"ab" + SECRET.encode()).decode(), "base64+2"),
    ],
)
def test_each_encoding_of_a_secret_is_found(content: str, encoding: str) -> None:
    leaks = find_leaks([SECRET, ODD], [("stdout", content)])
    assert [(leak.channel, leak.encoding) for leak in leaks] == [("stdout", encoding)]


def test_a_clean_channel_and_a_masked_secret_are_not_leaks() -> None:
    assert find_leaks([SECRET], [("stdout", "key=***"), ("log", b"nothing here")]) == []


def test_the_report_names_the_channel_but_never_the_secret() -> None:
    [leak] = find_leaks([SECRET], [("step summary", f"x {SECRET} y")])
    assert "step summary" in str(leak)
    assert SECRET not in str(leak)


def test_short_values_are_not_treated_as_secrets() -> None:
    # A 3-character "token" would match ordinary words everywhere.
    assert find_leaks(["abc"], [("stdout", "abc abc")]) == []
    assert all(len(form) >= 6 for form in secret_forms(SECRET).values())


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"authorization": "Bearer sk-abcdef123"}, {"sk-abcdef123"}),
        ({"authorization": "token ghp_abcdef123"}, {"ghp_abcdef123"}),
        ({"x-api-key": "sk-xapikey-1"}, {"sk-xapikey-1"}),
        (
            {"authorization": "Basic " + base64.b64encode(b"x-access:ghs_basic99").decode()},
            {"x-access", "ghs_basic99"},
        ),
        ({"content-type": "application/json"}, set()),
    ],
)
def test_credentials_are_read_from_every_auth_header_form(
    headers: dict[str, str], expected: set[str]
) -> None:
    assert credentials_in(headers) == expected


@pytest.mark.deliberate_leak
def test_files_and_git_objects_under_a_directory_are_scanned(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out/summary.md").write_text(f"cost $1 {SECRET}")
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    # Committed through the contents API: base64, then the working file removed.
    (repo / "f.txt").write_text(base64.b64encode(SECRET.encode()).decode())
    subprocess.run(["git", "-C", str(repo), "add", "f.txt"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "add"], check=True)
    subprocess.run(["git", "-C", str(repo), "rm", "-q", "f.txt"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "remove"], check=True)

    channels = [leak.channel for leak in find_leaks([SECRET], files_under(tmp_path))]

    assert channels == ["out/summary.md", "git objects of repo/.git"]


@pytest.mark.deliberate_leak
def test_the_watch_sees_emulator_bodies_and_credentials_the_requests_carried(
    tmp_path: Path,
) -> None:
    watch = LeakWatch(tmp_path)
    own_key = "sk-test-own-key-42"
    with ClaudeEmulator() as emu:
        watch.on_start(emu)
        emu.enqueue(Reply.text("ok"))
        with anthropic.Anthropic(api_key=own_key, base_url=emu.url, max_retries=0) as sdk:
            sdk.messages.create(
                model="claude-sonnet-5-5",
                max_tokens=64,
                messages=[{"role": "user", "content": f"my key is {own_key}"}],
            )

    assert own_key in watch.secrets()
    assert [leak.channel for leak in watch.leaks()] == [
        "ClaudeEmulator request body POST /v1/messages"
    ]


@pytest.mark.deliberate_leak
def test_the_watch_records_cli_runner_and_subprocess_output(tmp_path: Path) -> None:
    from tests.reliability import watch as module

    watch = LeakWatch(tmp_path)
    previous, module.CURRENT = module.CURRENT, watch
    try:
        CliRunner().invoke(click.command()(lambda: click.echo(SECRET, err=True)))
        subprocess.run(
            [sys.executable, "-c", f"print({SECRET!r})"], capture_output=True, check=True
        )
    finally:
        module.CURRENT = previous

    assert [leak.channel for leak in watch.leaks()] == ["CliRunner stderr", "subprocess output"]


def test_every_test_runs_with_the_canaries_aimed_at_a_closed_port() -> None:
    import os

    from ci_reviewer.errors import GitHubAPIError
    from ci_reviewer.github.client import GitHubSettings, call, make_github
    from tests.conftest import NOWHERE_URL

    assert os.environ["ANTHROPIC_API_KEY"] == CANARIES["ANTHROPIC_API_KEY"]
    assert os.environ["GITHUB_TOKEN"] == CANARIES["GITHUB_TOKEN"]
    # A client built from the environment alone is refused locally, never sent anywhere.
    with anthropic.Anthropic(max_retries=0) as sdk, pytest.raises(anthropic.APIConnectionError):
        sdk.messages.create(model="claude-sonnet-5-5", max_tokens=8, messages=[])
    settings = GitHubSettings(os.environ["GITHUB_API_URL"], os.environ["GITHUB_TOKEN"], 0)
    gh = make_github(settings)
    try:
        with pytest.raises(GitHubAPIError, match="cannot reach GitHub"):
            call("read the repository", lambda: gh.get_repo("octo/demo"))
    finally:
        gh.close()
    assert settings.api_url == NOWHERE_URL
