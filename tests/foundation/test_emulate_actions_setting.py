"""`ci-reviewer emulate --no-actions-pull-requests`: the demo repository as GitHub makes new
repositories, where a workflow's token may not open pull requests."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import github
import pytest


def test_the_demo_can_refuse_pull_requests_as_github_does_by_default(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "ci_reviewer", "emulate", "--no-actions-pull-requests"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        exports = {}
        while len(exports) < 5:
            line = process.stdout.readline().removeprefix("export ").strip()
            name, _, value = line.partition("=")
            exports[name] = value
        g = github.Github(
            base_url=exports["GITHUB_API_URL"],
            auth=github.Auth.Token(exports["GITHUB_TOKEN"]),
            retry=None,
        )
        repo = g.get_repo(exports["GITHUB_REPOSITORY"])
        with pytest.raises(github.GithubException) as refused:
            repo.create_pull(base="main", head="feature", title="from a workflow", body="")
        g.close()
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert refused.value.status == 403
    assert refused.value.data["message"] == (
        "GitHub Actions is not permitted to create or approve pull requests."
    )
