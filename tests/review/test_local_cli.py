"""`ci-reviewer review --local` end to end on real temporary git repositories, with the
Claude emulator behind ANTHROPIC_BASE_URL; and the diff model's sources and filters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_reviewer.cli import cli
from ci_reviewer.cli.errors import run_guarded
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from ci_reviewer.review.diff import diff_from_pr_files
from tests.review.conftest import CALC_BASE, CALC_HEAD, RepoFactory, answer, git, source_of

KEY = "sk-ant-test-SECRETKEY-123"


def run_cli(*args: str) -> int:
    return run_guarded(lambda: cli.main(args=list(args), standalone_mode=False))


@pytest.fixture
def env(emu: ClaudeEmulator, monkeypatch: pytest.MonkeyPatch) -> ClaudeEmulator:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emu.url)
    return emu


def test_local_review_prints_findings_and_exits_1_when_blocking(
    env: ClaudeEmulator, make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    env.enqueue(Reply.tool_use([("read_file", {"path": "src/app.py"})]))
    env.enqueue(Reply.json(answer({"line": 2, "severity": "critical"})))

    code = run_cli(
        "review", "--local", "--base", "main", "--workdir", str(repo), "--format", "json"
    )

    out = capsys.readouterr()
    document = json.loads(out.out)
    assert code == 1
    assert document["blocking"] is True
    assert document["findings"][0]["path"] == "src/calc.py"
    assert document["findings"][0]["fingerprint"]
    assert KEY not in out.out + out.err
    assert env.requests[0].headers.get("authorization") == f"Bearer {KEY}"


def test_fail_on_none_never_blocks(
    env: ClaudeEmulator, make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    env.enqueue(Reply.json(answer({"line": 2, "severity": "critical"})))

    code = run_cli(
        "review", "--local", "--base", "main", "--workdir", str(repo), "--fail-on", "none"
    )

    assert code == 0
    assert "[CRITICAL] src/calc.py:2" in capsys.readouterr().out


def test_sarif_output_names_rule_location_and_fingerprint(
    env: ClaudeEmulator, make_repo: RepoFactory, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    env.enqueue(Reply.json(answer({"line": 2, "category": "security"})))
    target = tmp_path / "out.sarif"

    run_cli(
        "review",
        "--local",
        "--base",
        "main",
        "--workdir",
        str(repo),
        "--format",
        "sarif",
        "--output",
        str(target),
    )

    sarif = json.loads(capsys.readouterr().out)
    assert json.loads(target.read_text()) == sarif
    result = sarif["runs"][0]["results"][0]
    assert sarif["version"] == "2.1.0"
    assert result["ruleId"] == "ci-reviewer/security"
    assert result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    assert result["partialFingerprints"]["ciReviewer/v1"]


def test_nothing_to_review_is_exit_0_and_sends_nothing(
    env: ClaudeEmulator, make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(
        {}, {"poetry.lock": "x\n", "vendor/lib.py": "y = 1\n", "logo.png": b"\x89PNG\x00"}
    )

    code = run_cli("review", "--local", "--base", "main", "--workdir", str(repo))

    out = capsys.readouterr()
    assert code == 0
    assert "nothing to review" in out.out
    assert "skipped poetry.lock: lockfile, vendored or generated" in out.err
    assert "skipped logo.png: binary file" in out.err
    assert env.requests == []


def test_dry_run_sends_nothing_and_needs_no_key(
    env: ClaudeEmulator,
    make_repo: RepoFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    repo = make_repo(CALC_BASE, CALC_HEAD)

    code = run_cli(
        "review",
        "--local",
        "--base",
        "main",
        "--workdir",
        str(repo),
        "--dry-run",
        "--format",
        "json",
    )

    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["files"] == ["src/calc.py"]
    assert document["estimated_cost_usd"] > 0
    assert env.requests == []


def test_missing_key_is_exit_2_with_what_to_do(
    make_repo: RepoFactory, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    monkeypatch.delenv("ANTHROPIC_API_KEY")

    code = run_cli("review", "--local", "--base", "main", "--workdir", str(repo))

    assert code == 2
    assert "ANTHROPIC_API_KEY is not set" in capsys.readouterr().err


def test_not_a_checkout_and_missing_base_are_exit_2(
    env: ClaudeEmulator, make_repo: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    repo = make_repo(CALC_BASE, CALC_HEAD)

    assert run_cli("review", "--local", "--base", "main", "--workdir", str(plain)) == 2
    assert "is not a git checkout" in capsys.readouterr().err
    assert run_cli("review", "--local", "--base", "nope", "--workdir", str(repo)) == 2
    assert "base ref 'nope'" in capsys.readouterr().err
    assert run_cli("review", "--local", "--workdir", str(repo)) == 2
    assert "--local needs --base" in capsys.readouterr().err


def test_api_failure_is_exit_3_or_0_when_neutral(
    env: ClaudeEmulator, make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    env.enqueue(Reply.error("authentication_error", "invalid key"))
    assert run_cli("review", "--local", "--base", "main", "--workdir", str(repo)) == 3
    assert "401" in capsys.readouterr().err

    (repo / ".github").mkdir()
    (repo / ".github" / "ci-reviewer.yml").write_text("review:\n  on_api_error: neutral\n")
    env.enqueue(Reply.error("authentication_error", "invalid key"))
    assert run_cli("review", "--local", "--base", "main", "--workdir", str(repo)) == 0
    assert "neutral" in capsys.readouterr().err


def test_commentable_lines_per_side(make_repo: RepoFactory) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)

    changed = source_of(repo).files[0]

    assert changed.added_lines == {2, 3, 4, 5, 6}
    assert changed.commentable(1, "RIGHT")  # context
    assert changed.commentable(2, "LEFT")  # the removed line, old side
    assert not changed.commentable(40, "RIGHT")


def test_pr_files_use_the_patch_and_fall_back_to_git_without_one(make_repo: RepoFactory) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    base, head = git(repo, "rev-parse", "main").strip(), git(repo, "rev-parse", "HEAD").strip()
    files = [
        {"filename": "src/calc.py", "status": "modified", "patch": None},
        {"filename": "new.py", "status": "added", "patch": "@@ -0,0 +1,2 @@\n+a = 1\n+b = 2"},
        {"filename": "gone.bin", "status": "modified", "patch": None},
    ]

    source = diff_from_pr_files(files, repo, base, head, title="T")

    by_path = {f.path: f for f in source.files}
    assert by_path["src/calc.py"].added_lines == {2, 3, 4, 5, 6}
    assert by_path["new.py"].right_lines == {1, 2}
    assert [s.path for s in source.skipped] == ["gone.bin"]
