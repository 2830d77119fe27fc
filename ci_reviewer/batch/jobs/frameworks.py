"""The test framework a repository uses for a language, told by its own files.

Detected once per run for each language family and project root (the nearest folder with
the language's manifest: package.json, Cargo.toml, go.mod, pom.xml or build.gradle, and for
Python pyproject.toml, setup.cfg or tox.ini, else the repository root), so a run of any size
reads a few manifests and at most a few test files per project:

- Python: pytest when a project file names it (pyproject.toml, setup.cfg, tox.ini,
  pytest.ini, requirements*.txt), a conftest.py exists, or the tests import pytest or are
  plain test functions; unittest when the tests are `unittest.TestCase` classes. A project
  with no tests and no runner named gets pytest, assumed (a Python file always has a way
  to be tested; whether pytest is installed is not known, so it is not run by default).
- JavaScript and TypeScript: what package.json's test script runs (vitest, jest, mocha,
  `node --test`), else a runner's config file (vitest.config.*, jest.config.*, .mocharc*),
  else a runner among the dependencies, else tests importing `node:test`.
- Rust: `cargo test` for a crate (a Cargo.toml with [package]).
- Go: `go test` in a module (go.mod).
- Java: JUnit 5 or 4, as the Maven or Gradle build (or the tests' imports) declare it.

Anything else has no framework, and the file is skipped with that reason.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ci_reviewer.batch.jobs.languages import display, family_of
from ci_reviewer.batch.jobs.test_examples import ancestors, directory_of, test_family, within
from ci_reviewer.batch.noise import REASONS, name_kind

Reader = Callable[[str, int], str | None]
_PROBED_TESTS = 20  # test files read per project, at most, for evidence
_MANIFESTS = {
    "python": ("pyproject.toml", "setup.cfg", "tox.ini", "pytest.ini", "setup.py"),
    "javascript": ("package.json",),
    "rust": ("Cargo.toml",),
    "go": ("go.mod",),
    "java": ("pom.xml", "build.gradle", "build.gradle.kts"),
}
_CONFIG_FILES = re.compile(
    r"^(?:(vitest|jest)\.config\.[cm]?[jt]s(?:on)?|\.(mocharc)(?:\.\w+)?|gradlew"
    r"|requirements[\w.-]*\.txt|conftest\.py)$"
)
_JS_RUNNERS = (
    ("vitest", re.compile(r"\bvitest\b")),
    ("jest", re.compile(r"\bjest\b")),
    ("mocha", re.compile(r"\b_?mocha\b")),
    ("node:test", re.compile(r"\bnode\s+(?:-[-\w=]+\s+)*--test\b")),
)


@dataclass(frozen=True)
class Framework:
    """How one project tests one language family."""

    family: str
    name: str  # pytest, unittest, jest, vitest, mocha, node:test, cargo test, go test, JUnit 5
    root: str  # the project's folder ("" is the repository root)
    evidence: str  # what told it, for the prompt
    module: str = ""  # Go: the module path; Rust: the crate name; Java: maven or gradle
    habit: str = ""  # JS: beside, __tests__ or dir:<folder>; Rust: tests or in-file
    suffix: str = "test"  # JS: test or spec (x.test.js, x.spec.js)
    assumed: bool = False  # not told by the repository: its command may not be installed


@dataclass(frozen=True)
class NoFramework:
    reason: str


class FrameworkDetector:
    """Frameworks by family and project root, each detected the first time it is asked."""

    def __init__(self, tracked: Iterable[str], read: Reader) -> None:
        self._read = read
        self.paths: frozenset[str] = frozenset(tracked)
        self._names: dict[str, set[str]] = {}  # folder -> manifest and config names in it
        self._tests: dict[str, list[str]] = {}  # family -> test files
        wanted = {name for names in _MANIFESTS.values() for name in names}
        for path in sorted(self.paths):
            folder, _, name = path.rpartition("/")
            if name in wanted or _CONFIG_FILES.match(name):
                self._names.setdefault(folder, set()).add(name)
            family = test_family(path)
            if family is not None:
                self._tests.setdefault(family, []).append(path)
        self._by_root: dict[str, dict[str, list[str]]] = {}
        self._found: dict[tuple[str, str], Framework | NoFramework] = {}
        self._texts: dict[tuple[str, int], str] = {}

    def for_file(self, path: str, language: str | None) -> Framework | NoFramework:
        if language is None:
            return _not_code(path)
        if path.endswith((".d.ts", ".d.mts", ".d.cts")):
            return NoFramework("TypeScript declarations only: no code runs to be tested")
        family = family_of(language)
        detect = _DETECTORS.get(family)
        if detect is None:
            return NoFramework(f"no test framework detected for {display(language)} files")
        roots = self._roots(path, family)
        if not roots:
            manifests = " or ".join(_MANIFESTS[family])
            return NoFramework(f"no {display(family)} project ({manifests}) above the file")
        found: Framework | NoFramework = NoFramework("")
        for root in roots:  # a nested project without its own runner uses the enclosing one
            key = (family, root)
            if key not in self._found:
                self._found[key] = detect(self, root)
            found = self._found[key]
            if isinstance(found, Framework):
                return found if root == roots[0] else _moved(found, roots[0])
        return found

    def _roots(self, path: str, family: str) -> list[str]:
        manifests = _MANIFESTS[family]
        roots = [
            folder
            for folder in ancestors(directory_of(path))
            if not self._names.get(folder, set()).isdisjoint(manifests)
        ]
        if family == "rust":
            roots = [r for r in roots if "[package]" in self.text(_join(r, "Cargo.toml"))]
        if family == "python" and "" not in roots:
            roots.append("")
        return roots

    def text(self, path: str, limit: int = 200_000) -> str:
        """A tracked file's text, read once per run (manifests are asked per test file)."""
        key = (path, limit)
        if key not in self._texts:
            self._texts[key] = self._read(path, limit) or "" if path in self.paths else ""
        return self._texts[key]

    def folders_with(self, name: str, root: str) -> list[str]:
        """The folders at or below `root` that hold a manifest or config file `name`."""
        return [f for f, names in self._names.items() if name in names and within(f, root)]

    def names(self, root: str) -> set[str]:
        return self._names.get(root, set())

    def tests_under(self, family: str, root: str) -> list[str]:
        """The family's test files whose nearest project root is `root` (grouped once)."""
        if family not in self._by_root:
            grouped: dict[str, list[str]] = {}
            for test in self._tests.get(family, []):
                nearest = self._roots(test, family)
                grouped.setdefault(nearest[0] if nearest else "", []).append(test)
            self._by_root[family] = grouped
        return self._by_root[family].get(root, [])

    def probed(self, family: str, root: str) -> str:
        """The text of the first few test files of a project, for evidence."""
        tests = self.tests_under(family, root)[:_PROBED_TESTS]
        return "\n".join(self.text(t, 50_000) for t in tests)


