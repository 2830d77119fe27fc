"""`Sandbox.resolve`, the check every read of the model's goes through: each way out of the
checkout is refused with the one-line reason the model reads, and no refusal names a path
outside the checkout (the host's folders are none of the model's business)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ci_reviewer.review.sandbox import Refusal, Sandbox


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Sandbox, Path]:
    """A checkout `repo` beside a folder `repo-sibling` whose name it prefixes, and one
    further away, with symlinks from the checkout into each."""
    repo, sibling, away = tmp_path / "repo", tmp_path / "repo-sibling", tmp_path / "away"
    for folder in (repo / "src", sibling, away / "deep", repo / ".git"):
        folder.mkdir(parents=True)
    (repo / "src/app.py").write_text("x = 1\n")
    (repo / ".git/config").write_text("[core]\n")
    (sibling / "notes.txt").write_text("the sibling's\n")
    (away / "deep/data.txt").write_text("away\n")
    links = {
        "to_sibling": sibling / "notes.txt",
        "to_sibling_dir": sibling,
        "to_away": away / "deep/data.txt",
        "to_away_dir": away,
        "to_app": repo / "src/app.py",
        "to_git_config": repo / ".git/config",
        "hop": repo / "to_away",  # a chain: inside, then out
        "relative_out": Path("../away/deep/data.txt"),
    }
    for name, target in links.items():
        os.symlink(target, repo / name)
    return Sandbox(repo), tmp_path


OUTSIDE = "a symlink leads outside the repository; refused"
ESCAPES = [
    ("to_sibling", f"to_sibling: {OUTSIDE}"),  # its real path starts with the checkout's
    ("to_sibling_dir/notes.txt", f"to_sibling_dir/notes.txt: {OUTSIDE}"),
    ("to_away", f"to_away: {OUTSIDE}"),
    ("to_away_dir/deep/data.txt", f"to_away_dir/deep/data.txt: {OUTSIDE}"),
    ("hop", f"hop: {OUTSIDE}"),
    ("relative_out", f"relative_out: {OUTSIDE}"),
    (
        "../repo-sibling/notes.txt",
        "../repo-sibling/notes.txt: '..' is refused; paths stay inside the repository",
    ),
    (
        "src/../../away/deep/data.txt",
        "src/../../away/deep/data.txt: '..' is refused; paths stay inside the repository",
    ),
    (
        "/etc/passwd",
        "/etc/passwd: absolute paths are refused; give a path relative to the repository root",
    ),
    (
        "~/.ssh/id_rsa",
        "~/.ssh/id_rsa: absolute paths are refused; give a path relative to the repository root",
    ),
    (
        "C:/Windows/win.ini",
        "C:/Windows/win.ini: absolute paths are refused; give a path "
        "relative to the repository root",
    ),
    (
        "src\\..\\..\\away",
        "src\\..\\..\\away: '..' is refused; paths stay inside the repository",
    ),
    (
        "to_git_config",
        "to_git_config: resolves to .git/config; .git/ is off limits (repository internals)",
    ),
    (".git/config", ".git/config: .git/ is off limits (repository internals)"),
    ("src/app.py\x00.txt", "path contains a NUL byte"),
]


@pytest.mark.parametrize(("requested", "reason"), ESCAPES, ids=[e[0] for e in ESCAPES])
def test_every_way_out_is_refused_with_its_reason_and_no_outside_path(
    layout: tuple[Sandbox, Path], requested: str, reason: str
) -> None:
    sandbox, tmp_path = layout

    refused = sandbox.resolve(requested)

    assert refused == Refusal(reason)
    assert str(tmp_path) not in refused.reason  # the host's folders are never named
    read = sandbox.read_text(requested, 1000)
    assert isinstance(read, Refusal) and str(tmp_path) not in read.reason


@pytest.mark.parametrize(
    ("requested", "inside"),
    [("src/app.py", "src/app.py"), ("to_app", "src/app.py"), ("./src//app.py", "src/app.py")],
)
def test_paths_that_stay_inside_resolve_to_the_file(
    layout: tuple[Sandbox, Path], requested: str, inside: str
) -> None:
    sandbox, tmp_path = layout

    resolved = sandbox.resolve(requested)

    assert resolved == tmp_path / "repo" / inside
    assert sandbox.display(resolved) == inside  # type: ignore[arg-type]


@pytest.mark.parametrize("requested", ["", ".", "./", "./."])
def test_the_root_itself_resolves_and_is_shown_as_a_dot(
    layout: tuple[Sandbox, Path], requested: str
) -> None:
    sandbox, tmp_path = layout

    resolved = sandbox.resolve(requested)

    assert resolved == tmp_path / "repo"
    assert sandbox.display(resolved) == "."  # type: ignore[arg-type]
