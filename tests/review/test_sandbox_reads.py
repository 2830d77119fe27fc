"""What a read through the sandbox hands the model: the reason for each file it cannot read,
exactly `limit` bytes of a large file, and the secret policy applied to the content with the
config's exceptions by path; and what a search that finds nothing, or a file listed as a
folder, answers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ci_reviewer.review.sandbox import Refusal, Sandbox, TextFile
from ci_reviewer.review.tools import RepoTools
from ci_reviewer.secret_policy import SecretPolicy
from tests.review.conftest import RepoFactory

# A key block as a test certificate directory holds one: header, 64+ characters, footer.
KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    + "MIIEowIBAAKCAQEA7bq0" * 4
    + "\n-----END RSA PRIVATE KEY-----\n"
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    (root / "src").mkdir(parents=True)
    (root / "src" / "big.py").write_text("".join(f"{i:09d}\n" for i in range(1000)))
    (root / "src" / "small.py").write_text("x = 1\n")
    (root / "tests" / "certs").mkdir(parents=True)
    (root / "tests" / "certs" / "server.txt").write_text(KEY)
    (root / "tests" / "certs" / "client.txt").write_text(KEY)
    (root / ".env").write_text("TOKEN=abc\n")
    return root


def test_a_missing_file_and_a_folder_say_so(root: Path) -> None:
    box = Sandbox(root)
    assert box.read_text("src/gone.py", 100) == Refusal(
        "src/gone.py: no such file in the repository"
    )
    assert box.read_text("src", 100) == Refusal(
        "src: not a regular file (use list_directory for folders)"
    )


def test_a_fifo_is_refused_without_blocking(root: Path) -> None:
    os.mkfifo(root / "src" / "pipe")
    assert Sandbox(root).read_text("src/pipe", 100) == Refusal(
        "src/pipe: not a regular file (use list_directory for folders)"
    )


@pytest.mark.parametrize("limit", [1, 7, 4096, 9999])
def test_a_large_file_gives_exactly_its_first_limit_bytes(root: Path, limit: int) -> None:
    whole = (root / "src" / "big.py").read_text()
    assert len(whole) == 10_000
    read = Sandbox(root).read_text("src/big.py", limit)
    assert read == TextFile("src/big.py", whole[:limit], 10_000, truncated=True)


def test_a_file_within_the_limit_comes_whole(root: Path) -> None:
    assert Sandbox(root).read_text("./src//small.py", 100) == TextFile(
        "src/small.py", "x = 1\n", 6, truncated=False
    )


def test_secret_refusals_name_the_rule_never_the_content(root: Path) -> None:
    box = Sandbox(root)
    by_name = box.read_text(".env", 100)
    assert isinstance(by_name, Refusal)
    assert by_name.reason.startswith(".env: ") and "(secret policy); never read" in by_name.reason
    assert ".env" in by_name.reason.removeprefix(".env: ")  # the rule it broke
    by_content = box.read_text("tests/certs/server.txt", 4096)
    assert isinstance(by_content, Refusal)
    assert "private key block" in by_content.reason
    assert "MIIE" not in by_content.reason


def test_secret_in_scans_the_content_and_honours_the_allowed_path(root: Path) -> None:
    policy = SecretPolicy.of(["tests/certs/server.txt"])
    box = Sandbox(root, policy)
    assert box.secret_in("tests/certs/server.txt") is None
    refused = box.secret_in("tests/certs/client.txt")
    assert refused is not None and "private key block" in refused
    assert box.secret_in("src/small.py") is None
    assert box.secret_in("src/gone.py") is None  # a read says why; this check does not
    assert box.read_text("tests/certs/server.txt", 4096) == TextFile(
        "tests/certs/server.txt", KEY, len(KEY), truncated=False
    )


def test_secret_in_finds_a_key_past_the_first_kilobytes(root: Path) -> None:
    (root / "src" / "late.py").write_text("# filler\n" * 5000 + KEY)
    refused = Sandbox(root).secret_in("src/late.py")
    assert refused is not None and "private key block" in refused


def test_what_the_model_reads_for_a_search_without_a_match_and_a_file_listed_as_a_folder(
    make_repo: RepoFactory,
) -> None:
    # git grep exits 1 when nothing matches: an answer for the model, not a failed run.
    repo = make_repo({"src/app.py": "print('hello')\n"}, {"src/util.py": "x = 1\n"})
    tools = RepoTools(Sandbox(repo), "main")

    search = tools.run("search_code", {"query": "nowhere in the code"})
    listed = tools.run("list_directory", {"path": "src/app.py"})

    assert (search.text, search.is_error) == ("no matches for 'nowhere in the code'", False)
    assert (listed.text, listed.is_error) == ("src/app.py: not a directory", True)