def _moved(found: Framework, root: str) -> Framework:
    return dataclasses.replace(found, root=root)


def _join(root: str, name: str) -> str:
    return f"{root}/{name}" if root else name


def _python(detector: FrameworkDetector, root: str) -> Framework | NoFramework:
    names = detector.names(root)
    for name in sorted(names):
        if name.endswith((".toml", ".cfg", ".ini", ".txt")) and re.search(
            r"\bpytest\b", detector.text(_join(root, name))
        ):
            return Framework("python", "pytest", root, f"pytest named in {_join(root, name)}")
    conftests = [_join(f, "conftest.py") for f in detector.folders_with("conftest.py", root)]
    if conftests:
        return Framework("python", "pytest", root, f"{min(conftests)} exists")
    tests = detector.probed("python", root)
    if re.search(r"^\s*(?:import|from)\s+pytest\b", tests, re.MULTILINE):
        return Framework("python", "pytest", root, "the tests import pytest")
    if re.search(r"\bTestCase\b", tests):
        return Framework("python", "unittest", root, "the tests are unittest.TestCase classes")
    if re.search(r"^def test_", tests, re.MULTILINE):
        return Framework("python", "pytest", root, "the tests are plain test functions")
    # No tests and no runner named: pytest, which also runs unittest tests, as the
    # likeliest choice; assumed, so its command is not run unless the job sets one.
    return Framework(
        "python",
        "pytest",
        root,
        "assumed: the project has no tests and names no runner",
        assumed=True,
    )


