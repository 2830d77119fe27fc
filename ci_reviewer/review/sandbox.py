"""The read-only sandbox around the checkout: every path the model asks for is resolved for
real before a byte is read.

Refused, with a one-line reason the model can read (never an exception, never a byte from
outside the checkout): absolute paths, `..`, symlinks whose target leaves the checkout, `.git`,
what the secret policy withholds (`ci_reviewer.secret_policy`: `.env` files, keys, credential
files and stores by name; private key blocks and known token formats by content), and binary
files. The rules apply to the path as asked and to the path it resolves to, so a symlink
inside the checkout cannot lead to `.git/config` or `.env` either.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ci_reviewer.git import GitResult, run_git
from ci_reviewer.secret_policy import SecretPolicy

BINARY_SNIFF_BYTES = 8000
# The repository's internals: refused whatever the secret policy allows.
_INTERNAL = ".git"
# A file searched for secrets before search_code shows a line of it is read this far.
MAX_SCANNED_BYTES = 8_000_000


@dataclass(frozen=True)
class Refusal:
    """Why a path was refused; becomes a tool_result with is_error."""

    reason: str


def withheld(reason: str) -> str:
    """How a refusal under the secret policy reads (the rule, never the secret)."""
    return f"{reason} (secret policy); never read"


class Sandbox:
    """Resolves repository paths inside `root`, refusing everything listed above."""

    def __init__(self, root: Path, policy: SecretPolicy | None = None) -> None:
        self.root = Path(os.path.realpath(root))
        self.policy = policy or SecretPolicy()
        self._root = str(self.root)
        self._inside = os.path.join(self._root, "")

    def name_refusal(self, parts: tuple[str, ...]) -> str | None:
        """Why a repository path must not be shown by its name alone, if it must not."""
        for part in parts:
            if part.lower() == _INTERNAL:
                return f"{part}/ is off limits (repository internals)"
        reason = self.policy.name_reason("/".join(parts)) if parts else None
        return withheld(reason) if reason else None

    def content_refusal(self, path: str, data: bytes) -> str | None:
        """Why content read from `path` must not be shown, if it must not."""
        reason = self.policy.content_reason(path, data)
        return withheld(reason) if reason else None

    def secret_in(self, requested: str) -> str | None:
        """Why a file must not be shown, by its name or its content, if it must not;
        unreadable files are not this check's concern (a read refuses them)."""
        resolved = self.resolve(requested)
        if isinstance(resolved, Refusal):
            return resolved.reason
        read = _read_regular(resolved, MAX_SCANNED_BYTES)
        if isinstance(read, str):
            return None
        return self.content_refusal(self.display(resolved), read[0])

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
        reason = self.name_refusal(parts)
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
        reason = self.name_refusal(real_parts)
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
        secret = self.content_refusal(self.display(resolved), data)
        if secret:
            return Refusal(f"{requested}: {secret}")
        text = data.decode("utf-8", errors="replace")
        return TextFile(self.display(resolved), text, size, truncated=size > limit)

    def children(self, requested: object) -> tuple[str, list[tuple[str, bool]]] | Refusal:
        """(the folder's path, [(name, is a folder)]) of a folder, or why it is refused;
        names the policy must not show are the caller's to hide."""
        resolved = self.resolve(requested)
        if isinstance(resolved, Refusal):
            return resolved
        if not resolved.is_dir():
            return Refusal(f"{requested}: not a directory")
        listed = sorted(resolved.iterdir(), key=lambda item: item.name)
        return self.display(resolved), [(child.name, child.is_dir()) for child in listed]

    def grep(self, options: list[str], scope: list[str]) -> GitResult | Refusal:
        """`git grep options -- scope` over the checkout's tracked files."""
        return run_git(self.root, [*options, *scope], check=False)


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
