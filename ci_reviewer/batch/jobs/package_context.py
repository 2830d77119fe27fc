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

Only a file that imports one of the shared modules reads them: a file of the directory whose
imports share nothing with them (a shared module itself, a script importing other things) is
sent its own message alone, with its own imports. Kept in the group it would pay a cache read
(0.1x) of modules it never uses and ask the model to look past them; alone it pays nothing for
them. Whether a file reads is judged on the first `SCAN_BYTES` the directory was worked out
from for a file scanned, on its whole content for another: from the checkout alone, so it is
the same answer wherever the request is built; the files of the directory
known not to read (a scanned file that imports none, a file that is no source:
`DirectoryShare.may_read`) are left out of the group's count of readers, which decides
whether its prefix is worth a breakpoint (`caching.py`). A source file past the first
`SCANNED` is counted as a reader unread: reading every file of a large directory once more,
in every worker, to count them would cost more than an estimate that errs where readers are
many anyway.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from ci_reviewer.batch.caching import MessageParts, group_of
from ci_reviewer.batch.jobs.context import IMPORTS_TOTAL_CHARS, ImportedFile, RepositoryContext

SCANNED = 64
SCAN_BYTES = 16384
KEPT = 16
_SOURCE_SUFFIXES = (".py", ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx")


@dataclass(frozen=True)
class DirectoryShare:
    """What one directory shares: the modules, and of the files scanned to find them, those
    that import one of them (`readers`) and those that do not (`outsiders`)."""

    modules: tuple[ImportedFile, ...]
    readers: frozenset[str]
    outsiders: frozenset[str]
    # The modules' text as sent, and their paths (which a file's own part leaves out): made
    # once per directory, not per file.
    text: str = ""
    paths: frozenset[str] = frozenset()

    def may_read(self, path: str) -> bool:
        """Whether the file `path` of the directory may read the shared modules: known for
        the files scanned, assumed for other source files, never for a file of no source."""
        if not self.modules or path in self.outsiders:
            return False
        return path in self.readers or path.endswith(_SOURCE_SUFFIXES)


_NOTHING = DirectoryShare((), frozenset(), frozenset())


class PackageContext:
    """The shared imports of each directory of a checkout (worked out lazily, once)."""

    def __init__(self, repository: RepositoryContext) -> None:
        self.repository = repository
        self._shared: OrderedDict[str, DirectoryShare] = OrderedDict()

    @cached_property
    def _sources(self) -> dict[str, list[str]]:
        by_directory: dict[str, list[str]] = {}
        for path in self.repository.tracked:
            if path.endswith(_SOURCE_SUFFIXES):
                by_directory.setdefault(group_of(path), []).append(path)
        return by_directory

    def shared_of(self, path: str) -> DirectoryShare:
        """What the files of `path`'s directory share (never `path` itself's choice: the
        same for every file there)."""
        directory = group_of(path)
        found = self._shared.get(directory)
        if found is None:
            found = self._shared[directory] = self._work_out(directory)
            if len(self._shared) > KEPT:
                self._shared.popitem(last=False)
        else:
            self._shared.move_to_end(directory)
        return found

    def message_parts(
        self, path: str, text: str, own: Callable[[frozenset[str]], str]
    ) -> MessageParts:
        """The message about `path` (whose content is `text`) shared-first: its directory's
        shared modules, then what `own` writes for the file alone, told which modules are
        shared already (so it does not attach them twice). A file that imports none of the
        shared modules is sent its own part alone."""
        share = self.shared_of(path)
        group = group_of(path)
        if not self._reads(path, text, share):
            return MessageParts(group, "", own(frozenset()), share.may_read)
        return MessageParts(group, share.text, own(share.paths), share.may_read)

    def _reads(self, path: str, text: str, share: DirectoryShare) -> bool:
        if not share.may_read(path):
            return False
        if path in share.readers:
            return True
        # Not among the files scanned (a directory of more than SCANNED): judged on its
        # imports, the ones its own part is then built from (parsed once).
        return any(p in share.paths for p in self.repository.imported_paths(path, text))

    def _work_out(self, directory: str) -> DirectoryShare:
        counts: Counter[str] = Counter()
        index = self.repository.index
        imported: dict[str, frozenset[str]] = {}
        for member in sorted(self._sources.get(directory, ()))[:SCANNED]:
            try:
                with (self.repository.workdir / member).open("rb") as handle:
                    text = handle.read(SCAN_BYTES).decode("utf-8", "replace")
            except OSError:
                continue
            imported[member] = frozenset(index.imports_of(member, text))
            counts.update(imported[member])
        wanted = sorted(
            (path for path, n in counts.items() if n >= 2), key=lambda p: (-counts[p], p)
        )
        modules = self.repository.attached(wanted, IMPORTS_TOTAL_CHARS)
        if not modules:
            return _NOTHING
        shared = frozenset(i.path for i in modules)
        readers = frozenset(m for m, paths in imported.items() if not shared.isdisjoint(paths))
        text = render_shared(directory, modules)
        return DirectoryShare(modules, readers, frozenset(imported) - readers, text, shared)


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
