"""What a scheduled run publishes about the noise it did not pay for: the count by kind in the
pull request, the job summary and `--format json`, as for the files the secret policy
withholds; the files themselves never reach the emulated Claude API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ci_reviewer.cli import main
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from ci_reviewer.emulators.github import GitHubEmulator
from tests.batch.conftest import commit_files, point_cli_at_emulators, served_origin

TOKEN = "ghs_emulatortoken0000"
NOISE = {
    "CHANGES.md": "## 1.0\n\n- First release.\n",
    "LICENSE": "MIT License\n\nCopyright (c) the authors\n",
    "yarn.lock": "# yarn lockfile v1\n",
    "docs/guide.md": "# Guide\n\nRun it.\n",
    "tests/fixtures/broken.py": "def broken(:\n",
    "web/__snapshots__/a.snap": "exports[`a`] = `1`;\n",
    "lib/tool.rb": "def tool\n  42\nend\n",  # Ruby: no test framework to write a test in
}
# The hand count: one file of each kind above, and the job's config.
COUNTED = {
    "noise: changelog": 1,
    "noise: licence text": 1,
    "noise: lockfile": 1,
    "noise: prose documentation": 1,
    "noise: test fixture that does not parse": 1,
    "noise: snapshot file": 1,
    "noise: no test framework detected for Ruby files": 1,
    # .github/ci-reviewer.yml: a config file, of no language with a test framework
    "noise: no test framework for a file of unknown language": 1,
}


@pytest.fixture
def checkout(repo: Path) -> Path:
    commit_files(
        repo,
        {
            **NOISE,
            ".github/ci-reviewer.yml": "jobs:\n  nightly:\n    kind: test-generation\n",
        },
    )
    return repo


@pytest.fixture
def origin(tmp_path: Path, checkout: Path) -> Iterator[GitHubEmulator]:
    with served_origin(tmp_path, checkout, TOKEN) as emulator:
        yield emulator


def test_the_pull_request_and_the_job_summary_count_the_noise_not_sent(
    checkout: Path,
    origin: GitHubEmulator,
    claude: ClaudeEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    point_cli_at_emulators(monkeypatch, claude, origin.url, TOKEN, "41")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    for source in ("src/a.py", "src/b.py"):
        test = {"target_path": f"test_{source[4]}.py", "content": "def test():\n    pass\n"}
        claude.enqueue(
            Reply.json({**test, "framework": "pytest", "notes": ""}),
            when=lambda body, s=source: f"Write tests for {s}." in json.dumps(body),
        )

    def run() -> dict[str, Any]:
        with pytest.raises(SystemExit) as done:
            main(
                ["--workdir", str(checkout), "batch", "run", "--job", "nightly", "--format", "json"]
            )
        out, err = capsys.readouterr()
        assert done.value.code == 0, err
        return dict(json.loads(out))

    submitted = run()["submitted"]
    assert {r: n for r, n in submitted["skipped"].items() if r.startswith("noise")} == COUNTED
    assert submitted["skipped_bytes"]["noise: lockfile"] == len(NOISE["yarn.lock"])
    collected = run()["collected"]

    assert collected["noise"] == COUNTED
    sent = b"".join(request.body for request in claude.log).decode()
    assert "First release" not in sent and "yarn lockfile" not in sent and "def broken" not in sent
    assert "def tool" not in sent
    [pull] = origin.state.pulls.values()
    listed = ", ".join(f"{r.removeprefix('noise: ')} (1)" for r in sorted(COUNTED))
    line = f"**Not sent to the model (noise, not worth paying for):** 8 file(s): {listed}."
    assert line in pull["body"]
    text = summary.read_text()
    assert "not paid for (noise): " + ", ".join(f"1 {r}" for r in sorted(COUNTED)) in text
    assert "skipped 1: noise: lockfile (19 bytes)" in text  # the submitting run's table
