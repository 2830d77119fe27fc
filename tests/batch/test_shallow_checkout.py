"""A job that looks back (`since: 7d`, `last-run`) run in a shallow clone, as actions/checkout
makes one without `fetch-depth: 0`: the history is fetched from origin, or the run stops
(exit 2) and says how to check out the history. Real clones (`git clone --depth 1`)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ci_reviewer.cli import main
from ci_reviewer.emulators.claude import ClaudeEmulator
from tests.batch.conftest import git

CONFIG = """
jobs:
  audit:
    kind: report
    output: file
    sla_hours: 194
    since: {since}
"""

Run = Callable[..., tuple[int, str, str]]


def _commit(repo: Path, files: dict[str, str], when: datetime) -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    stamp = when.isoformat()
    env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "change"], check=True, env=env)


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A bare origin: twelve files committed 30 to 12 days ago, then three commits within
    the last week that touch src/f1.py, src/f2.py (twice) and docs/new.md."""
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    now = datetime.now(timezone.utc)
    for day in range(30, 6, -2):  # 30, 28, ..., 8: one new file each
        _commit(work, {f"src/f{day}.py": f"x = {day}\n"}, now - timedelta(days=day))
    _commit(work, {".github/ci-reviewer.yml": CONFIG.format(since="7d")}, now - timedelta(days=9))
    _commit(work, {"src/f1.py": "a = 1\n"}, now - timedelta(days=5))
    _commit(work, {"src/f2.py": "b = 1\n", "docs/new.md": "# new\n"}, now - timedelta(days=3))
    _commit(work, {"src/f2.py": "b = 2\n"}, now - timedelta(hours=2))
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    return bare


def _clone(origin: Path, target: Path, *, depth: int | None) -> Path:
    args = ["clone", "-q", *(["--depth", str(depth)] if depth else []), f"file://{origin}"]
    git(origin.parent, *args, str(target))
    return target


@pytest.fixture
def run(claude: ClaudeEmulator, tmp_path: Path, monkeypatch, capsys) -> Run:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-shallow-test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", claude.url)
    monkeypatch.chdir(tmp_path)

    def invoke(checkout: Path, state: Path, *args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as done:
            main(["--workdir", str(checkout), "batch", *args, "--job", "audit",
                  "--state-dir", str(state)])  # fmt: skip
        out, err = capsys.readouterr()
        return int(done.value.code or 0), out, err

    return invoke


def _sent(state: Path) -> set[str]:
    """The files the submission put into its batches, from the state document's manifest."""
    document = json.loads((state / "audit.json").read_text())
    return {entry["path"] for entry in document["manifest"].values()}


def _changed_in_full_clone(full: Path, days: int) -> set[str]:
    since = (datetime.now(timezone.utc) - timedelta(days=days)).isoformat()
    listed = git(full, "log", f"--since={since}", "--name-only", "--format=", "HEAD")
    return {line for line in listed.splitlines() if line}


def test_a_shallow_clone_fetches_the_window_and_sends_only_what_changed(
    origin: Path, tmp_path: Path, run: Run
) -> None:
    full = _clone(origin, tmp_path / "full", depth=None)
    shallow = _clone(origin, tmp_path / "shallow", depth=1)
    assert git(shallow, "rev-parse", "--is-shallow-repository") == "true"
    # What a depth-1 clone lists for the window without more history: its whole tree.
    cut = _changed_in_full_clone(shallow, 7)
    assert len(cut) == 16

    code, _, err = run(shallow, tmp_path / "state", "submit")

    assert code == 0, err
    expected = {"src/f1.py", "src/f2.py", "docs/new.md"}
    assert _changed_in_full_clone(full, 7) == expected
    assert _sent(tmp_path / "state") == expected


def test_a_shallow_clone_without_a_reachable_origin_exits_2_naming_fetch_depth(
    origin: Path, tmp_path: Path, run: Run
) -> None:
    shallow = _clone(origin, tmp_path / "shallow", depth=1)
    # A private repository checked out with persist-credentials: false: origin refuses.
    git(shallow, "remote", "set-url", "origin", str(tmp_path / "unreachable.git"))

    code, _, err = run(shallow, tmp_path / "state", "submit")

    assert code == 2
    assert "shallow" in err and "fetching them from origin failed" in err
    assert "fetch-depth: 0" in err
    assert not (tmp_path / "state" / "audit.json").exists()  # nothing was submitted


def test_a_shallow_clone_with_no_origin_exits_2(origin: Path, tmp_path: Path, run: Run) -> None:
    shallow = _clone(origin, tmp_path / "shallow", depth=1)
    git(shallow, "remote", "remove", "origin")
    code, _, err = run(shallow, tmp_path / "state", "submit")
    assert code == 2
    assert "no remote 'origin'" in err and "fetch-depth: 0" in err


def test_a_dry_run_in_a_shallow_clone_refuses_rather_than_fetch(
    origin: Path, tmp_path: Path, run: Run
) -> None:
    shallow = _clone(origin, tmp_path / "shallow", depth=1)
    code, _, err = run(shallow, tmp_path / "state", "submit", "--dry-run")
    assert code == 2
    assert "a dry run fetches nothing" in err and "fetch-depth: 0" in err
    assert git(shallow, "rev-list", "--count", "HEAD") == "1"  # nothing was fetched


def test_last_run_in_a_new_shallow_clone_fetches_the_last_collected_commit(
    origin: Path, tmp_path: Path, run: Run
) -> None:
    work = _clone(origin, tmp_path / "pusher", depth=None)
    (work / ".github/ci-reviewer.yml").write_text(CONFIG.format(since="last-run"))
    git(work, "commit", "-qam", "since: last-run")
    git(work, "push", "-q", "origin", "main")
    state = tmp_path / "state"
    first = _clone(origin, tmp_path / "first", depth=1)
    assert run(first, state, "submit")[0] == 0
    assert len(_sent(state)) == 16  # a first run takes every file
    assert run(first, state, "collect")[0] == 0  # records the collected commit
    later = {"src/f10.py": "x = 'changed'\n", "src/late.py": "y = 1\n"}
    _commit(work, later, datetime.now(timezone.utc))
    git(work, "push", "-q", "origin", "main")

    second = _clone(origin, tmp_path / "second", depth=1)  # the next scheduled run's checkout
    code, _, err = run(second, state, "submit")

    assert code == 0, err
    assert _sent(state) == {"src/f10.py", "src/late.py"}
