"""constraints.txt, the exact versions the action installs: every runtime dependency and
everything a fresh resolve pulls in is pinned with ==, inside the ranges pyproject.toml and
the dependencies' own metadata ask for, with nothing pinned that nothing needs.

The graph is walked from pyproject.toml through the requirements (importlib.metadata) of the
distributions installed here, markers evaluated for this interpreter; the direct pins are
also checked for every Python the file was resolved for."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, before it joined the standard library
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "constraints.txt"
SUPPORTED_PYTHONS = ("3.10", "3.11", "3.12", "3.13")


def _pyproject() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def _lines() -> list[Requirement]:
    text = CONSTRAINTS.read_text(encoding="utf-8")
    return [Requirement(line) for line in text.splitlines() if line and not line.startswith("#")]


def _pins(environment: dict[str, str]) -> dict[str, Version]:
    """The pin that applies to each package in `environment`."""
    pins: dict[str, Version] = {}
    for line in _lines():
        if line.marker is not None and not line.marker.evaluate(environment):
            continue
        name = canonicalize_name(line.name)
        assert name not in pins, f"{name} is pinned twice for {environment['python_version']}"
        (spec,) = line.specifier
        pins[name] = Version(spec.version)
    return pins


def _environment(python: str | None = None) -> dict[str, str]:
    environment = dict(default_environment())
    if python is not None:
        environment["python_version"] = python
        environment["python_full_version"] = f"{python}.0"
    return environment


def _applies(requirement: Requirement, environment: dict[str, str], extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(
        requirement.marker.evaluate({**environment, "extra": extra}) for extra in extras | {""}
    )


def test_every_line_is_an_exact_pin() -> None:
    lines = _lines()
    assert lines, "constraints.txt pins nothing"
    for line in lines:
        specs = list(line.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"not an exact pin: {line}"
        assert "*" not in specs[0].version, f"a wildcard is not a pin: {line}"


def test_the_whole_dependency_graph_is_pinned_within_every_range() -> None:
    environment = _environment()
    pins = _pins(environment)
    direct = [Requirement(r) for r in _pyproject()["project"]["dependencies"]]
    # Markers are judged when a requirement is met, with the extras its dependent asked for.
    todo = [(r, "pyproject.toml") for r in direct if _applies(r, environment, set())]
    reached: set[str] = set()
    problems: list[str] = []
    while todo:
        requirement, wanted_by = todo.pop()
        name = canonicalize_name(requirement.name)
        pin = pins.get(name)
        if pin is None:
            problems.append(f"{name} ({requirement.specifier or 'any'}, for {wanted_by}) unpinned")
            continue
        if not requirement.specifier.contains(pin, prereleases=True):
            problems.append(f"{name}=={pin} is outside {requirement.specifier} ({wanted_by})")
        if name in reached:
            continue
        reached.add(name)
        installed = metadata.distribution(name)
        for text in installed.requires or []:
            nested = Requirement(text)
            if _applies(nested, environment, set(requirement.extras)):
                todo.append((nested, f"{name} {installed.version}"))
    backend = _pyproject()["build-system"]["requires"]
    build = {canonicalize_name(Requirement(r).name) for r in backend}
    stale = sorted(set(pins) - reached - build)
    assert not problems, "\n".join(problems)
    assert not stale, f"pinned, but nothing needs them: {stale}"


@pytest.mark.parametrize("python", SUPPORTED_PYTHONS)
def test_direct_dependencies_and_the_build_backend_are_pinned_on(python: str) -> None:
    environment = _environment(python)
    pins = _pins(environment)
    project = _pyproject()
    for text in project["project"]["dependencies"] + project["build-system"]["requires"]:
        requirement = Requirement(text)
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement.name} has no pin for Python {python}"
        assert requirement.specifier.contains(pin, prereleases=True), (
            f"{requirement.name}=={pin} is outside {requirement.specifier} (Python {python})"
        )


def test_the_file_says_which_pythons_it_was_resolved_for() -> None:
    header = CONSTRAINTS.read_text(encoding="utf-8").splitlines()[1]
    assert ", ".join(SUPPORTED_PYTHONS) in header
