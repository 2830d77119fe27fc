"""Which files a job works on: tracked files at HEAD, narrowed by `since` and the job's path
filters, with binary, huge, vendored and generated files skipped and counted.

Files are yielded one at a time (paths come from one streamed `git ls-tree`, the content from
the checkout), so the repository is never held in memory. What the secret policy withholds
(`ci_reviewer.secret_policy`) and what is noise (`ci_reviewer.batch.noise`: lockfiles,
snapshots, generated code...) are skipped and counted like the rest, with their bytes: by
name with the names, by content when the content is read. The decision comes in two parts:
`candidates` judges names and modes (cheap, in the listing's order), `CommittedContent.load`
what needs the content, so the second can run in worker processes (`assemble.py`). The
checkout's copy of a file is used only when git says it does not differ from the collected
commit (one `git diff` for the whole tree); any other file is read from git's object store.
This is the hot path of a large first run, so each file costs one open, one fstat and one
read, and its bytes are decoded once.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from ci_reviewer.batch.noise import COMMON, NoisePolicy
from ci_reviewer.batch.path_scope import PathScope
from ci_reviewer.errors import InputError
from ci_reviewer.git import GitError, run_git
from ci_reviewer.globs import PathFilter
from ci_reviewer.secret_policy import SecretPolicy
from ci_reviewer.shallow import ensure_commit, ensure_window

# git's own binary heuristic looks for a NUL byte in the first 8000 bytes.
_BINARY_PROBE = 8000
_WINDOW = re.compile(r"^([1-9][0-9]*)([hd])$")
_CHUNK = 1 << 16

Progress = Callable[[int, str], None]


class SourceFile(NamedTuple):
    """One file to work on: its path, git blob sha at the collected commit, and text.
    (A NamedTuple rather than a frozen dataclass: one is made per file of a large first
    run, and a tuple is built in a third of the time.)"""

    path: str
    blob_sha: str
    text: str


@dataclass
class CollectStats:
    """What collection saw and skipped (reason -> count, and reason -> bytes: what the
    skipped files weigh); filled while files stream."""

    commit: str = ""
    considered: int = 0
    selected: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_bytes: Counter[str] = field(default_factory=Counter)

    def skip(self, reason: str, size: int) -> None:
        self.skipped[reason] += 1
        self.skipped_bytes[reason] += size


def head_commit(workdir: Path) -> str:
    return run_git(workdir, ["rev-parse", "--verify", "HEAD^{commit}"]).text.strip()


def window(since: str) -> timedelta | None:
    """The time window of `since` (24h, 7d), or None for last-run and all."""
    match = _WINDOW.match(since)
    if match is None:
        return None
    amount, unit = int(match.group(1)), match.group(2)
    return timedelta(hours=amount) if unit == "h" else timedelta(days=amount)


def changed_paths(
    workdir: Path,
    since: str,
    last_commit: str | None,
    head: str,
    now: datetime,
    *,
    fetch: bool = True,
) -> set[str] | None:
    """Paths changed for `since`, or None meaning every tracked file. A shallow checkout
    is first given the history that needs (fetched from origin; `fetch=False`, as in a dry
    run, refuses instead)."""
    span = window(since)
    if span is not None:
        after = now - span
        ensure_window(workdir, head, after, fetch=fetch)
        out = run_git(
            workdir,
            ["log", f"--since={after.isoformat()}", "--name-only", "-z", "--format=", head],
        ).stdout
        return {p.strip("\n") for p in out.decode("utf-8", "surrogateescape").split("\0") if p}
    if since == "all" or last_commit is None:
        return None
    if last_commit == head:
        return set()
    if not ensure_commit(workdir, last_commit, fetch=fetch):
        raise InputError(
            f"the last collected commit {last_commit[:12]} is not in the checkout",
            hint="check out with full history (actions/checkout with fetch-depth: 0), "
            "or set `since: 7d` for this job",
        )
    out = run_git(
        workdir,
        ["diff", "--name-only", "-z", "--no-renames", "--diff-filter=d", last_commit, head],
    ).stdout
    return {p for p in out.decode("utf-8", "surrogateescape").split("\0") if p}


@dataclass(frozen=True)
class FileSelection:
    """The rules that decide whether one tracked file is worked on."""

    paths: PathFilter
    max_file_bytes: int
    skip_generated: bool
    policy: SecretPolicy = field(default_factory=SecretPolicy)
    noise: NoisePolicy = field(default_factory=lambda: NoisePolicy(COMMON))
    scope: PathScope = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The filter is asked once per tracked file: compile it once per selection.
        object.__setattr__(self, "scope", PathScope.of(self.paths))


def candidates(
    workdir: Path,
    *,
    commit: str,
    selection: FileSelection,
    only: set[str] | None,
    stats: CollectStats,
    progress: Progress | None = None,
) -> Iterator[tuple[str, str, int]]:
    """(path, blob sha, size) of each file of `commit` that its name and mode allow; what is
    left to decide needs the content (`CommittedContent.load`). Counts what it skips."""
    stats.commit = commit
    command = ["git", "-C", str(workdir), "ls-tree", "-r", "-z", "-l", "--full-tree", commit]
    reason_by_name = _by_name(selection)
    skip = stats.skip
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as git:
        assert git.stdout is not None
        for record in _records(git.stdout):
            meta, _, path = record.partition("\t")
            if only is not None and path not in only:
                continue
            stats.considered += 1
            if progress is not None and stats.considered % 1000 == 0:
                progress(stats.considered, path)
            mode, kind, sha, size = meta.split()
            bytes_ = int(size) if size.isdigit() else 0  # "-" for a submodule
            reason = _skip_by_metadata(mode, kind, path) or reason_by_name(path)
            if reason is None:
                yield path, sha, bytes_
            else:
                skip(reason, bytes_)
    if git.returncode not in (0, None, -13):
        raise GitError(f"`git ls-tree {commit}` failed in {workdir}")


def _by_name(selection: FileSelection) -> Callable[[str], str | None]:
    """The reason a path's name rules it out: outside the job's include/exclude, a secret,
    noise, then the default skips (vendored trees, build output), which spare what the
    job's noise config sends on purpose."""
    scope, secret, noise = selection.scope, selection.policy.name_reason, selection.noise

    def reason(path: str) -> str | None:
        outside = scope.outside(path)
        if outside is not None:
            return outside
        found = secret(path)
        if found is not None:
            return found
        found, anyway = noise.judge_name(path)
        if found is not None or anyway:
            return found
        return scope.default_reason(path)

    return reason


