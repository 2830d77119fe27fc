"""Escape attempts through every tool: each is refused with an is_error tool_result, and no
byte from outside the checkout (or from a secret inside it) reaches any request."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anthropic
import pytest

from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from ci_reviewer.review.sandbox import Refusal, Sandbox
from ci_reviewer.review.tools import RepoTools
from tests.review.conftest import RepoFactory, answer, review

OUTSIDE = "OUTSIDE-SECRET-7f3a"
INSIDE_SECRET = "INSIDE-SECRET-91bc"


@pytest.fixture
def repo(make_repo: RepoFactory, tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text(f"root:{OUTSIDE}\n")
    repo = make_repo(
        {
            ".env": f"TOKEN={INSIDE_SECRET}\n",
            "deploy/id_rsa": f"-----BEGIN KEY-----{INSIDE_SECRET}\n",
            "certs/server.pem": f"{INSIDE_SECRET}\n",
            "config/credentials.json": f'{{"k": "{INSIDE_SECRET}"}}\n',
            "img.bin": b"\x00\x01binary" + INSIDE_SECRET.encode(),
        },
        {"src/app.py": "print('hello')\n"},
    )
    (repo / "link_out").symlink_to(outside / "passwd")
    (repo / "dir_out").symlink_to(outside)
    (repo / "link_env").symlink_to(repo / ".env")
    (repo / ".git" / "config").write_text(
        (repo / ".git" / "config").read_text() + f"# {INSIDE_SECRET}\n"
    )
    return repo


ATTEMPTS: list[tuple[str, dict[str, Any]]] = [
    ("read_file", {"path": "../outside/passwd"}),
    ("read_file", {"path": "src/../../outside/passwd"}),
    ("read_file", {"path": "/etc/passwd"}),
    ("read_file", {"path": "~/.ssh/id_rsa"}),
    ("read_file", {"path": "link_out"}),
    ("read_file", {"path": "dir_out/passwd"}),
    ("read_file", {"path": ".git/config"}),
    ("read_file", {"path": "./.GIT/config"}),
    ("read_file", {"path": ".env"}),
    ("read_file", {"path": "link_env"}),
    ("read_file", {"path": "deploy/id_rsa"}),
    ("read_file", {"path": "certs/server.pem"}),
    ("read_file", {"path": "config/credentials.json"}),
    ("read_file", {"path": "img.bin"}),
    ("read_file", {"path": "src\\..\\..\\outside\\passwd"}),
    ("read_base_file", {"path": ".env"}),
    ("read_base_file", {"path": "../outside/passwd"}),
    ("list_directory", {"path": "dir_out"}),
    ("list_directory", {"path": ".git"}),
    ("list_directory", {"path": ".."}),
    ("search_code", {"query": "SECRET"}),
    ("search_code", {"query": "x", "path": "../outside"}),
    ("read_file", {"path": 42}),
    ("delete_file", {"path": "src/app.py"}),
]


def test_every_escape_attempt_is_refused_and_leaks_nothing(
    emu: ClaudeEmulator, client: anthropic.Anthropic, repo: Path
) -> None:
    emu.enqueue(Reply.tool_use(ATTEMPTS))
    emu.enqueue(Reply.json(answer()))

    result = review(client, repo)

    results = emu.requests[1].body["messages"][-1]["content"]
    assert len(results) == len(ATTEMPTS)
    by_tool = list(zip(ATTEMPTS, results, strict=True))
    for (name, args), block in by_tool:
        if name == "search_code" and args == {"query": "SECRET"}:
            assert "no matches" in block["content"]  # the secret files hold the only matches
        else:
            assert block.get("is_error") is True, (name, args, block)
            assert "\n" not in block["content"].strip(), "a refusal is one line"
    everything_sent = str([call.body for call in emu.requests])
    assert OUTSIDE not in everything_sent
    assert INSIDE_SECRET not in everything_sent
    assert result.files[0].status == "reviewed"


def test_listing_hides_secret_entries_and_says_so(repo: Path) -> None:
    tools = RepoTools(Sandbox(repo), "HEAD")

    listing = tools.run("list_directory", {"path": "."})

    assert not listing.is_error
    assert ".env" not in listing.text.split()
    assert ".git/" not in listing.text
    assert "src/" in listing.text
    assert "hidden" in listing.text


def test_a_symlink_inside_the_checkout_to_a_normal_file_is_followed(repo: Path) -> None:
    (repo / "alias.py").symlink_to(repo / "src" / "app.py")

    outcome = RepoTools(Sandbox(repo), "HEAD").run("read_file", {"path": "alias.py"})

    assert not outcome.is_error
    assert "print('hello')" in outcome.text


def test_env_templates_are_readable_context(repo: Path) -> None:
    (repo / ".env.example").write_text("TOKEN=\n")

    outcome = RepoTools(Sandbox(repo), "HEAD").run("read_file", {"path": ".env.example"})

    assert not outcome.is_error


def test_the_checkout_path_itself_may_be_a_symlink(repo: Path, tmp_path: Path) -> None:
    alias = tmp_path / "alias"
    os.symlink(repo, alias)

    resolved = Sandbox(alias).resolve("src/app.py")

    assert not isinstance(resolved, Refusal)
    assert resolved.read_text() == "print('hello')\n"


def test_large_files_are_truncated_with_a_note(repo: Path) -> None:
    (repo / "long.py").write_text("".join(f"v{n} = {n}\n" for n in range(5000)))
    tools = RepoTools(Sandbox(repo), "HEAD")

    whole = tools.run("read_file", {"path": "long.py"})
    tail = tools.run("read_file", {"path": "long.py", "start_line": 4990})

    assert "ask for start_line/end_line" in whole.text.splitlines()[0]
    assert "v4999 = 4999" not in whole.text
    assert "v4999 = 4999" in tail.text


def test_a_fifo_or_a_folder_is_refused_without_waiting(repo: Path) -> None:
    os.mkfifo(repo / "pipe")  # opened for reading, a FIFO would block until a writer came
    tools = RepoTools(Sandbox(repo), "HEAD")

    for path in ("pipe", "src"):
        outcome = tools.run("read_file", {"path": path})
        assert outcome.is_error
        assert "not a regular file" in outcome.text


def test_a_sibling_folder_sharing_the_checkout_name_is_outside(repo: Path) -> None:
    sibling = repo.parent / f"{repo.name}-sibling"
    sibling.mkdir()
    (sibling / "notes.txt").write_text(f"{OUTSIDE}\n")
    (repo / "to_sibling").symlink_to(sibling / "notes.txt")

    outcome = RepoTools(Sandbox(repo), "HEAD").run("read_file", {"path": "to_sibling"})

    assert outcome.is_error
    assert OUTSIDE not in outcome.text


def test_long_lines_are_cut_at_the_character_bound_and_the_header_says_where(
    repo: Path,
) -> None:
    (repo / "wide.txt").write_text("".join(f"{n:04d}{'x' * 96}\n" for n in range(1000)))

    outcome = RepoTools(Sandbox(repo), "HEAD").run("read_file", {"path": "wide.txt"})

    header, *shown = outcome.text.splitlines()
    assert len(outcome.text) <= 60_000 + len(header) + 1
    assert header.startswith(f"wide.txt (lines 1-{len(shown)} of 1000)")
    assert shown[-1].lstrip().startswith(f"{len(shown)}| {len(shown) - 1:04d}")


def test_a_run_answers_the_same_call_from_one_snapshot(repo: Path) -> None:
    tools = RepoTools(Sandbox(repo), "HEAD")
    first = tools.run("read_file", {"path": "src/app.py"})
    (repo / "src" / "app.py").write_text("print('changed during the run')\n")

    again = tools.run("read_file", {"path": "src/app.py"})
    other_range = tools.run("read_file", {"path": "src/app.py", "start_line": 1})
    odd_arguments = tools.run("read_file", {"path": "src/app.py", "extra": [1]})

    assert again == first
    assert "changed during the run" in other_range.text
    assert "changed during the run" in odd_arguments.text
