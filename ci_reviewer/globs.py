"""Include/exclude path filters, with git's wildmatch rules (the ones users know from
.gitignore), and the files every job skips unless told otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pathspec
from pathspec.pattern import Pattern

# Files no reviewer wants to read: lockfiles, vendored trees, generated and minified code.
DEFAULT_SKIPS: tuple[str, ...] = (
    "**/*.lock",
    "**/package-lock.json",
    "**/pnpm-lock.yaml",
    "**/yarn.lock",
    "**/go.sum",
    "**/Cargo.lock",
    "**/poetry.lock",
    "**/uv.lock",
    "vendor/**",
    "**/vendor/**",
    "third_party/**",
    "**/node_modules/**",
    "**/*.min.js",
    "**/*.min.css",
    "**/*.map",
    "**/*_pb2.py",
    "**/*.pb.go",
    "**/*.generated.*",
    "dist/**",
    "build/**",
)


class GlobPatternError(ValueError):
    """A pattern that git's wildmatch rules reject."""

    def __init__(self, pattern: str, reason: str) -> None:
        super().__init__(f"invalid glob {pattern!r}: {reason}")
        self.pattern = pattern


def compile_globs(patterns: Sequence[str]) -> pathspec.PathSpec[Pattern]:
    """Compile patterns one by one so an error names the pattern at fault."""
    for pattern in patterns:
        if not pattern.strip():
            raise GlobPatternError(pattern, "an empty pattern matches nothing")
        try:
            pathspec.PathSpec.from_lines("gitignore", [pattern])
        except ValueError as error:
            raise GlobPatternError(pattern, str(error)) from error
    return pathspec.PathSpec.from_lines("gitignore", list(patterns))


@dataclass(frozen=True)
class PathFilter:
    """Decides whether a repository path is in scope, and says why when it is not."""

    include: pathspec.PathSpec[Pattern]
    exclude: pathspec.PathSpec[Pattern]
    defaults: pathspec.PathSpec[Pattern] | None

    @classmethod
    def build(
        cls, include: Sequence[str], exclude: Sequence[str], skip_defaults: bool = True
    ) -> PathFilter:
        return cls(
            include=compile_globs(include),
            exclude=compile_globs(exclude),
            defaults=compile_globs(DEFAULT_SKIPS) if skip_defaults else None,
        )

    def reason_to_skip(self, path: str) -> str | None:
        """None when the path is in scope, else a short reason for the report."""
        if not self.include.match_file(path):
            return "not matched by include"
        if self.exclude.match_file(path):
            return "excluded by config"
        if self.defaults is not None and self.defaults.match_file(path):
            return "lockfile, vendored or generated"
        return None
