"""Where a generated test goes, by its framework's convention, and how it is run when the
job sets no `verify_command`.

Conventions, from the repository root:
- pytest, unittest: `<output_dir>/test_<module>.py` (`tests/test_<module>.py` when
  `output_dir` holds the project's tests/ folder).
- jest, vitest, mocha, node:test: where the project keeps its tests (beside the code as
  `x.test.ts`, in a `__tests__` folder, or in one folder such as `test/`), named
  `x.test.ts` or `x.spec.ts` as the project does; when that place is outside `output_dir`,
  `<output_dir>/x.test.ts`.
- go test: `x_test.go` beside the file, in its package; when the package's folder is
  outside `output_dir`, the same folder mirrored under `output_dir`, as an external test
  package (`package x_test`) that imports the package by its module path.
- cargo test: an integration test, `<crate>/tests/x.rs`. Not an in-file `#[cfg(test)]`
  module, even where the crate tests that way: adding one means editing the source file,
  and a generated file never overwrites a file a person wrote. Cargo runs integration tests
  only from `<crate>/tests/`, so a crate whose tests/ folder is outside `output_dir` is
  skipped with that reason (a test cargo never runs would only look verified).
- JUnit: the `src/test/java` mirror of the class's `src/main/java` path, `XTest.java`;
  outside `output_dir` it is skipped for the same reason (Maven and Gradle compile tests
  only from there).
The path must lie inside `output_dir` (the generated-path policy, `batch/paths.py`, still
judges it when it lands). A path a person's file already holds gets a `generated` variant.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from ci_reviewer.batch import path_names
from ci_reviewer.batch.jobs.frameworks import Framework
from ci_reviewer.batch.jobs.test_examples import directory_of, within

_GO_PACKAGE = re.compile(r"(?m)^package\s+(\w+)")
_MAIN_JAVA = "src/main/java/"


@dataclass(frozen=True)
class Target:
    """Where one generated test goes: from the repository root, and as `target_path`
    (relative to `output_dir`); `note` says what that place asks of the test."""

    repo_path: str
    relative: str
    note: str = ""


@dataclass(frozen=True)
class Unplaceable:
    reason: str


Taken = Callable[[str], bool]  # whether a person's file (not a generated one) holds a path


def target_for(
    source: str, text: str, framework: Framework, output_dir: str, taken: Taken
) -> Target | Unplaceable:
    """The conventional test path of `source` (whose content is `text`) in `framework`."""
    output = output_dir.strip("/")
    output = "" if output == "." else output
    placed = _PLACERS[framework.family](source, text, framework, output)
    if isinstance(placed, Unplaceable):
        return placed
    path, note = placed
    if taken(path):
        path = _variant(path)
    return Target(path, path_names.relative(path, output), note)


def _join(*parts: str) -> str:
    return "/".join(part for part in parts if part)


def _python(source: str, text: str, fw: Framework, output: str) -> tuple[str, str]:
    own = path_names.stem(source)
    stem = path_names.parent_name(source) if own == "__init__" else own
    note = "a unittest.TestCase" if fw.name == "unittest" else ""
    # An output_dir above the project's tests/ folder (".", say) puts the test there.
    tests = _join(fw.root, "tests")
    folder = tests if within(tests, output) else output
    return _join(folder, f"test_{stem}.py"), note


def _javascript(source: str, text: str, fw: Framework, output: str) -> tuple[str, str]:
    name = PurePosixPath(source)
    file = f"{name.stem}.{fw.suffix}{name.suffix}"
    folder = directory_of(source)
    if fw.habit == "__tests__":
        path = _join(folder, "__tests__", file)
    elif fw.habit.startswith("dir:"):
        path = _join(fw.root, fw.habit[4:], file)
    else:
        path = _join(folder, file)
    if not within(path, output):
        path = _join(output, file)
    relative = posixpath.relpath(source, directory_of(path) or ".")
    return (
        path,
        f"from there, the file under test is {relative if '/' in relative else './' + relative}",
    )


def _go(source: str, text: str, fw: Framework, output: str) -> tuple[str, str] | Unplaceable:
    name = PurePosixPath(source)
    folder = directory_of(source)
    test = f"{name.stem}_test.go"
    found = _GO_PACKAGE.search(text)
    package = found.group(1) if found else PurePosixPath(folder).name or "main"
    if within(folder, output):
        return _join(folder, test), f"beside the file, in package {package}"
    if not within(output, fw.root):
        return Unplaceable(f"output_dir {output} is outside the Go module at {fw.root or '.'}")
    below = folder[len(fw.root) + 1 :] if fw.root else folder
    imported = "/".join(part for part in (fw.module, below) if part)
    note = (
        f"outside the package's folder: an external test package (package {package}_test) "
        f'that imports "{imported}"; only its exported names are reachable'
    )
    return _join(output, below, test), note


def _rust(source: str, text: str, fw: Framework, output: str) -> tuple[str, str] | Unplaceable:
    name = PurePosixPath(source)
    crate = fw.module.replace("-", "_")
    stem = (
        name.parent.name
        if name.stem == "mod"
        else crate
        if name.stem in ("lib", "main")
        else name.stem
    )
    tests = _join(fw.root, "tests")
    path = _join(tests, f"{stem}.rs")
    if not within(path, output):
        return Unplaceable(
            f"cargo runs integration tests only from {tests}/, outside output_dir "
            f"{output or '.'}; set output_dir: {tests} to generate them"
        )
    habit = "in-file #[cfg(test)] modules" if fw.habit == "in-file" else f"tests in {tests}/"
    note = (
        f"an integration test: its own crate, which reaches {crate} only through its public "
        f"API (`use {crate}::...`); the crate's existing tests are {habit}"
    )
    return path, note


def _java(source: str, text: str, fw: Framework, output: str) -> tuple[str, str] | Unplaceable:
    at = source.find(_MAIN_JAVA)
    if at == -1 or (at > 0 and source[at - 1] != "/"):
        return Unplaceable(f"not under {_MAIN_JAVA}, where Maven and Gradle look for classes")
    module, below = source[:at], source[at + len(_MAIN_JAVA) :]
    folder, _, file = below.rpartition("/")
    tests = f"{module}src/test/java"
    path = _join(tests, folder, file.removesuffix(".java") + "Test.java")
    if not within(path, output):
        return Unplaceable(
            f"{fw.module.capitalize()} compiles tests only from {tests}/, outside output_dir "
            f"{output or '.'}; set output_dir: {tests} to generate them"
        )
    package = folder.replace("/", ".")
    return path, f"in package {package}, with {fw.name}" if package else f"with {fw.name}"


_PLACERS: dict[str, Callable[[str, str, Framework, str], tuple[str, str] | Unplaceable]] = {
    "python": _python,
    "javascript": _javascript,
    "go": _go,
    "rust": _rust,
    "java": _java,
}


def _variant(path: str) -> str:
    """The same test with `generated` in its name, beside a person's file of that name."""
    folder, _, name = path.rpartition("/")
    if name.endswith("_test.go"):
        name = name.removesuffix("_test.go") + "_generated_test.go"
    elif name.endswith("Test.java"):
        name = name.removesuffix("Test.java") + "GeneratedTest.java"
    elif re.search(r"\.(test|spec)\.", name):
        name = re.sub(r"\.(test|spec)\.", r".generated.\1.", name, count=1)
    else:
        stem, dot, suffix = name.rpartition(".")
        name = f"{stem}_generated{dot}{suffix}"
    return _join(folder, name)


