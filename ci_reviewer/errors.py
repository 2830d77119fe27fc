"""The one user-facing error family, and the one place it becomes an exit code.

Every error a user can cause or meet derives from `CIReviewerError`; its `str()` is exactly
the text the user reads. The CLI maps the class to an exit code through `exit_code_for`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EXIT_OK = 0
EXIT_BLOCKING = 1
EXIT_USAGE = 2
EXIT_API = 3


class CIReviewerError(Exception):
    """Base of every error whose message is meant for the user."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled whole (hint and every other attribute, not only `args`): an error raised
        # in a worker process is raised again, as it was, by the process that reports it.
        return (_restored, (type(self), self.args, self.__dict__))


def _restored(cls: type[CIReviewerError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class UsageError(CIReviewerError):
    """Bad command-line usage or bad input (exit 2)."""


@dataclass(frozen=True)
class Location:
    """Where in a file a problem sits (1-based line and column)."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        text = self.file
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        return text


class ConfigError(CIReviewerError):
    """The configuration file is invalid (exit 2); names file:line:column and the fix."""

    def __init__(self, message: str, location: Location | None = None, hint: str | None = None):
        self.location = location
        prefix = f"{location}: " if location else ""
        super().__init__(f"{prefix}{message}", hint)


class InputError(CIReviewerError):
    """Bad input other than config: event payload, workdir, base ref, paths (exit 2)."""


class UnknownModelError(UsageError):
    """The Claude API answered that it does not serve the requested model (404
    not_found_error): a setting to change, not an API fault (exit 2). `model` is the id sent."""

    def __init__(self, model: str, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.model = model


class APIError(CIReviewerError):
    """A Claude or GitHub API failed after the SDK's own retries (exit 3)."""

    exit_code = EXIT_API


class ClaudeAPIError(APIError):
    """The Claude API failed after retries."""


class ClaudeOverloadedError(ClaudeAPIError):
    """The Claude API stayed overloaded (529 overloaded_error) after the SDK's retries."""


class GitHubAPIError(APIError):
    """The GitHub API failed after retries."""


def exit_code_for(error: BaseException) -> int:
    """Map any exception to the process exit code; unknown exceptions are bugs (exit 2 is
    reserved for the user's mistakes, so a bug gets 3 only if it is an API fault)."""
    if isinstance(error, CIReviewerError):
        return error.exit_code
    return EXIT_USAGE