def _javascript(detector: FrameworkDetector, root: str) -> Framework | NoFramework:
    manifest = _join(root, "package.json")
    try:
        package = json.loads(detector.text(manifest) or "{}")
    except ValueError:
        package = {}
    package = package if isinstance(package, dict) else {}
    scripts = package.get("scripts")
    scripts = scripts if isinstance(scripts, dict) else {}
    test_script = str(scripts.get("test", ""))
    others = " ".join(str(v) for k, v in scripts.items() if k != "test")
    declared: set[str] = set()
    for key in ("devDependencies", "dependencies"):
        if isinstance(package.get(key), dict):
            declared |= set(package[key])
    configs = [
        found.group(1) or found.group(2) or ""
        for found in map(_CONFIG_FILES.match, detector.names(root))
        if found
    ]
    configs += [key for key in package if key in ("jest", "mocha")]
    # Only node:test is told by the tests' text: a runner's name in a test proves little.
    probed = "node --test" if "node:test" in detector.probed("javascript", root) else ""
    sources = (
        (test_script, f"{manifest} scripts.test runs {{}}"),
        (others, f"a script in {manifest} runs {{}}"),
        (" ".join(configs), "a {} configuration in the project"),
        (" ".join(sorted(declared)), f"{{}} among the dependencies in {manifest}"),
        (probed, "the tests import node:test"),
    )
    for text, told in sources:
        for runner, pattern in _JS_RUNNERS:
            if pattern.search(text):
                habit, suffix = _js_habit(detector, root)
                return Framework("javascript", runner, root, told.format(runner), "", habit, suffix)
    return NoFramework(f"no JavaScript test runner detected in {manifest}")


def _js_habit(detector: FrameworkDetector, root: str) -> tuple[str, str]:
    """Where the project's tests sit (beside the code, in __tests__, or in one folder) and
    how they are named (x.test.js or x.spec.js): what most of its tests do."""
    votes: dict[str, int] = {}
    spec = 0
    tests = detector.tests_under("javascript", root)
    for test in tests:
        below = test[len(root) + 1 :] if root else test
        folder, _, name = below.rpartition("/")
        spec += ".spec." in name
        first = below.split("/")[0]
        if "__tests__" in folder.split("/"):
            place = "__tests__"
        elif folder and first in ("test", "tests", "spec") and "/" in below:
            place = f"dir:{first}"
        else:
            place = "beside"
        votes[place] = votes.get(place, 0) + 1
    habit = max(sorted(votes), key=lambda p: votes[p]) if votes else "beside"
    return habit, "spec" if spec * 2 > len(tests) else "test"


def _rust(detector: FrameworkDetector, root: str) -> Framework:
    manifest = detector.text(_join(root, "Cargo.toml"))
    named = re.search(r'(?ms)^\[package\].*?^\s*name\s*=\s*"([^"]+)"', manifest)
    crate = named.group(1) if named else (root.rpartition("/")[2] or "crate")
    habit = "tests" if detector.tests_under("rust", root) else "in-file"
    where = _join(root, "Cargo.toml")
    return Framework("rust", "cargo test", root, f"{where} declares crate {crate}", crate, habit)


def _go(detector: FrameworkDetector, root: str) -> Framework:
    found = re.search(r"(?m)^module\s+(\S+)", detector.text(_join(root, "go.mod")))
    module = found.group(1).strip('"') if found else ""
    return Framework("go", "go test", root, f"{_join(root, 'go.mod')} (module {module})", module)


def _java(detector: FrameworkDetector, root: str) -> Framework | NoFramework:
    names = detector.names(root)
    build = next(n for n in _MANIFESTS["java"] if n in names)
    text = detector.text(_join(root, build))
    tool = "maven" if build == "pom.xml" else "gradle"
    tests = detector.probed("java", root)
    if re.search(r"junit-jupiter|org\.junit\.jupiter", text + tests):
        version = "JUnit 5"
    elif re.search(r"junit:junit|<artifactId>junit</artifactId>|import org\.junit\.", text + tests):
        version = "JUnit 4"
    else:
        return NoFramework(f"no JUnit dependency in {_join(root, build)}")
    return Framework("java", version, root, f"{version} in {_join(root, build)}", tool)


_DETECTORS: dict[str, Callable[[FrameworkDetector, str], Framework | NoFramework]] = {
    "python": _python,
    "javascript": _javascript,
    "rust": _rust,
    "go": _go,
    "java": _java,
}


def _not_code(path: str) -> NoFramework:
    """Why a file of no known language gets no test. A file of a noise kind that the job
    allowed (`noise.allow_kinds: [prose]`) is said as what it is, so that the user sees why
    the allowance asked for no test: test generation writes tests for code."""
    kind = name_kind(path)
    if kind is not None:
        return NoFramework(f"no test framework for {REASONS[kind]}: tests are written for code")
    return NoFramework("no test framework for a file of unknown language")
