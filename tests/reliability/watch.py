"""What one test exposed: the suite-wide recorder behind the secret-leak scan.

tests/conftest.py starts a `LeakWatch` for every test. It records the channels that pytest's
own report sections do not hold: text a test read with `capsys`/`capfd`, CliRunner results,
output of subprocesses (the CLI run as a user runs it), request bodies every emulator
received, and, at the end, the files under the test's tmp_path and the step output/summary
files. The secrets are the canary values the suite sets, whatever credential environment the
test set itself, and every credential a request carried in its Authorization header.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ci_reviewer.emulators import server as emulator_server
from tests.reliability.leaks import Leak, credentials_in, files_under, find_leaks, mask

SECRET_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "GITHUB_TOKEN", "GH_TOKEN")
OUTPUT_FILE_VARIABLES = ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")
CANARIES = {
    "ANTHROPIC_API_KEY": "sk-ant-api03-LEAKCANARY-anthropic-7f3a9c21e8d4",
    "GITHUB_TOKEN": "ghs_LEAKCANARYgithubToken7f3a9c21e8d4b6",
    "GH_TOKEN": "gho_LEAKCANARYghCliToken7f3a9c21e8d4b6",
}

CURRENT: LeakWatch | None = None


class LeakWatch:
    """The channels and secrets of one test."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self._lock = threading.Lock()
        self._texts: list[tuple[str, str | bytes]] = []
        self._servers: dict[int, tuple[emulator_server.EmulatorServer, int]] = {}
        self._extra_secrets: set[str] = set(CANARIES.values())
        for running in list(emulator_server.RUNNING):
            self._watch_server(running, already_seen=len(running.log))

    # -- recording ---------------------------------------------------------------------
    def record(self, channel: str, content: str | bytes | None) -> None:
        if content:
            with self._lock:
                self._texts.append((channel, _without_mask_commands(content)))

    def _watch_server(self, server: emulator_server.EmulatorServer, already_seen: int = 0) -> None:
        with self._lock:
            self._servers.setdefault(id(server), (server, already_seen))

    def on_start(self, server: emulator_server.EmulatorServer) -> None:
        self._watch_server(server)

    # -- what to scan --------------------------------------------------------------------
    def secrets(self) -> set[str]:
        found = set(self._extra_secrets)
        found.update(os.environ.get(name, "") for name in SECRET_VARIABLES)
        for request in self._requests():
            found.update(credentials_in(request[1].headers))
        return {value for value in found if value}

    def _requests(self) -> Iterator[tuple[str, emulator_server.Request]]:
        with self._lock:
            servers = list(self._servers.values())
        for server, seen in servers:
            log = list(server.log)
            # A shared server reset during the test starts a new log: scan it whole.
            fresh = log[seen:] if len(log) >= seen else log
            name = type(server).__name__
            for request in fresh:
                yield f"{name} request body {request.method} {request.path}", request

    def channels(self) -> Iterator[tuple[str, str | bytes]]:
        with self._lock:
            yield from list(self._texts)
        for channel, request in self._requests():
            yield channel, request.body
        for name in OUTPUT_FILE_VARIABLES:
            target = os.environ.get(name)
            if target and Path(target).is_file() and self.tmp_path not in Path(target).parents:
                yield f"${name} file", Path(target).read_bytes()
        for relative, content in files_under(self.tmp_path):
            yield f"file {relative} under tmp_path", content

    def leaks(self, extra: Sequence[tuple[str, str | bytes]] = ()) -> list[Leak]:
        return find_leaks(self.secrets(), [*extra, *self.channels()])


def _without_mask_commands(content: str | bytes) -> str | bytes:
    """Drop `::add-mask::<value>` lines: the runner consumes them (that is how a value gets
    masked in the log) and never shows them."""
    if isinstance(content, bytes):
        kept = [ln for ln in content.splitlines(True) if not ln.startswith(b"::add-mask::")]
        return b"".join(kept)
    return "".join(ln for ln in content.splitlines(True) if not ln.startswith("::add-mask::"))


def masked(secrets: set[str], text: str) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, mask(secret))
    return text


def report_leaks(leaks: list[Leak]) -> str:
    lines = "\n".join(f"  - {leak}" for leak in leaks)
    return f"secret leak scan: a credential appeared where users can see it:\n{lines}"


def _recording(channel: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        watch = CURRENT
        if watch is not None:
            if channel == "subprocess output":
                out, err = result
                watch.record(channel, out)
                watch.record(channel.replace("output", "stderr"), err)
            elif channel == "CliRunner output":
                watch.record(channel, result.stdout_bytes)
                watch.record("CliRunner stderr", result.stderr_bytes)
            else:
                watch.record(f"{channel} stdout", result.out)
                watch.record(f"{channel} stderr", result.err)
        return result

    wrapper.__wrapped__ = original  # type: ignore[attr-defined]
    return wrapper


def install_recorders() -> None:
    """Wrap the three places a test's visible output can bypass pytest's own capture.

    These wrap pytest, click and the standard library (never the SDKs under test), record
    what passed through, and change nothing else.
    """
    import click.testing
    from _pytest.capture import CaptureFixture

    CaptureFixture.readouterr = _recording("capsys", CaptureFixture.readouterr)  # type: ignore[method-assign]
    click.testing.CliRunner.invoke = _recording(  # type: ignore[method-assign]
        "CliRunner output", click.testing.CliRunner.invoke
    )
    subprocess.Popen.communicate = _recording(  # type: ignore[method-assign]
        "subprocess output", subprocess.Popen.communicate
    )
