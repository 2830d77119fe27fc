"""The GitHub emulator's object store: a real git repository driven with plumbing commands.

Reads (blobs, trees, commits, diffs) and writes (hash-object, mktree, commit-tree,
update-ref) never touch the working tree, so a test's checkout stays as the test left it
while the branches the product pushes through the API become real, inspectable commits.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class GitError(Exception):
    """A git command failed; the emulator turns this into a 404 or 422."""


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    date: str  # ISO 8601, UTC


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author: Person
    committer: Person
    message: str


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    type: str
    sha: str
    path: str
    size: int | None = None


@dataclass(frozen=True)
class FileChange:
    """One file of a diff, with the unified patch GitHub shows (hunks only, no headers)."""

    filename: str
    status: str  # added | removed | modified | renamed
    additions: int
    deletions: int
    patch: str
    sha: str | None
    previous_filename: str | None = None


_STATUS = {"A": "added", "D": "removed", "M": "modified", "R": "renamed", "T": "changed"}


class GitStore:
    """Plumbing access to one repository; callers serialise writes with their own lock."""

    def __init__(self, repo_dir: Path) -> None:
        self.repo_dir = Path(repo_dir)

    def run(self, *args: str, stdin: bytes | None = None) -> bytes:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
        proc = subprocess.run(
            ["git", "-C", str(self.repo_dir), *args],
            input=stdin,
            capture_output=True,
            env=env,
            check=False,
        )
        if proc.returncode != 0:
            raise GitError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace').strip()}")
        return proc.stdout

    def text(self, *args: str, stdin: bytes | None = None) -> str:
        return self.run(*args, stdin=stdin).decode().strip()

    # -- reading -------------------------------------------------------------------------
    def resolve(self, ref: str, kind: str = "commit") -> str | None:
        """The sha `ref` names (branch, tag, sha or full ref), or None."""
        for candidate in (f"refs/heads/{ref}", f"refs/tags/{ref}", ref):
            try:
                return self.text("rev-parse", "--verify", "--quiet", f"{candidate}^{{{kind}}}")
            except GitError:
                continue
        return None

    def object_type(self, sha: str) -> str | None:
        try:
            return self.text("cat-file", "-t", sha)
        except GitError:
            return None

    def read_object(self, sha: str) -> bytes:
        kind = self.object_type(sha)
        if kind is None:
            raise GitError(f"no object {sha}")
        return self.run("cat-file", kind, sha)

    def commit(self, sha: str) -> CommitInfo:
        fmt = "%H%n%T%n%P%n%an%n%ae%n%aI%n%cn%n%ce%n%cI%n%B"
        out = self.run("show", "-s", f"--format={fmt}", "--no-show-signature", sha).decode()
        lines = out.split("\n")
        return CommitInfo(
            sha=lines[0],
            tree=lines[1],
            parents=tuple(lines[2].split()),
            author=Person(lines[3], lines[4], _utc(lines[5])),
            committer=Person(lines[6], lines[7], _utc(lines[8])),
            message="\n".join(lines[9:]).rstrip("\n"),
        )

    def tree(self, tree_sha: str, recursive: bool = False) -> list[TreeEntry]:
        args = ["ls-tree", "-l", "-z", *(["-r", "-t"] if recursive else []), tree_sha]
        entries = []
        for record in self.run(*args).decode().split("\0"):
            if not record:
                continue
            meta, path = record.split("\t", 1)
            mode, kind, sha, size = meta.split()
            entries.append(TreeEntry(mode, kind, sha, path, None if size == "-" else int(size)))
        return entries

    def entry_at(self, commit_sha: str, path: str) -> TreeEntry | None:
        """The tree entry at `path` in `commit_sha`, or None if absent."""
        path = path.strip("/")
        if not path:
            return TreeEntry("040000", "tree", self.commit(commit_sha).tree, "")
        found = self.run("ls-tree", "-l", "-z", commit_sha, "--", path).decode().split("\0")
        for record in found:
            if record:
                meta, name = record.split("\t", 1)
                mode, kind, sha, size = meta.split()
                if name == path:
                    return TreeEntry(mode, kind, sha, name, None if size == "-" else int(size))
        return None

    def refs(self, prefix: str = "refs/") -> dict[str, str]:
        out = self.text("for-each-ref", "--format=%(refname) %(objectname)", prefix)
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def merge_base(self, a: str, b: str) -> str | None:
        try:
            return self.text("merge-base", a, b) or None
        except GitError:
            return None

    def commits_between(self, base: str, head: str) -> list[str]:
        """Commits reachable from head but not base, oldest first (`git log base..head`)."""
        out = self.text("rev-list", "--reverse", "--topo-order", f"{base}..{head}")
        return out.split()

    def diff(self, base: str, head: str) -> list[FileChange]:
        """The diff GitHub shows for base...head: from their merge base to head."""
        start = self.merge_base(base, head) or EMPTY_TREE
        raw = self.run("diff", "--raw", "-z", "-M", "--no-abbrev", start, head).decode()
        numstat = self.run("diff", "--numstat", "-z", "-M", start, head).decode()
        counts = _parse_numstat(numstat)
        patches = self._patches(start, head)
        changes = []
        fields = raw.split("\0")
        i = 0
        while i < len(fields) - 1:
            meta = fields[i].lstrip(":").split()
            status = meta[4][0]
            new_sha = meta[3]
            if status in "RC":
                old_path, path = fields[i + 1], fields[i + 2]
                i += 3
            else:
                old_path, path = fields[i + 1], fields[i + 1]
                i += 2
            adds, dels = counts.get(path, (0, 0))
            patch = patches.get(path, "")
            changes.append(
                FileChange(
                    filename=path,
                    status=_STATUS.get(status, "modified"),
                    additions=adds,
                    deletions=dels,
                    patch=patch,
                    sha=None if status == "D" else new_sha,
                    previous_filename=old_path if status == "R" else None,
                )
            )
        return changes

    def _patches(self, start: str, head: str) -> dict[str, str]:
        """Each file's hunks, from one `git diff` (one call, not one per file: PRs can
        touch thousands of files)."""
        out = self.run("diff", "-M", "--no-color", "--no-prefix", start, head).decode(
            errors="replace"
        )
        patches: dict[str, str] = {}
        for section in re.split(r"^diff --git ", out, flags=re.MULTILINE)[1:]:
            header, _, body = section.partition("\n@@")
            path = _section_path(header)
            if path is not None:
                patches[path] = ("@@" + body).rstrip("\n") if body else ""
        return patches

    # -- writing -------------------------------------------------------------------------
    def hash_blob(self, content: bytes) -> str:
        return self.text("hash-object", "-w", "--stdin", stdin=content)

    def mktree(self, entries: list[TreeEntry]) -> str:
        lines = "".join(f"{e.mode} {e.type} {e.sha}\t{e.path}\0" for e in entries)
        return self.text("mktree", "-z", "--missing", stdin=lines.encode())

    def tree_with(self, base_tree: str | None, changes: dict[str, TreeEntry | None]) -> str:
        """A new tree: `base_tree` with each path set to its entry (None deletes it)."""
        current = {e.path: e for e in self.tree(base_tree)} if base_tree else {}
        nested: dict[str, dict[str, TreeEntry | None]] = {}
        for path, entry in changes.items():
            head, _, rest = path.strip("/").partition("/")
            if rest:
                nested.setdefault(head, {})[rest] = entry
            elif entry is None:
                current.pop(head, None)
            else:
                current[head] = TreeEntry(entry.mode, entry.type, entry.sha, head)
        for name, sub in nested.items():
            existing = current.get(name)
            sub_base = existing.sha if existing and existing.type == "tree" else None
            sub_tree = self.tree_with(sub_base, sub)
            if sub_tree == EMPTY_TREE:
                current.pop(name, None)
            else:
                current[name] = TreeEntry("040000", "tree", sub_tree, name)
        return self.mktree(list(current.values()))

    def commit_tree(
        self, tree: str, parents: list[str], message: str, author: Person, committer: Person
    ) -> str:
        args = ["commit-tree", tree, *[a for p in parents for a in ("-p", p)]]
        env = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_AUTHOR_DATE": author.date,
            "GIT_COMMITTER_NAME": committer.name,
            "GIT_COMMITTER_EMAIL": committer.email,
            "GIT_COMMITTER_DATE": committer.date,
        }
        proc = subprocess.run(
            ["git", "-C", str(self.repo_dir), *args],
            input=message.encode(),
            capture_output=True,
            env={**os.environ, **env},
            check=False,
        )
        if proc.returncode != 0:
            raise GitError(proc.stderr.decode(errors="replace").strip())
        return proc.stdout.decode().strip()

    def update_ref(self, ref: str, new: str, old: str | None = None) -> None:
        self.run("update-ref", ref, new, *([old] if old else []))

    def delete_ref(self, ref: str) -> None:
        self.run("update-ref", "-d", ref)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        try:
            self.run("merge-base", "--is-ancestor", ancestor, descendant)
        except GitError:
            return False
        return True


def _parse_numstat(out: str) -> dict[str, tuple[int, int]]:
    counts: dict[str, tuple[int, int]] = {}
    fields = out.split("\0")
    i = 0
    while i < len(fields) - 1:
        adds, dels, path = fields[i].split("\t", 2)
        if path == "":  # a rename: the old and new names follow as separate fields
            path = fields[i + 2]
            i += 3
        else:
            i += 1
        counts[path] = (int(adds) if adds != "-" else 0, int(dels) if dels != "-" else 0)
    return counts


def _section_path(header: str) -> str | None:
    """The new path of one `diff --git` section (from its +++ line, or rename/mode lines)."""
    for line in header.split("\n"):
        if line.startswith("+++ ") and line != "+++ /dev/null":
            return line[4:]
        if line.startswith("rename to "):
            return line[len("rename to ") :]
    for line in header.split("\n"):
        if line.startswith("--- ") and line != "--- /dev/null":
            return line[4:]
    first = header.split("\n", 1)[0].split(" ")
    return first[-1] if first else None


def _utc(iso: str) -> str:
    """git's ISO date with offset -> GitHub's `2024-01-01T00:00:00Z` form."""
    moment = datetime.fromisoformat(iso).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