def _records(stream: object) -> Iterator[str]:
    """NUL-separated records of a byte stream, read in chunks; each chunk's complete records
    are decoded at once."""
    read = stream.read  # type: ignore[attr-defined]
    pending = b""
    while chunk := read(_CHUNK):
        pending += chunk
        end = pending.rfind(b"\0")
        if end == -1:
            continue
        yield from pending[:end].decode("utf-8", "surrogateescape").split("\0")
        pending = pending[end + 1 :]
    if pending:
        yield pending.decode("utf-8", "surrogateescape")


def _differing(workdir: Path, commit: str) -> frozenset[str]:
    """Paths whose checkout copy is not the committed content (edited, staged, deleted)."""
    out = run_git(workdir, ["diff", "--name-only", "--no-renames", "-z", commit, "--"]).stdout
    return frozenset(p for p in out.decode("utf-8", "surrogateescape").split("\0") if p)


_TOO_LARGE = "larger than max_file_bytes"


class CommittedContent:
    """Reads committed content: from the checkout for paths git says are unchanged, else
    from the object store. Returns the bytes, or the reason to skip the file."""

    def __init__(
        self,
        workdir: Path,
        differing: frozenset[str],
        max_bytes: int,
        policy: SecretPolicy | None = None,
        noise: NoisePolicy | None = None,
    ) -> None:
        self._root = os.path.join(str(workdir), "")  # with its separator: paths are appended
        self._workdir = workdir
        self._differing = differing
        self._max = max_bytes
        self._secret = (policy or SecretPolicy()).content_reason
        self._noise = (noise or NoisePolicy(COMMON)).content_reason

    @classmethod
    def of(
        cls,
        workdir: Path,
        commit: str,
        max_bytes: int,
        policy: SecretPolicy | None = None,
        noise: NoisePolicy | None = None,
    ) -> CommittedContent:
        return cls(workdir, _differing(workdir, commit), max_bytes, policy, noise)

    def source(self, path: str, sha: str) -> SourceFile:
        """A file collected earlier, read again exactly as it was (to send its request).
        Raises ValueError when it no longer reads as the same text file."""
        data = self.read(path, sha)
        if isinstance(data, str):
            raise ValueError(f"{path} is now {data}")
        return SourceFile(path, sha, data.decode("utf-8"))

    def load(self, path: str, sha: str) -> SourceFile | str:
        """The file as text, or the reason its content rules it out (binary, empty, too
        large, a secret, noise such as generated code). This is the per-file hot path of a
        large first run: the secret scan runs over the bytes just read."""
        data = self.read(path, sha)
        if isinstance(data, str):
            return data
        text = _text(data)
        if text is None:
            return "binary"
        if not text:
            return "empty"
        secret = self._secret(path, data)
        if secret is not None:
            return secret
        noise = self._noise(path, data, text)
        if noise is not None:
            return noise
        return SourceFile(path, sha, text)

    def read(self, path: str, sha: str) -> bytes | str:
        if path in self._differing:
            return self._from_store(sha)
        try:
            descriptor = os.open(self._root + path, _READ_FLAGS)
        except OSError:
            return self._from_store(sha)
        try:
            size = os.fstat(descriptor).st_size
            if size > self._max:
                return _TOO_LARGE
            data = os.read(descriptor, size + 1)
        finally:
            os.close(descriptor)
        # A file that changed under us is read from the store rather than half-trusted.
        return data if len(data) == size else self._from_store(sha)

    def _from_store(self, sha: str) -> bytes | str:
        data = read_blob(self._workdir, sha)
        return _TOO_LARGE if len(data) > self._max else data


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)


def _text(data: bytes) -> str | None:
    """The content as text, or None when it is binary (a NUL early on, or not UTF-8)."""
    if data.find(b"\0", 0, _BINARY_PROBE) != -1:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _skip_by_metadata(mode: str, kind: str, path: str) -> str | None:
    if kind != "blob" or mode == "120000":
        return "submodule or symlink"
    if not path.isprintable() or (not path.isascii() and _not_utf8(path)):
        return "path is not printable UTF-8"
    return None


def _not_utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def read_blob(workdir: Path, sha: str) -> bytes:
    return run_git(workdir, ["cat-file", "blob", sha]).stdout


def blob_exists(workdir: Path, sha: str) -> bool:
    return run_git(workdir, ["cat-file", "-e", f"{sha}^{{blob}}"], check=False).returncode == 0
