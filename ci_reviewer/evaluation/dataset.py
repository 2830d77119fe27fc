"""Golden-comment datasets: the Martian Code Review Bench format, read and checked.

A dataset file is a JSON array of pull requests, each `{"pr_title", "url", "comments":
[{"comment", "severity"}]}`; an entry with no comments is a clean PR (it measures false
positives on code that needs no comment). A directory holds such files (`*.json`). Every
problem is reported with the file and line of the entry it is in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ci_reviewer.errors import InputError

_PULL_PATH = re.compile(r"/(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+)/pull/(?P<number>\d+)/?")
# A file a golden comment names: a path with a source extension (not `d.Log` or `time.Now`).
_EXTENSIONS = (
    "py|go|ts|tsx|js|jsx|mjs|java|kt|rb|rs|c|h|cc|cpp|hpp|cs|php|swift|scala|sql|sh|"
    "yml|yaml|json|toml|erb|vue|html|css|scss|proto"
)
_NAMED_FILE = re.compile(rf"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.(?:{_EXTENSIONS}))(?![\w.])")
_NAMED_LINE = re.compile(r"\blines? (\d{1,6})\b", re.IGNORECASE)
_HINT = (
    'each entry is {"pr_title": str, "url": "https://github.com/OWNER/REPO/pull/N", '
    '"comments": [{"comment": str, "severity": str}]}'
)


@dataclass(frozen=True)
class GoldenComment:
    """A problem the PR is known to have; `path`/`line` when its text names them."""

    comment: str
    severity: str | None
    path: str | None = None
    line: int | None = None

    @classmethod
    def of(cls, comment: str, severity: str | None) -> GoldenComment:
        named_file = _NAMED_FILE.search(comment)
        named_line = _NAMED_LINE.search(comment)
        return cls(
            comment,
            severity,
            named_file.group(1) if named_file else None,
            int(named_line.group(1)) if named_line else None,
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GoldenComment:
        return cls(data["comment"], data.get("severity"), data.get("path"), data.get("line"))


@dataclass(frozen=True)
class PullRef:
    owner: str
    repo: str
    number: int

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"

    def __str__(self) -> str:
        return f"{self.full_name}#{self.number}"


@dataclass(frozen=True)
class DatasetEntry:
    """One pull request of a dataset, where it was read (`source:line`)."""

    source: str
    line: int
    title: str
    url: str
    goldens: tuple[GoldenComment, ...]

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"

    @property
    def pull(self) -> PullRef | None:
        """The PR the URL names, or None (the entry is then reported and skipped)."""
        parts = urlsplit(self.url)
        found = _PULL_PATH.fullmatch(parts.path) if parts.scheme in ("http", "https") else None
        if found is None:
            return None
        return PullRef(found["owner"], found["repo"], int(found["number"]))


Download = Callable[[str], bytes]


def load_datasets(sources: Sequence[str], download: Download) -> tuple[DatasetEntry, ...]:
    """Every entry of `sources` (files, directories of `*.json`, http(s) URLs), in order;
    the same PR URL twice is an error (its results would be counted twice)."""
    entries: list[DatasetEntry] = []
    for source in sources:
        for name, text in _texts(source, download):
            entries += parse_dataset(text, name)
    seen: dict[str, DatasetEntry] = {}
    for entry in entries:
        if entry.url in seen:
            raise InputError(
                f"{entry.where}: {entry.url} is already listed at {seen[entry.url].where}",
                hint="list each pull request once",
            )
        seen[entry.url] = entry
    return tuple(entries)


def _texts(source: str, download: Download) -> list[tuple[str, str]]:
    if urlsplit(source).scheme in ("http", "https"):
        return [(source, _decoded(download(source), source))]
    path = Path(source)
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise InputError(f"{source}: no *.json dataset file in this directory")
        return [(str(file), _read(file)) for file in files]
    if not path.is_file():
        raise InputError(f"{source}: no such dataset file or directory", hint=_HINT)
    return [(source, _read(path))]


def _read(path: Path) -> str:
    try:
        return _decoded(path.read_bytes(), str(path))
    except OSError as error:
        raise InputError(f"{path}: cannot read the dataset: {error.strerror}") from None


def _decoded(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{name}: the dataset is not UTF-8 text", hint=_HINT) from None


def parse_dataset(text: str, name: str) -> list[DatasetEntry]:
    """The entries of one dataset file; each keeps the line its object starts on."""
    decoder = json.JSONDecoder()
    position = _skip_space(text, 0)
    if not text.startswith("[", position):
        raise InputError(f"{name}:{_line(text, position)}: a dataset is a JSON array", hint=_HINT)
    position = _skip_space(text, position + 1)
    entries: list[DatasetEntry] = []
    while not text.startswith("]", position):
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise InputError(f"{name}:{error.lineno}: not valid JSON: {error.msg}") from None
        entries.append(_entry(value, name, _line(text, position)))
        position = _skip_space(text, end)
        if text.startswith(",", position):
            position = _skip_space(text, position + 1)
        elif not text.startswith("]", position):
            line = _line(text, position)
            raise InputError(f"{name}:{line}: expected ',' or ']' between entries", hint=_HINT)
    if _skip_space(text, position + 1) != len(text):
        line = _line(text, position + 1)
        raise InputError(f"{name}:{line}: unexpected text after the array", hint=_HINT)
    return entries


def _entry(value: Any, name: str, line: int) -> DatasetEntry:
    where = f"{name}:{line}"
    if not isinstance(value, dict):
        raise InputError(f"{where}: an entry is an object", hint=_HINT)
    url, title, comments = value.get("url"), value.get("pr_title", ""), value.get("comments")
    if not isinstance(url, str) or not url.strip():
        raise InputError(f'{where}: the entry has no "url"', hint=_HINT)
    if not isinstance(title, str):
        raise InputError(f'{where}: "pr_title" is not a string', hint=_HINT)
    if not isinstance(comments, list):
        raise InputError(f'{where}: "comments" is missing or not a list', hint=_HINT)
    goldens = []
    for index, comment in enumerate(comments, 1):
        text = comment.get("comment") if isinstance(comment, dict) else None
        severity = comment.get("severity") if isinstance(comment, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise InputError(f'{where}: comment {index} has no "comment" text', hint=_HINT)
        if severity is not None and not isinstance(severity, str):
            raise InputError(f'{where}: comment {index}: "severity" is not a string')
        goldens.append(GoldenComment.of(text.strip(), severity))
    return DatasetEntry(name, line, title, url.strip(), tuple(goldens))


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1
