"""GitHub's real error answers, as data (`data/github_answers.json`), for the emulator.

Each entry says where its real answer comes from (a recorded exchange, the docs, an issue
thread quoting it). The emulator answers errors only through `answer`, so the tests that
hold the table to recordings hold the emulator to them too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ci_reviewer.emulators.server import Response


@dataclass(frozen=True)
class RealAnswer:
    """One of GitHub's error answers and where it was seen."""

    key: str
    status: int
    message: str
    documentation_url: str
    source: str
    headers: tuple[tuple[str, str], ...] = ()
    extra: tuple[tuple[str, Any], ...] = ()

    def body(self, **fields: str) -> dict[str, Any]:
        """The JSON body GitHub sends, with the placeholders of its message and of its
        other fields (an `errors` list that names what was refused) filled in."""
        return {
            "message": self.message.format(**fields),
            "documentation_url": self.documentation_url,
            "status": str(self.status),
            **{name: _filled(value, fields) for name, value in self.extra},
        }


def _filled(value: Any, fields: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**fields)
    if isinstance(value, list):
        return [_filled(item, fields) for item in value]
    if isinstance(value, dict):
        return {key: _filled(item, fields) for key, item in value.items()}
    return value


@cache
def answers() -> dict[str, RealAnswer]:
    """Every recorded answer by key."""
    text = resources.files("ci_reviewer.data").joinpath("github_answers.json").read_text()
    table = json.loads(text)["answers"]
    return {
        key: RealAnswer(
            key=key,
            status=int(entry["status"]),
            message=entry["message"],
            documentation_url=entry["documentation_url"],
            source=entry["source"],
            headers=tuple(sorted(entry.get("headers", {}).items())),
            extra=tuple(sorted(entry.get("extra", {}).items())),
        )
        for key, entry in table.items()
    }


def answer(key: str, headers: dict[str, str] | None = None, **fields: str) -> Response:
    """The emulator's answer for `key`, as GitHub gives it."""
    real = answers()[key]
    return Response(real.status, real.body(**fields), {**dict(real.headers), **(headers or {})})


@cache
def _graphql_table() -> dict[str, dict[str, Any]]:
    text = resources.files("ci_reviewer.data").joinpath("github_answers.json").read_text()
    table: dict[str, dict[str, Any]] = json.loads(text)["graphql_errors"]
    return table


def graphql_error(
    key: str, path: list[str | int] | None = None, line: int = 1, column: int = 1, **fields: str
) -> dict[str, Any]:
    """One entry of the `errors` list GitHub's GraphQL API answers with (over HTTP 200):
    its `type` (absent for a document GitHub refuses before running it), the `path` of the
    field that failed, where in the document, and the message."""
    entry = _graphql_table()[key]
    error: dict[str, Any] = {}
    if entry.get("type") is not None:
        error["type"] = entry["type"]
    if path is not None:
        error["path"] = path
    if "extensions" in entry:
        error["extensions"] = _filled(entry["extensions"], fields)
    error["locations"] = [{"line": line, "column": column}]
    error["message"] = entry["message"].format(**fields)
    return error
