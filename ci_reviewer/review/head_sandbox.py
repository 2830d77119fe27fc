"""The sandbox over the pull request's head when the checkout does not hold it.

Same rules as the working-tree `Sandbox` (no path outside the checkout, no `.git`, the
secret policy by name and by content, text only), applied to the path as asked and to the
path it resolves to at the head; the bytes come from `HeadFiles`: the head commit's git
objects (`CommitTree`) or, when they cannot be fetched, GitHub's contents API at the head
SHA. A file that cannot be read at the head says so; the base's version is never shown in
its place (`read_base_file` is how the model asks for that).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ci_reviewer.git import GitResult
from ci_reviewer.review.sandbox import MAX_SCANNED_BYTES, Refusal, Sandbox, TextFile, is_binary
from ci_reviewer.secret_policy import SecretPolicy


class ReadFile(Protocol):
    """A file read at the head: its resolved path, its first bytes, its whole size."""

    @property
    def path(self) -> str: ...

    @property
    def data(self) -> bytes: ...

    @property
    def size(self) -> int: ...


class HeadFiles(Protocol):
    """Where the head's files are read from; every failure is a reason the model reads."""

    sha: str
    # One line for the run's log: what the review reads and why.
    note: str

    def read(self, parts: tuple[str, ...], limit: int) -> ReadFile | str: ...

    def children(self, parts: tuple[str, ...]) -> tuple[str, list[tuple[str, bool]]] | str: ...

    def grep(self, options: list[str], scope: list[str]) -> GitResult | str: ...

    def is_link(self, path: str) -> bool: ...


class HeadSandbox(Sandbox):
    """`Sandbox` whose reads, listings and searches are of the head in `files`."""

    def __init__(self, root: Path, files: HeadFiles, policy: SecretPolicy | None = None) -> None:
        super().__init__(root, policy)
        self.files = files

    def resolve(self, requested: object) -> Path | Refusal:
        """The working tree is not the head: nothing is resolved there (reads, listings
        and searches go through `files`)."""
        return Refusal(f"{requested}: the checkout does not hold the pull request's head")

    def _read(self, requested: object, limit: int) -> ReadFile | Refusal:
        parts = self.relative_parts(requested)
        if isinstance(parts, Refusal):
            return parts
        read = self.files.read(parts, limit)
        if isinstance(read, str):
            return Refusal(f"{requested}: {read}")
        real = tuple(read.path.split("/"))
        reason = self.name_refusal(real)
        if reason:
            return Refusal(f"{requested}: resolves to {read.path}; {reason}")
        return read

    def read_text(self, requested: object, limit: int) -> TextFile | Refusal:
        read = self._read(requested, limit)
        if isinstance(read, Refusal):
            return read
        if is_binary(read.data):
            return Refusal(f"{requested}: binary file; only text files can be read")
        secret = self.content_refusal(read.path, read.data)
        if secret:
            return Refusal(f"{requested}: {secret}")
        text = read.data.decode("utf-8", errors="replace")
        return TextFile(read.path, text, read.size, truncated=read.size > limit)

    def secret_in(self, requested: str) -> str | None:
        read = self._read(requested, MAX_SCANNED_BYTES)
        if isinstance(read, Refusal):
            # A line of a file that cannot be read at the head is not shown either.
            return read.reason
        return self.content_refusal(read.path, read.data)

    def children(self, requested: object) -> tuple[str, list[tuple[str, bool]]] | Refusal:
        parts = self.relative_parts(requested)
        if isinstance(parts, Refusal):
            return parts
        listed = self.files.children(parts)
        if isinstance(listed, str):
            return Refusal(f"{requested}: {listed}")
        base = listed[0]
        reason = self.name_refusal(tuple(base.split("/"))) if base != "." else None
        if reason:
            return Refusal(f"{requested}: resolves to {base}; {reason}")
        return listed

    def grep(self, options: list[str], scope: list[str]) -> GitResult | Refusal:
        done = self.files.grep(options, scope)
        return Refusal(done) if isinstance(done, str) else done
