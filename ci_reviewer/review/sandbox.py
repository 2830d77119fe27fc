"""The read-only sandbox around the checkout: every path the model asks for is resolved for
real before a byte is read.

Refused, with a one-line reason the model can read (never an exception, never a byte from
outside the checkout): absolute paths, `..`, symlinks whose target leaves the checkout, `.git`
and other credential stores, secret-looking files (`.env`, keys, certificates, credential
files), and binary files. The rules apply to the path as asked and to the path it resolves to,
so a symlink inside the checkout cannot lead to `.git/config` or `.env` either.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

BINARY_SNIFF_BYTES = 8000
_DENIED_DIRS = frozenset({".git", ".ssh", ".aws", ".gnupg", ".docker", ".kube", ".azure"})
_SECRET_NAMES = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    "*.tfstate",
    "*.tfstate.*",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".netrc",
    ".npmrc",
    ".pypirc",
    ".git-credentials",
    ".htpasswd",
    "credentials",
    "credentials.*",
    "secrets.*",
    "*.secret",
    "service-account*.json",
)
# Templates that document variables without holding values: useful context, not secrets.
_SAFE_TEMPLATES = (".env.example", ".env.sample", ".env.template", ".env.dist")
# Every path a tool touches is checked, twice: one compiled alternation, not 25 fnmatch calls.
_SECRET_NAME = re.compile("|".join(fnmatch.translate(pattern) for pattern in _SECRET_NAMES))


@dataclass(frozen=True)
class Refusal:
    """Why a path was refused; becomes a tool_result with is_error."""

    reason: str


def secret_reason(parts: tuple[str, ...]) -> str | None:
    """Why a repository-relative path must not be shown to the model, if it must not."""
    for part in parts[:-1]:
        if part.lower() in _DENIED_DIRS:
            return f"{part}/ is off limits (credentials and repository internals)"
    if not parts:
        return None
    name = parts[-1].lower()
    if name in _DENIED_DIRS:
        return f"{parts[-1]} is off limits (credentials and repository internals)"
    if name in _SAFE_TEMPLATES:
        return None
    if _SECRET_NAME.match(name):
        return f"{parts[-1]} looks like a secret (keys, credentials, .env) and is never read"
    return None


class Sandbox:
    """Resolves repository paths inside `root`, refusing everything listed above."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))
        self._root = str(self.root)
        self._inside = os.path.join(self._root, "")

    def relative_parts(self, requested: object) -> tuple[str, ...] | Refusal:
        """The normalized parts of a repository-relative path ('' or '.' is the root)."""
        if not isinstance(requested, str):
            return Refusal("path must be a string")
        if "\x00" in requested:
            return Refusal("path contains a NUL byte")
        text = requested.replace("\\", "/").strip()
        if text.startswith(("/", "~")) or (len(text) > 1 and text[1] == ":"):
            return Refusal(
                f"{requested}: absolute paths are refused; give a path relative to "
                "the repository root"
            )
        parts = tuple(part for part in text.split("/") if part not in ("", "."))
        if ".." in parts:
            return Refusal(f"{requested}: '..' is refused; paths stay inside the repository")
        reason = secret_reason(parts)
        return Refusal(f"{requested}: {reason}") if reason else parts

    def resolve(self, requested: object) -> Path | Refusal:
        """The real path inside the checkout, following symlinks, or why it is refused."""
        parts = self.relative_parts(requested)
        if isinstance(parts, Refusal):
            return parts
        real = os.path.realpath(os.path.join(self._root, *parts))
        if real == self._root:
            return self.root
        if not real.startswith(self._inside):
            return Refusal(f"{requested}: a symlink leads outside the repository; refused")
        real_parts = tuple(real[len(self._inside) :].split(os.sep))
        reason = secret_reason(real_parts)
        if reason:
            return Refusal(f"{requested}: resolves to {'/'.join(real_parts)}; {reason}")
        return Path(real)

    def display(self, path: Path) -> str:
        """The repository-relative spelling of a resolved path."""
        relative = path.relative_to(self.root)
        return PurePosixPath(*relative.parts).as_posix() if relative.parts else "."

    def read_text(self, requested: object, limit: int) -> TextFile | Refusal:
        """Up to `limit` bytes of a regular text file, or why it is refused."""
        resolved = self.resolve(requested)
        if isinstance(resolved, Refusal):
            return resolved
        read = _read_regular(resolved, limit)
        if isinstance(read, str):
            return Refusal(f"{requested}: {read}")
        data, size = read
        if is_binary(data):
            return Refusal(f"{requested}: binary file; only text files can be read")
        text = data.decode("utf-8", errors="replace")
        return TextFile(self.display(resolved), text, size, truncated=size > limit)


@dataclass(frozen=True)
class TextFile:
    path: str
    text: str
    size: int
    truncated: bool


def _read_regular(path: Path, limit: int) -> tuple[bytes, int] | str:
    """(first `limit` bytes, size) of a regular file, or why not.

    One open and one fstat instead of exists/is_file/stat/open; O_NONBLOCK so that a FIFO
    planted in the checkout is refused instead of blocking the open."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return "no such file in the repository"
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            return "not a regular file (use list_directory for folders)"
        chunks, wanted = [], limit
        while wanted > 0 and (chunk := os.read(descriptor, wanted)):  # a read may be short
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks), status.st_size
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    finally:
        os.close(descriptor)


def is_binary(data: bytes) -> bool:
    """Git's own rule: a NUL byte early in the file means binary."""
    return b"\x00" in data[:BINARY_SNIFF_BYTES]
