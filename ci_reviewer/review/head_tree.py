"""The pull request's head commit read from git objects, never from the working tree.

Under `pull_request_target` the checkout holds the base (the safe setup for fork PRs), and a
stale or merge checkout holds something else again; the model reviews the head's diff, so
the tools read the head's files here: `git ls-tree` walks the commit's trees, `git cat-file`
reads its blobs, `git grep <sha>` searches it. Nothing of the head is written to disk and
nothing of it runs.

A symlink in a git tree is a blob (mode 120000) holding its target; it is followed here as
`os.path.realpath` follows one on disk, inside the tree: a target that leaves the checkout
(`..` past the root, an absolute path elsewhere) is refused, as the working-tree sandbox
refuses it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ci_reviewer.git import GitResult, run_git

LINK_MODE = "120000"
# Linux's own bound on links followed while resolving one path (ELOOP past it).
MAX_LINKS = 40
ESCAPES = "a symlink leads outside the repository; refused"


@dataclass(frozen=True)
class Entry:
    """One name in a tree: `kind` is blob, tree or commit (a submodule)."""

    mode: str
    kind: str
    sha: str
    size: int

    @property
    def is_link(self) -> bool:
        return self.mode == LINK_MODE


@dataclass(frozen=True)
class HeadFile:
    """A file read at the head: its resolved path, its first bytes, its whole size."""

    path: str
    data: bytes
    size: int


ROOT = Entry("040000", "tree", "", 0)


class CommitTree:
    """The files of commit `sha` in the repository at `workdir` (objects already fetched)."""

    def __init__(self, workdir: Path, sha: str, note: str = "") -> None:
        self.workdir = workdir
        self.sha = sha
        self.note = note
        # The runner's path of the checkout: an absolute link target inside it stays inside.
        self._root = os.path.realpath(workdir)
        self._trees: dict[tuple[str, ...], dict[str, Entry] | None] = {}

    def listing(self, directory: tuple[str, ...]) -> dict[str, Entry] | None:
        """The entries of a directory given by its real (link-free) parts; None if not one."""
        if directory not in self._trees:
            spec = f"{self.sha}:{'/'.join(directory)}"
            done = run_git(self.workdir, ["ls-tree", "-z", "-l", spec], check=False)
            self._trees[directory] = _parse_tree(done.stdout) if done.returncode == 0 else None
        return self._trees[directory]

    def blob(self, entry: Entry) -> bytes | None:
        done = run_git(self.workdir, ["cat-file", "blob", entry.sha], check=False)
        return done.stdout if done.returncode == 0 else None

    def resolve(self, parts: tuple[str, ...]) -> tuple[tuple[str, ...], Entry | None] | str:
        """The real parts a path leads to and its entry (None: nothing there), following
        links; or why it is refused."""
        resolved: list[str] = []
        pending = list(parts)
        entry: Entry | None = ROOT
        links = 0
        while pending:
            name = pending.pop(0)
            if name in ("", "."):
                continue
            if name == "..":
                if not resolved:
                    return ESCAPES
                resolved.pop()
                entry = self._entry(tuple(resolved))
                continue
            listing = self.listing(tuple(resolved))
            entry = listing.get(name) if listing is not None else None
            if entry is None:
                return _lexical(resolved, [name, *pending])
            if not entry.is_link:
                resolved.append(name)
                continue
            links += 1
            target = self.blob(entry) if links <= MAX_LINKS else None
            if target is None:
                return "too many levels of symbolic links" if links > MAX_LINKS else ESCAPES
            inside = self._inside(target.decode("utf-8", "surrogateescape"))
            if inside is None:
                return ESCAPES
            if inside[0]:  # absolute: from the root again
                resolved = []
            pending = [*inside[1], *pending]
            entry = self._entry(tuple(resolved))
        return tuple(resolved), entry

    def _entry(self, parts: tuple[str, ...]) -> Entry | None:
        if not parts:
            return ROOT
        listing = self.listing(parts[:-1])
        return listing.get(parts[-1]) if listing is not None else None

    def _inside(self, target: str) -> tuple[bool, list[str]] | None:
        """(absolute?, parts) of a link target; None for an absolute one outside the checkout."""
        if not target.startswith("/"):
            return False, target.split("/")
        if target.rstrip("/") == self._root:
            return True, []
        if target.startswith(os.path.join(self._root, "")):
            return True, target[len(self._root) + 1 :].split("/")
        return None

    def read(self, parts: tuple[str, ...], limit: int) -> HeadFile | str:
        """The first `limit` bytes of the regular file at `parts`, or why not."""
        found = self.resolve(parts)
        if isinstance(found, str):
            return found
        real, entry = found
        if entry is None:
            return f"no such file at the pull request's head ({self.sha[:12]})"
        if entry.kind != "blob":
            return "not a regular file (use list_directory for folders)"
        data = self.blob(entry)
        if data is None:
            return f"cannot read it at the pull request's head ({self.sha[:12]}): git has no blob"
        return HeadFile("/".join(real), data[:limit], entry.size)

    def children(self, parts: tuple[str, ...]) -> tuple[str, list[tuple[str, bool]]] | str:
        """(resolved path, [(name, is a folder)]) of the directory at `parts`, or why not."""
        found = self.resolve(parts)
        if isinstance(found, str):
            return found
        real, entry = found
        listing = self.listing(real) if entry is not None and entry.kind == "tree" else None
        if listing is None:
            return "not a directory at the pull request's head"
        names = []
        for name, child in sorted(listing.items()):
            if child.is_link:  # a folder if it leads to one, as is_dir() follows links
                led = self.resolve((*real, name))
                is_dir = not isinstance(led, str) and led[1] is not None and led[1].kind == "tree"
            else:
                is_dir = child.kind == "tree"
            names.append((name, is_dir))
        return "/".join(real) or ".", names

    def is_link(self, path: str) -> bool:
        """Whether `path` itself (not a folder on the way) is a symlink at the head."""
        parts = tuple(path.split("/"))
        found = self.resolve(parts[:-1])
        if isinstance(found, str) or found[1] is None:
            return False
        listing = self.listing(found[0])
        entry = listing.get(parts[-1]) if listing is not None else None
        return entry is not None and entry.is_link

    def grep(self, options: list[str], scope: list[str]) -> GitResult:
        """`git grep` over the commit; its paths come back without the `<sha>:` prefix."""
        done = run_git(self.workdir, [*options, self.sha, *scope], check=False)
        prefix = f"{self.sha}:".encode()
        lines = [
            line[len(prefix) :] if line.startswith(prefix) else line
            for line in done.stdout.split(b"\n")
        ]
        return GitResult(done.returncode, b"\n".join(lines), done.stderr)


def _lexical(resolved: list[str], rest: list[str]) -> tuple[tuple[str, ...], None] | str:
    """A path that names nothing, normalized as realpath does past the first missing part."""
    out = list(resolved)
    for name in rest:
        if name in ("", "."):
            continue
        if name == "..":
            if not out:
                return ESCAPES
            out.pop()
        else:
            out.append(name)
    return tuple(out), None


def _parse_tree(raw: bytes) -> dict[str, Entry]:
    """`git ls-tree -z -l`: `<mode> <type> <sha> <size>\\t<name>` NUL-separated."""
    entries: dict[str, Entry] = {}
    for record in raw.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, kind, sha, size = meta.decode().split()
        entries[name.decode("utf-8", "surrogateescape")] = Entry(
            mode, kind, sha, int(size) if size.isdigit() else 0
        )
    return entries
