"""The README's offline walkthrough, run once for this folder's tests as a user runs it: its
`bash` blocks, verbatim, in one fresh shell, with only the project's console script on PATH
and no GitHub or Claude variables of the caller's. The emulators stay up until the tests
that look at what they hold are done."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.walkthrough.browser import chromium_binary

README = Path(__file__).resolve().parents[2] / "README.md"
DEADLINE_SECONDS = 600
# What the test adds after the README's lines: say where things are, then hold the emulators
# until told to stop, and stop them as the README says (kill %1).
_EPILOGUE = """
env | grep -E '^(ANTHROPIC|GITHUB)_' > "$WALKTHROUGH_DONE.env"
printf '%s\\n' "$PWD" > "$WALKTHROUGH_DONE"
while [ ! -e "$WALKTHROUGH_STOP" ]; do sleep 0.2; done
kill %1 && wait
"""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: loads a page in headless Chromium (installed from OS packages)"
    )


def readme_walkthrough() -> str:
    """The `bash` blocks of the README's "Try it offline" section, in order."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Try it offline") :]
    section = section[: section.index("\n## ", 3)]
    return "".join(re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL))


@dataclass(frozen=True)
class Walkthrough:
    output: str  # stdout and stderr of every README line, as the user saw them
    demo: Path  # the demo repository, where the README's last `cd` left the shell
    exports: dict[str, str]  # what the shell had exported from `ci-reviewer emulate`


def _clean_environment(scratch: Path) -> dict[str, str]:
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "ANTHROPIC_", "GH_", "CI_REVIEWER_", "GIT_"))
    }
    scripts = str(Path(sys.executable).parent)
    return keep | {
        "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}",
        "TMPDIR": str(scratch),
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "WALKTHROUGH_DONE": str(scratch / "done"),
        "WALKTHROUGH_STOP": str(scratch / "stop"),
    }


@pytest.fixture(scope="session")
def walkthrough(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walkthrough]:
    scratch = tmp_path_factory.mktemp("walkthrough")
    env = _clean_environment(scratch)
    log = scratch / "output.txt"
    with log.open("w") as sink:
        shell = subprocess.Popen(
            ["bash", "-e", "-c", readme_walkthrough() + _EPILOGUE],
            cwd=scratch,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    done = scratch / "done"
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not done.exists() and shell.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert done.exists(), f"the walkthrough stopped before its end:\n{log.read_text()}"
        time.sleep(0.2)  # written by one printf just now; let it land
        exports = dict(line.split("=", 1) for line in Path(f"{done}.env").read_text().splitlines())
        yield Walkthrough(log.read_text(), Path(done.read_text().strip()), exports)
    finally:
        (scratch / "stop").touch()
        try:
            shell.wait(timeout=30)
        except subprocess.TimeoutExpired:
            shell.kill()
            shell.wait()
    assert shell.returncode == 0, log.read_text()


@pytest.fixture(scope="session")
def chromium() -> str:
    return chromium_binary()
