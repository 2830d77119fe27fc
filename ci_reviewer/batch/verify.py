"""Running a job's `verify_command` on one generated test, in the checkout.

Generated tests are model output: they run with a timeout, in their own process group (so a
test that forks cannot outlive the timeout), with no shell (the command is split with shlex
and `{path}` is substituted inside arguments, so a path can never become shell syntax), and
with no credentials in their environment.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ci_reviewer.errors import ConfigError

PLACEHOLDER = "{path}"
# Names that hold credentials by convention: the Claude and GitHub tokens, the Actions OIDC
# request token, cloud keys. Anything matching is withheld from the generated test.
_SECRET_NAME = re.compile(
    r"^(ANTHROPIC_|GITHUB_TOKEN$|GH_TOKEN$|ACTIONS_RUNTIME_TOKEN$|ACTIONS_ID_TOKEN_)"
    r"|(_TOKEN|_KEY|_PAT)$|SECRET|PASSWORD|PASSWD|CREDENTIAL",
    re.IGNORECASE,
)
_OUTPUT_TAIL = 4000


@dataclass(frozen=True)
class Verification:
    """How one generated test fared: `passed`, and a short account for the PR body."""

    passed: bool
    summary: str
    output: str = ""
    started: bool = True  # False: the command could not be started (not on PATH...)


def scrubbed_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` without any variable whose name marks it as a credential."""
    return {name: value for name, value in environ.items() if not _SECRET_NAME.search(name)}


def command_arguments(template: str, path: str) -> list[str]:
    """The argument list of `template` with `{path}` replaced; the path is one argument
    (or part of one) whatever characters it holds."""
    try:
        words = shlex.split(template)
    except ValueError as error:
        raise ConfigError(f"verify_command cannot be parsed: {error}") from None
    if not words:
        raise ConfigError("verify_command is empty", hint="e.g. python -m pytest {path} -q")
    if not any(PLACEHOLDER in word for word in words):
        raise ConfigError(
            "verify_command must contain {path}, where the generated test's path goes",
            hint="e.g. python -m pytest {path} -q",
        )
    return [word.replace(PLACEHOLDER, path) for word in words]


def run_verification(
    template: str,
    path: str,
    *,
    workdir: Path,
    timeout: float,
    environ: Mapping[str, str],
) -> Verification:
    """Run `template` for the test at `path` (relative to `workdir`)."""
    args = command_arguments(template, path)
    return run_command(args, workdir=workdir, timeout=timeout, environ=environ)


def run_command(
    args: Sequence[str], *, workdir: Path, timeout: float, environ: Mapping[str, str]
) -> Verification:
    """Run one verification command (an argument list, no shell) in `workdir`."""
    try:
        process = subprocess.Popen(
            list(args),
            cwd=workdir,
            env=scrubbed_environment(environ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as error:
        return Verification(False, f"could not start {args[0]}: {error.strerror}", started=False)
    with process:
        try:
            out, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            out = _drain(process)
            return Verification(False, f"timed out after {timeout:g} s", _tail(out))
    if process.returncode == 0:
        return Verification(True, "passed", _tail(out))
    return Verification(False, f"failed (exit {process.returncode})", _tail(out))


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _drain(process: subprocess.Popen[bytes]) -> bytes:
    # A test that left its process group (setsid) may still hold the pipe: do not wait on it.
    try:
        out, _ = process.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        return b""
    return out or b""


def _tail(output: bytes | None) -> str:
    text = (output or b"").decode("utf-8", "replace")
    return text[-_OUTPUT_TAIL:]
