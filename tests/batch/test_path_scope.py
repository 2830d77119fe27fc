"""The compiled path filter answers exactly as the PathFilter it is built from."""

from __future__ import annotations

import itertools

import pytest

from ci_reviewer.batch.path_scope import PathScope
from ci_reviewer.globs import PathFilter

PATHS = [
    "/".join(parts)
    for depth in (1, 2, 3)
    for parts in itertools.product(
        ["src", "vendor", "a.lock", "node_modules", "dist", "x", "Cargo.lock", "lib.min.js"],
        repeat=depth,
    )
] + ["src/app.py", "src/app_pb2.py", "web/app.min.css", "web/app.js.map", "x.generated.ts"]

RULES = [
    (["**"], [], True),
    (["src/**"], ["**/test_*.py"], True),
    (["src/**"], ["**/test_*.py"], False),
    (["**/*.py", "**/*.js"], ["vendor/**", "*.min.js"], False),
    (["**", "!src/**"], [], True),  # a negation: the spec's own matcher
    (["src/", "x"], ["a.lock/", "/dist"], False),
    (["**/x/**/*.lock"], ["node_modules"], True),
]


@pytest.mark.parametrize(("include", "exclude", "skip_defaults"), RULES)
def test_same_answer_as_the_path_filter(
    include: list[str], exclude: list[str], skip_defaults: bool
) -> None:
    paths = PathFilter.build(include, exclude, skip_defaults)
    scope = PathScope.of(paths)
    answers = {path: paths.reason_to_skip(path) for path in PATHS}
    assert {path: scope.reason_to_skip(path) for path in PATHS} == answers
    assert len(set(answers.values())) > 1  # the rules do tell paths apart
