"""The example test shown to the model for a source file: a real test from the repository's
test tree nearest the file (the same directory first, then each directory above it, never
above the file's project root), and for pytest the `conftest.py` fixtures that apply where
the generated test goes.

Never an example: a file under a fixtures, testdata, examples or docs folder (fixtures are
often broken on purpose, lint fixtures are not tests, a tutorial is not the suite's habit),
a file the noise rules skip (generated, minified, a test fixture that does not parse), or a
file the secret policy withholds.

The index is built once per run, in one pass over the tracked files: for every directory,
the few best test files below it, by how far below they sit. A lookup walks up from the
file's directory, so its cost is the depth of the path, not the size of the repository.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ci_reviewer.batch.noise import content_kind, name_kind

EXAMPLE_CHARS = 6000
FIXTURES_CHARS = 3000
_KEPT = 6  # candidates per directory: a few may be refused when read
_SUBSTANTIAL = 200  # bytes: a shorter test shows too little of the conventions
NOT_EXAMPLES = frozenset(
    {
        "fixtures",
        "fixture",
        "__fixtures__",
        "testdata",
        "test-data",
        "test_data",
        "examples",
        "example",
        "docs",
        "doc",
        "samples",
        "sample",
        "snapshots",
        "__snapshots__",
        "node_modules",
        "vendor",
    }
)
_JS_SUFFIXES = (".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts")
_JAVA_TEST = re.compile(r"^(?:Test\w*|\w+Tests?|\w+IT)\.java$")
_CONTENT_NOISE = frozenset({"generated", "minified", "broken-fixture"})

Reader = Callable[[str, int], str | None]


def test_family(path: str) -> str | None:
    """The language family of the test file at `path` (None: not a test file, or one that
    is never shown as an example)."""
    parts = path.split("/")
    folders, name = parts[:-1], parts[-1]
    if not NOT_EXAMPLES.isdisjoint(folder.lower() for folder in folders) or name_kind(path):
        return None
    rules = (
        (
            "python",
            name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")),
        ),
        ("go", name.endswith("_test.go")),
        ("rust", name.endswith(".rs") and "tests" in folders),
        ("java", "test" in folders and _JAVA_TEST.match(name) is not None),
        (
            "javascript",
            name.endswith(_JS_SUFFIXES)
            and (".test." in name or ".spec." in name or "__tests__" in folders),
        ),
    )
    return next((family for family, matched in rules if matched), None)


def ancestors(directory: str) -> list[str]:
    """`a/b/c` -> [a/b/c, a/b, a, ""] (the repository root is "")."""
    parts = directory.split("/") if directory else []
    return ["/".join(parts[:n]) for n in range(len(parts), -1, -1)]


def directory_of(path: str) -> str:
    return path.rpartition("/")[0]


def within(path: str, root: str) -> bool:
    return not root or path == root or path.startswith(root + "/")


class ExampleIndex:
    """The test files of a checkout, by family and by every directory above them."""

    def __init__(self, tracked: Iterable[str], size_of: Callable[[str], int]) -> None:
        self._best: dict[tuple[str, str], list[tuple[int, int, int, str]]] = {}
        for path in tracked:
            family = test_family(path)
            if family is None:
                continue
            size = size_of(path)
            rank = 0 if _SUBSTANTIAL <= size <= EXAMPLE_CHARS else 1 if size > 0 else 2
            # The shortest substantial test shows the conventions at the lowest cost.
            for up, folder in enumerate(ancestors(directory_of(path))):
                kept = self._best.setdefault((family, folder), [])
                bisect.insort(kept, (up, rank, size, path))
                del kept[_KEPT:]

    def candidates(self, family: str, source: str, root: str) -> Iterable[str]:
        """Test files nearest `source`, nearest first, within its project `root`."""
        for folder in ancestors(directory_of(source)):
            if not within(folder, root):
                return
            for *_, path in self._best.get((family, folder), ()):
                yield path


@dataclass(frozen=True)
class Example:
    path: str
    text: str
    truncated: bool


class ExamplePicker:
    """The first candidate that reads as a real test (cached per file and per directory)."""

    def __init__(self, index: ExampleIndex, read: Reader) -> None:
        self._index = index
        self._read = read
        self._usable: dict[str, Example | None] = {}
        self._chosen: dict[tuple[str, str, str], Example | None] = {}

    def nearest(self, family: str, source: str, root: str) -> Example | None:
        key = (family, directory_of(source), root)
        if key not in self._chosen:
            found = (self._usable_example(p) for p in self._index.candidates(family, *key[1:]))
            self._chosen[key] = next((e for e in found if e is not None), None)
        return self._chosen[key]

    def _usable_example(self, path: str) -> Example | None:
        if path not in self._usable:
            text = self._read(path, 200_000)
            usable = text is not None and text.strip() != ""
            if usable and text is not None:
                data = text.encode("utf-8", "replace")
                usable = content_kind(path, data, text, _CONTENT_NOISE) is None
            cut = text[:EXAMPLE_CHARS] if usable and text is not None else ""
            example = Example(path, cut, len(text or "") > EXAMPLE_CHARS) if usable else None
            self._usable[path] = example
        return self._usable[path]


# -- pytest fixtures from conftest.py --------------------------------------------------------


class ConftestFixtures:
    """The fixtures each tracked `conftest.py` defines (parsed once per run)."""

    def __init__(self, tracked: frozenset[str], read: Reader) -> None:
        self._tracked = tracked
        self._read = read
        self._parsed: dict[str, tuple[str, ...]] = {}

    def applying_at(self, test_path: str) -> list[tuple[str, tuple[str, ...]]]:
        """(conftest path, fixture lines) for each conftest.py on the way from the
        repository root to the test's directory, root first (pytest's own order)."""
        found = []
        for folder in reversed(ancestors(directory_of(test_path))):
            conftest = f"{folder}/conftest.py" if folder else "conftest.py"
            if conftest in self._tracked:
                fixtures = self._fixtures(conftest)
                if fixtures:
                    found.append((conftest, fixtures))
        return found

    def _fixtures(self, path: str) -> tuple[str, ...]:
        if path not in self._parsed:
            self._parsed[path] = tuple(fixtures_of(self._read(path, 200_000) or ""))
        return self._parsed[path]


def fixtures_of(text: str) -> list[str]:
    """`name(args)` (with scope, autouse and the first docstring line) for each function
    decorated as a pytest fixture in `text`; [] when it does not parse."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    lines = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            options = _fixture_options(decorator)
            if options is None:
                continue
            name = options.pop("name", node.name)
            args = ", ".join(a.arg for a in [*node.args.posonlyargs, *node.args.args])
            extra = "".join(f", {k}={v}" for k, v in sorted(options.items()))
            doc = (ast.get_docstring(node) or "").strip().splitlines()
            lines.append(f"{name}({args}){f' [{extra[2:]}]' if extra else ''}")
            if doc:
                lines[-1] += f": {doc[0]}"
            break
    return lines


def _fixture_options(decorator: ast.expr) -> dict[str, str] | None:
    """The options of a `@pytest.fixture` / `@fixture` decorator (None: not a fixture)."""
    call = decorator if isinstance(decorator, ast.Call) else None
    target = call.func if call is not None else decorator
    named = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
    if named not in ("fixture", "yield_fixture"):
        return None
    options: dict[str, str] = {}
    for keyword in call.keywords if call is not None else ():
        if keyword.arg in ("name", "scope", "autouse") and isinstance(keyword.value, ast.Constant):
            options[keyword.arg] = str(keyword.value.value)
    return options


def fixtures_block(applying: list[tuple[str, tuple[str, ...]]]) -> str:
    """The fixture lines for a prompt, bounded in size (the nearest conftest kept first)."""
    lines: list[str] = []
    budget = FIXTURES_CHARS
    for conftest, fixtures in reversed(applying):
        block = [f"{conftest}:"] + [f"  {line}" for line in fixtures]
        size = sum(len(line) + 1 for line in block)
        if size > budget:
            block = [*block[: max(1, len(block) * budget // size)], "  (more not shown)"]
        lines[:0] = block
        budget -= size
        if budget <= 0:
            break
    return "\n".join(lines)
