"""Bad and unusual inputs to `ci-reviewer review`: each is a clear exit-2 message, or a
graceful skip that the run reports (stderr and the result), never a crash or a silent loss."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from tests.reliability.conftest import CLI, MakeRepo

LOCAL = ("review", "--local", "--base", "main")


def review_json(cli: CLI, repo: Path, *extra: str) -> tuple[int, dict[str, object], str]:
    run = cli(*LOCAL, "--workdir", str(repo), "--format", "json", *extra)
    return run.code, json.loads(run.out), run.err


def reviewed_paths(claude: ClaudeEmulator) -> set[str]:
    return {call.body["messages"][0]["content"][1]["text"].split()[1] for call in claude.requests}


# -- usage and environment: exit 2 with what to do -------------------------------------------


def test_local_without_base_says_how(cli: CLI, make_repo: MakeRepo) -> None:
    run = cli("review", "--local", "--workdir", str(make_repo({}, {"a.py": "x\n"})))
    assert run.code == 2 and "--local needs --base REF" in run.err


def test_missing_base_ref_says_how_to_fetch_it(cli: CLI, make_repo: MakeRepo) -> None:
    repo = make_repo({}, {"a.py": "x\n"})
    run = cli("review", "--local", "--base", "origin/nope", "--workdir", str(repo))
    assert run.code == 2
    assert "base ref 'origin/nope' is not in the checkout" in run.err
    assert "fetch-depth: 0" in run.err


def test_non_git_workdir_is_exit_2(cli: CLI, tmp_path: Path) -> None:
    run = cli(*LOCAL, "--workdir", str(tmp_path))
    assert run.code == 2 and "is not a git checkout" in run.err


def test_workdir_that_does_not_exist_is_exit_2(cli: CLI, tmp_path: Path) -> None:
    run = cli(*LOCAL, "--workdir", str(tmp_path / "gone"))
    assert run.code == 2 and "gone" in run.err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--fail-on", "extreme"), "--fail-on"),
        (("--max-turns", "0"), "--max-turns"),
        (("--format", "yaml"), "--format"),
        (("--pr", "seven"), "--pr"),
    ],
)
def test_bad_options_are_usage_errors(
    cli: CLI, make_repo: MakeRepo, args: tuple[str, ...], expected: str
) -> None:
    run = cli(*LOCAL, "--workdir", str(make_repo({}, {"a.py": "x\n"})), *args)
    assert run.code == 2 and expected in run.err and run.out == ""


def test_output_into_a_missing_directory_is_exit_2(
    cli: CLI, make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo({}, {})
    run = cli(*LOCAL, "--workdir", str(repo), "--output", str(tmp_path / "no/such/out.json"))
    assert run.code == 2 and "cannot write --output" in run.err


# -- event payloads --------------------------------------------------------------------


def test_no_event_payload_and_no_pr_says_what_to_pass(
    cli: CLI, make_repo: MakeRepo, canaries: dict[str, str]
) -> None:
    run = cli("review", "--workdir", str(make_repo({}, {"a.py": "x\n"})))
    assert run.code == 2 and "GITHUB_EVENT_PATH is not set" in run.err and "--pr N" in run.err


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (None, "GITHUB_EVENT_PATH"),
        (b"{not json", "event payload"),
        (b"[1, 2]", "event payload"),
        (json.dumps({"ref": "refs/heads/main", "commits": []}).encode(), "--pr"),
    ],
    ids=["missing-file", "malformed-json", "not-an-object", "push-event"],
)
def test_missing_or_wrong_event_payload_is_exit_2(
    cli: CLI,
    make_repo: MakeRepo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    canaries: dict[str, str],
    payload: bytes | None,
    expected: str,
) -> None:
    event = tmp_path / "event.json"
    if payload is not None:
        event.write_bytes(payload)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/demo")
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")

    run = cli("review", "--workdir", str(make_repo({}, {"a.py": "x\n"})))

    assert run.code == 2, run
    assert expected in run.err


# -- what the diff holds: reviewed correctly or skipped with a reason ----------------------


def test_an_empty_change_is_nothing_to_review_and_sends_nothing(
    cli: CLI, claude: ClaudeEmulator, make_repo: MakeRepo
) -> None:
    code, document, err = review_json(cli, make_repo({"a.py": "x\n"}, {}))
    assert code == 0 and document["findings"] == []
    assert "nothing to review" in err
    assert claude.log == []


def test_binary_and_empty_files_are_skipped_and_reported(
    cli: CLI, claude: ClaudeEmulator, make_repo: MakeRepo
) -> None:
    repo = make_repo({}, {"logo.png": b"\x89PNG\r\n\x1a\n\x00\x00", "empty.py": ""})
    code, _, err = review_json(cli, repo)
    assert code == 0
    assert "skipped logo.png: binary file" in err
    assert "skipped empty.py: no added or changed lines" in err
    assert claude.log == []


def test_a_non_utf8_file_is_reviewed_with_its_text_intact_where_valid(
    cli: CLI, claude: ClaudeEmulator, make_repo: MakeRepo
) -> None:
    repo = make_repo({}, {"latin.py": b"name = 'caf\xe9'\nok = 1\n"})
    code, _, _ = review_json(cli, repo)
    assert code == 0
    assert reviewed_paths(claude) == {"latin.py"}
    assert "ok = 1" in json.dumps(claude.requests[0].body)


def test_a_10_mb_file_is_sent_truncated_with_a_note_not_whole(
    cli: CLI, claude: ClaudeEmulator, make_repo: MakeRepo
) -> None:
    repo = make_repo({}, {"big.py": "value = 1234567890\n" * 550_000})
    code, _, _ = review_json(cli, repo)
    assert code == 0
    sent = claude.log[0].body
    assert len(sent) < 1_000_000
    assert b"diff truncated" in sent


def test_symlinks_and_a_symlink_loop_are_skipped_with_a_reason(
    cli: CLI, claude: ClaudeEmulator, make_repo: MakeRepo
) -> None:
    def links(repo: Path) -> None:
        os.symlink("loop-b", repo / "loop-a")
        os.symlink("loop-a", repo / "loop-b")
        os.symlink("/etc/passwd", repo / "passwd")

    repo = make_repo({}, {"real.py": "x = 1\n"}, links)
    code, _, err = review_json(cli, repo)
    assert code == 0
    assert reviewed_paths(claude) == {"real.py"}
    for name in ("loop-a", "loop-b", "passwd"):
        assert f"skipped {name}: symbolic link" in err


def test_file_names_with_spaces_unicode_and_newlines_keep_their_names(
    cli: CLI, claude: ClaudeEmulator, make_repo: MakeRepo
) -> None:
    names = ["dir with space/my file.py", "ünïcode/файл.py", "new\nline.py"]
    repo = make_repo({}, {name: "x = 1\n" for name in names})
    for name in names:
        claude.enqueue(
            Reply.json(
                {
                    "summary": "s",
                    "findings": [
                        {
                            "path": name,
                            "line": 1,
                            "end_line": None,
                            "excerpt": "x = 1",
                            "severity": "low",
                            "category": "style",
                            "title": "t",
                            "body": "b",
                            "suggestion": None,
                            "confidence": 0.9,
                        }
                    ],
                }
            ),
            when=lambda body, name=name: (
                f"Review {name} (" in body["messages"][0]["content"][1]["text"]
            ),
        )
    code, document, _ = review_json(cli, repo)
    assert code == 0
    assert sorted(f["path"] for f in document["findings"]) == sorted(names)


def test_a_3000_file_change_stops_at_the_budget_and_says_so(
    cli: CLI, claude: ClaudeEmulator, make_repo: MakeRepo, tmp_path: Path
) -> None:
    files = {f"pkg/m{i:04d}.py": f"x = {i}\n" for i in range(3000)}
    config = tmp_path / "c.yml"
    config.write_text("review:\n  max_cost_usd: 0.05\n")
    repo = make_repo({}, files)

    code, document, err = review_json(cli, repo, "--config", str(config))

    assert code == 0
    reviews = document["files"]
    assert isinstance(reviews, list) and len(reviews) == 3000
    not_reviewed = [r for r in reviews if r["status"] != "reviewed"]
    # A file the budget stopped before its first call sent nothing; every call the
    # emulator received belongs to a file whose record counts it as a turn.
    asked = [call.body["messages"][0]["content"][1]["text"].split()[1] for call in claude.requests]
    never_asked = {r["path"] for r in reviews if r["reason"] == "max_cost_usd spent before it"}
    assert set(asked) == {r["path"] for r in reviews} - never_asked
    assert len(asked) == sum(r["turns"] for r in reviews)
    assert not_reviewed, "the budget should stop a 3,000-file review"
    assert f"{len(not_reviewed)} not reviewed (max_cost_usd reached)" in err
