"""The context the files of one directory share: the local modules that two or more of its
source files import, sent once per request as the same bytes for every file of the directory,
so that it is one cached prefix (`batch/caching.py`) instead of a copy billed in full in
every request.

It depends on the checkout alone, never on which files a submission holds, so a request built
again when its batch is sent (or by another worker process) is byte for byte the one planned.
Each directory is worked out from at most `SCANNED` of its files and the first `SCAN_BYTES`
of each (imports open a module), so the work stays linear in the size of the repository; the
requests of a directory are planned and sent one after another (`assemble` keeps a group's
requests adjacent), so only the last `KEPT` directories' context is held, not every one's.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable
from functools import cached_property
from typing import NamedTuple

from ci_reviewer.batch.caching import MessageParts, group_of
from ci_reviewer.batch.jobs.context import IMPORTS_TOTAL_CHARS, ImportedFile, RepositoryContext

SCANNED = 64
SCAN_BYTES = 16384
KEPT = 16
_SOURCE_SUFFIXES = (".py", ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx")


class _Shared(NamedTuple):
    """One directory's shared modules, their text as sent, and their paths (which a file's
    own part leaves out): made once per directory, not per file."""

    modules: tuple[ImportedFile, ...]
    text: str
    paths: frozenset[str]


class PackageContext:
    """The shared imports of each directory of a checkout (worked out lazily, once)."""

    def __init__(self, repository: RepositoryContext) -> None:
        self.repository = repository
        self._shared: OrderedDict[str, _Shared] = OrderedDict()

    @cached_property
    def _sources(self) -> dict[str, list[str]]:
        by_directory: dict[str, list[str]] = {}
        for path in self.repository.tracked:
            if path.endswith(_SOURCE_SUFFIXES):
                by_directory.setdefault(group_of(path), []).append(path)
        return by_directory

    def shared_of(self, path: str) -> tuple[ImportedFile, ...]:
        """The modules shared by the files of `path`'s directory (never `path` itself's
        choice: the same tuple for every file there)."""
        return self._of(group_of(path)).modules

    def _of(self, directory: str) -> _Shared:
        found = self._shared.get(directory)
        if found is None:
            modules = self._work_out(directory)
            found = _Shared(
                modules, render_shared(directory, modules), frozenset(i.path for i in modules)
            )
            self._shared[directory] = found
            if len(self._shared) > KEPT:
                self._shared.popitem(last=False)
        else:
            self._shared.move_to_end(directory)
        return found

    def message_parts(self, path: str, own: Callable[[frozenset[str]], str]) -> MessageParts:
        """The message about `path` shared-first: its directory's shared modules, then what
        `own` writes for the file alone, told which modules are shared already (so it does
        not attach them twice)."""
        group = group_of(path)
        shared = self._of(group)
        return MessageParts(group, shared.text, own(shared.paths))

    def _work_out(self, directory: str) -> tuple[ImportedFile, ...]:
        counts: Counter[str] = Counter()
        index = self.repository.index
        for member in sorted(self._sources.get(directory, ()))[:SCANNED]:
            try:
                with (self.repository.workdir / member).open("rb") as handle:
                    text = handle.read(SCAN_BYTES).decode("utf-8", "replace")
            except OSError:
                continue
            counts.update(index.imports_of(member, text))
        wanted = sorted(
            (path for path, n in counts.items() if n >= 2), key=lambda p: (-counts[p], p)
        )
        return self.repository.attached(wanted, IMPORTS_TOTAL_CHARS)


def render_shared(directory: str, shared: tuple[ImportedFile, ...]) -> str:
    """The shared part of a request: the same text for every file of `directory`."""
    if not shared:
        return ""
    lines = [
        f"Modules that files of {directory or 'the repository root'} import, shown for "
        "context (the file in question follows):"
    ]
    for imported in shared:
        cut = " (cut)" if imported.truncated else ""
        lines += ["", f'<imported path="{imported.path}"{cut}>\n{imported.text}\n</imported>']
    return "\n".join(lines)
