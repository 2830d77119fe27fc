"""The parts of a repository path (`/`-separated, relative) that `PurePosixPath` gives, by
string operations.

A large first run asks for a file's directory, name, stem or suffix several times per file
(its group, its package, its language, its test's name): a `PurePosixPath` costs ~1.5 us to
build, a `rpartition` a tenth of that. The answers are `PurePosixPath`'s own: a path as git
lists it (no empty, `.` or leading `/` part) is split here; any other string is handed to
`PurePosixPath`, which normalises it first.
"""

from __future__ import annotations

import posixpath
from pathlib import PurePosixPath


def _plain(path: str) -> bool:
    """Whether `path` is split by `/` into exactly `PurePosixPath(path).parts`."""
    return not (
        not path
        or path[0] == "/"
        or path[-1] == "/"
        or "//" in path
        or path == "."
        or path.startswith("./")
        or path.endswith("/.")
        or "/./" in path
    )


def parent(path: str) -> str:
    """`str(PurePosixPath(path).parent)`: `a/b` for `a/b/c.py`, `.` for `c.py`."""
    if _plain(path):
        return path.rpartition("/")[0] or "."
    return str(PurePosixPath(path).parent)


def parent_parts(path: str) -> tuple[str, ...]:
    """`PurePosixPath(path).parent.parts`."""
    if _plain(path):
        return tuple(path.split("/")[:-1])
    return PurePosixPath(path).parent.parts


def name(path: str) -> str:
    """`PurePosixPath(path).name`."""
    if _plain(path):
        return path.rpartition("/")[2]
    return PurePosixPath(path).name


def parent_name(path: str) -> str:
    """`PurePosixPath(path).parent.name`: `b` for `a/b/c.py`, `` for `c.py`."""
    if _plain(path):
        return path.rpartition("/")[0].rpartition("/")[2]
    return PurePosixPath(path).parent.name


def suffix(path: str) -> str:
    """`PurePosixPath(path).suffix`: the name's last `.x`, but not a leading or lone dot."""
    base = name(path)
    at = base.rfind(".")
    return base[at:] if 0 < at < len(base) - 1 else ""


def stem(path: str) -> str:
    """`PurePosixPath(path).stem`: the name without its suffix."""
    base = name(path)
    at = base.rfind(".")
    return base[:at] if 0 < at < len(base) - 1 else base


def relative(path: str, start: str) -> str:
    """`posixpath.relpath(path, start or ".")`, without its two `os.getcwd()` calls when
    `path` lies below `start` (and neither climbs with `..`)."""
    if _plain(path) and "/../" not in f"/{path}/":
        if not start:
            return path
        if path.startswith(start + "/") and _plain(start) and "/../" not in f"/{start}/":
            return path[len(start) + 1 :]
    return posixpath.relpath(path, start or ".")
