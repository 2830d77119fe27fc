"""A path's directory, name, stem and suffix, as planning asks for them, are the ones
`PurePosixPath` gives (and `posixpath.relpath` for a path below another), for paths as git
lists them and for any other string."""

from __future__ import annotations

import posixpath
from pathlib import PurePosixPath

from ci_reviewer.batch import path_names

# As git lists them, and strings no listing holds (which PurePosixPath normalises first).
PATHS = [
    "setup.py",
    "src/pkg/module.py",
    "pkg/__init__.py",
    ".github/workflows/ci.yml",
    "docs/.nojekyll",
    "a/b.tar.gz",
    "a/b.",
    "a/.env",
    "a/../b.py",
    "",
    ".",
    "./a.py",
    "a//b.py",
    "/abs/a.py",
    "a/b/",
    "a/./b.py",
    "a/b/.",
    "..",
]


def test_each_part_is_the_one_purepath_gives() -> None:
    for path in PATHS:
        pure = PurePosixPath(path)
        assert path_names.parent(path) == str(pure.parent), path
        assert path_names.parent_parts(path) == pure.parent.parts, path
        assert path_names.name(path) == pure.name, path
        assert path_names.parent_name(path) == pure.parent.name, path
        assert path_names.suffix(path) == pure.suffix, path
        assert path_names.stem(path) == pure.stem, path


def test_a_few_answers_by_hand() -> None:
    assert path_names.parent("src/pkg/module.py") == "src/pkg"
    assert path_names.parent("setup.py") == "."
    assert path_names.parent_parts("src/pkg/module.py") == ("src", "pkg")
    assert path_names.parent_name("pkg/__init__.py") == "pkg"
    assert (path_names.stem("a/b.tar.gz"), path_names.suffix("a/b.tar.gz")) == ("b.tar", ".gz")
    assert (path_names.stem("a/.env"), path_names.suffix("a/.env")) == (".env", "")


def test_relative_is_relpath() -> None:
    pairs = [
        ("tests/generated/test_a.py", "tests/generated"),
        ("tests/generated/test_a.py", ""),
        ("tests/generated", "tests/generated"),
        ("tests/test_a.py", "tests/generated"),
        ("tests/generated/../x.py", "tests/generated"),
        ("a/b.py", "a/../a"),
        ("./a/b.py", "a"),
    ]
    for path, start in pairs:
        assert path_names.relative(path, start) == posixpath.relpath(path, start or "."), path
    assert path_names.relative("tests/generated/test_a.py", "tests/generated") == "test_a.py"
