"""The secret-leak detector the whole suite runs with (wired in tests/conftest.py).

A secret counts as leaked when it appears, raw or in an encoding a writer might apply
(base64 as in the contents API, URL quoting, JSON escaping), in any channel a user or a
reader of the repository could see: stdout, stderr, logs, files the run wrote, git objects,
and every request body an emulator received. Headers are not a channel: the Authorization
header is where the key belongs.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

# Shorter values would match ordinary words (the product's Redactor uses the same floor).
MIN_SECRET_LENGTH = 6
# Files bigger than this are test fixtures (the 10 MB input), not something a run wrote.
MAX_SCANNED_FILE_BYTES = 64 * 1024 * 1024
AUTH_HEADERS = ("authorization", "x-api-key", "proxy-authorization")


@dataclass(frozen=True)
class Leak:
    """One secret found in one channel; `shown` masks the secret so a report cannot leak it."""

    channel: str
    encoding: str
    shown: str

    def __str__(self) -> str:
        return f"{self.shown} ({self.encoding}) in {self.channel}"


def mask(secret: str) -> str:
    return f"{secret[:4]}…({len(secret)} chars)"


def secret_forms(secret: str) -> dict[str, bytes]:
    """The byte strings that betray `secret`, by the encoding that produced them."""
    raw = secret.encode()
    forms = {
        "raw": raw,
        "url-quoted": quote(secret, safe="").encode(),
        "form-quoted": quote_plus(secret).encode(),
        "json-escaped": json.dumps(secret)[1:-1].encode(),
    }
    for offset in range(3):
        # The base64 characters fixed by the secret's bits alone, at each byte alignment.
        encoded = base64.b64encode(b"\0" * offset + raw)
        start, end = -(-offset * 4 // 3), (offset + len(raw)) * 4 // 3
        forms[f"base64+{offset}"] = encoded[start:end]
    return {name: form for name, form in forms.items() if len(form) >= MIN_SECRET_LENGTH}


def find_leaks(secrets: Iterable[str], channels: Iterable[tuple[str, str | bytes]]) -> list[Leak]:
    """Every (channel, secret) pair where the secret shows in the channel's content."""
    wanted = {s: secret_forms(s) for s in set(secrets) if len(s) >= MIN_SECRET_LENGTH}
    leaks: list[Leak] = []
    if not wanted:
        return leaks
    for channel, content in channels:
        data = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
        for secret, forms in wanted.items():
            found = next((name for name, form in forms.items() if form in data), None)
            if found is not None:
                leaks.append(Leak(channel, found, mask(secret)))
    return leaks


def credentials_in(headers: Mapping[str, str]) -> set[str]:
    """The credentials a request carried (Bearer/token schemes, x-api-key, basic auth)."""
    found: set[str] = set()
    for name in AUTH_HEADERS:
        value = headers.get(name, "").strip()
        if not value:
            continue
        scheme, _, rest = value.partition(" ")
        if not rest:
            found.add(scheme)
        elif scheme.lower() == "basic":
            found.update(_basic_parts(rest))
        else:
            found.add(rest.strip())
    return {value for value in found if len(value) >= MIN_SECRET_LENGTH}


def _basic_parts(encoded: str) -> set[str]:
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return set()
    return {user, password}


def files_under(root: Path) -> Iterator[tuple[str, bytes]]:
    """Every regular file under `root` (git repositories as their decompressed objects)."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        if ".git" in path.relative_to(root).parts[:-1] or _in_bare_repo(path, root):
            continue
        if path.stat().st_size <= MAX_SCANNED_FILE_BYTES:
            yield str(path.relative_to(root)), path.read_bytes()
    for repo in _repositories(root):
        yield f"git objects of {repo.relative_to(root) or '.'}", git_objects(repo)


def _repositories(root: Path) -> Iterator[Path]:
    for head in root.rglob("HEAD"):
        candidate = head.parent
        if (candidate / "objects").is_dir() and (candidate / "refs").is_dir():
            yield candidate


def _in_bare_repo(path: Path, root: Path) -> bool:
    return any(
        (parent / "objects").is_dir() and (parent / "HEAD").is_file()
        for parent in path.parents
        if parent != root and root in parent.parents
    )


def git_objects(git_dir: Path) -> bytes:
    """All objects of a repository (loose and packed), decompressed, in one byte string."""
    done = subprocess.run(
        ["git", f"--git-dir={git_dir}", "cat-file", "--batch-all-objects", "--batch"],
        capture_output=True,
        check=False,
    )
    return done.stdout
