"""The README's offline demo, as a user runs it: `ci-reviewer emulate` in an empty directory,
then `ci-reviewer review --pr 1` in the demo repository with the printed exports. The review
lands on the emulated pull request with an inline comment and a suggestion."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import github
import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def emulate(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "ci_reviewer", "emulate"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        exports = {}
        while len(exports) < 5:
            name, _, value = (
                process.stdout.readline().removeprefix("export ").strip().partition("=")
            )
            exports[name] = value
        announced = process.stderr.readline()
        demo = Path(re.search(r" serving ([^;]*);", announced).group(1))  # type: ignore[union-attr]
        yield exports, demo
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
        assert process.returncode == 0, err


def test_readme_demo_reviews_pull_request_1_offline(emulate: tuple[dict[str, str], Path]) -> None:
    exports, demo = emulate
    assert "ci-reviewer emulate > emulators.env" in README.read_text()
    subprocess.run(["git", "-C", str(demo), "checkout", "-q", "feature"], check=True)
    done = subprocess.run(
        [sys.executable, "-m", "ci_reviewer", "review", "--pr", "1"],
        cwd=demo,
        env={**os.environ, **exports},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "File handle is never closed" in done.stdout

    gh = github.Github(
        base_url=exports["GITHUB_API_URL"], auth=github.Auth.Token(exports["GITHUB_TOKEN"])
    )
    try:
        pull = gh.get_repo(exports["GITHUB_REPOSITORY"]).get_pull(1)
        [review] = list(pull.get_reviews())
        [comment] = list(pull.get_review_comments())
    finally:
        gh.close()
    assert review.state == "COMMENTED"  # a medium finding does not block at fail_on: high
    assert comment.path == "src/stats.py"
    assert "```suggestion" in comment.body
