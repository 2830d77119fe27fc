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
        _check_wildmatch(pattern)
        try:
            pathspec.PathSpec.from_lines("gitignore", [pattern])
        except ValueError as error:
            raise GlobPatternError(pattern, str(error)) from error
    return pathspec.PathSpec.from_lines("gitignore", list(patterns))


def _check_wildmatch(pattern: str) -> None:
    """Refuse patterns git accepts but that can never match: the user meant something else."""
    if pattern.startswith("#"):
        raise GlobPatternError(
            pattern, "a pattern starting with '#' is a comment in git's rules; write '\\#'"
        )
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        end = _bracket_end(pattern, index) if char == "[" else index
        if end < 0:
            raise GlobPatternError(
                pattern, "unclosed '[' matches nothing; write '\\[' for a literal bracket"
            )
        index = end + 1


def _bracket_end(pattern: str, start: int) -> int:
    """Index of the ']' closing the bracket expression at `start`, or -1."""
    index = start + 1
    if index < len(pattern) and pattern[index] in "!^":
        index += 1
    if index < len(pattern) and pattern[index] == "]":
        index += 1  # a leading ']' is a member, not the end
    while index < len(pattern):
        if pattern[index] == "\\":
            index += 2
            continue
        if pattern[index] == "]":
            return index
        index += 1
    return -1


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