# -- running a generated test when the job sets no verify_command -----------------------------


@dataclass(frozen=True)
class DefaultVerify:
    """The framework's usual command for one test file, run in the project's folder."""

    arguments: tuple[str, ...]
    cwd: str  # relative to the repository root

    def shown(self) -> str:
        where = f" (in {self.cwd})" if self.cwd else ""
        return " ".join(self.arguments) + where


# Each framework's command for a test, from its path from the repository root and from the
# project's folder (only the framework's own is made: this is asked for every file).
# npx --no: run the project's installed runner, never download one.
_COMMANDS: dict[str, Callable[[str, str], tuple[str, ...]]] = {
    "pytest": lambda test_path, local: ("python", "-m", "pytest", "-q", test_path),
    "unittest": lambda test_path, local: ("python", "-m", "unittest", test_path),
    "jest": lambda test_path, local: ("npx", "--no", "--", "jest", local),
    "vitest": lambda test_path, local: ("npx", "--no", "--", "vitest", "run", local),
    "mocha": lambda test_path, local: ("npx", "--no", "--", "mocha", local),
    "node:test": lambda test_path, local: ("node", "--test", local),
    "cargo test": lambda test_path, local: ("cargo", "test", "--test", PurePosixPath(local).stem),
    "go test": lambda test_path, local: ("go", "test", "./" + (directory_of(local) or ".")),
}


def default_verify(framework: Framework, test_path: str) -> DefaultVerify:
    root = framework.root
    local = test_path[len(root) + 1 :] if root else test_path
    command = _COMMANDS.get(framework.name)
    if command is not None:
        cwd = "" if framework.family == "python" else root
        return DefaultVerify(command(test_path, local), cwd)
    below = local.split("src/test/java/", 1)[-1].removesuffix(".java")
    if framework.module == "maven":
        return DefaultVerify(("mvn", "-q", "test", f"-Dtest={PurePosixPath(below).name}"), root)
    return DefaultVerify(("gradle", "test", "--tests", below.replace("/", ".")), root)
