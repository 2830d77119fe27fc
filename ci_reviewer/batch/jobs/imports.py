"""The local modules a file imports, resolved against the repository's tracked files.

A security audit or a test generation run asks this for every file of the run, so each ask
costs work in the file's own size only: the tracked files are indexed once per run
(`TrackedIndex`: a set of paths, and the test files by name), imports are found with one
regular-expression pass over the text (a parse of every module was most of a large run's
time) and resolved by set lookups.

The scan is deliberately generous: an `import` line inside a string is taken as one too.
That can only attach a tracked module the file names, bounded like any other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from ci_reviewer.batch.path_names import name, parent_parts

TEST_NAME = re.compile(
    r"(^|/)(test_[^/]+\.py|[^/]+_test\.(py|go)|[^/]+\.(test|spec)\.(js|jsx|ts|tsx|mjs))$"
)
# `from X import a, b` (names possibly in parentheses over several lines) or `import X, Y`,
# at the start of a line (indented too: an import inside a function or a try block).
# Matched only where a line holding "import" starts: a `^` pattern over the whole text
# tries every position, five times slower on a typical module.
_PY_IMPORT = re.compile(
    r"[ \t]*(?:from[ \t]+(\.*)[ \t]*([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)"
    r"|import[ \t]+([^\n#;]*))"
)
_JS_IMPORT = re.compile(
    r"""(?:from\s+|require\(\s*|import\s*\(\s*|import\s+)['"](\.{1,2}/[^'"]+)['"]"""
)
_JS_EXTENSIONS = (".ts", ".tsx", ".js", ".jsx", ".mjs", "/index.ts", "/index.js")


@dataclass(frozen=True)
class TrackedIndex:
    """The tracked files of a checkout, indexed once per run for the per-file lookups."""

    paths: frozenset[str]
    tests_by_name: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, tracked: Iterable[str]) -> TrackedIndex:
        paths = frozenset(tracked)
        by_name: dict[str, list[str]] = {}
        for path in sorted(paths):
            if TEST_NAME.search(path):
                by_name.setdefault(name(path), []).append(path)
        return cls(paths, {name: tuple(found) for name, found in by_name.items()})

    def tests_named(self, names: Iterable[str]) -> tuple[str, ...]:
        return tuple(sorted(p for name in names for p in self.tests_by_name.get(name, ())))

    def imports_of(self, path: str, text: str) -> list[str]:
        """The tracked files `path` imports, in the order they are named, without repeats
        and without `path` itself."""
        candidates = python_imports(path, text) if path.endswith(".py") else js_imports(path, text)
        found = [c for c in dict.fromkeys(candidates) if c in self.paths and c != path]
        return found


def python_imports(path: str, text: str) -> list[str]:
    """The files a Python module's imports may name (tracked or not)."""
    package = parent_parts(path)
    files: list[str] = []
    for dots, module, names, plain in _import_statements(text):
        if plain:
            for name in _names(plain):
                files += _module_files(name)
            continue
        base = ".".join(package[: len(package) - (len(dots) - 1)] if dots else ())
        full = ".".join(part for part in (base, module) if part)
        files += _module_files(full)
        for name in _names(names.strip("()")):
            files += _module_files(f"{full}.{name}" if full else name)
    return files


def _import_statements(text: str) -> Iterable[tuple[str, str, str, str]]:
    at = text.find("import")
    while at != -1:
        start = text.rfind("\n", 0, at) + 1
        found = _PY_IMPORT.match(text, start)
        end = text.find("\n", at)
        if found is not None:
            yield found.groups("")  # type: ignore[misc]
            end = max(end, found.end())
        if end == -1:
            return
        at = text.find("import", end)


def _names(listed: str) -> Iterable[str]:
    """`a, b as c, d.e` -> a, b, d.e (a `*` names no module)."""
    for item in listed.replace("\\\n", " ").split(","):
        name = item.split(" as ")[0].strip()
        if name.isidentifier() or (
            "." in name and all(part.isidentifier() for part in name.split("."))
        ):
            yield name


def _module_files(module: str) -> list[str]:
    if not module:
        return []
    stem = module.replace(".", "/")
    return [
        stem + ".py",
        stem + "/__init__.py",
        "src/" + stem + ".py",
        "src/" + stem + "/__init__.py",
    ]


def js_imports(path: str, text: str) -> list[str]:
    """The files a JS/TS module's relative imports may name."""
    folder = PurePosixPath(path).parent
    found: list[str] = []
    for spec in _JS_IMPORT.findall(text):
        joined = _normalise(folder / spec)
        if joined is None:
            continue
        found.append(joined)
        found += [joined + ext for ext in _JS_EXTENSIONS]
    return found


def _normalise(path: PurePosixPath) -> str | None:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)
