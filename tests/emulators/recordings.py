"""Recorded real exchanges with api.github.com, read from what scripts/fetch-recordings.sh
installs into .ci-cache/recordings (or CI_REVIEWER_GITHUB_RECORDINGS):

- PyGithub 2.10.0's tests/ReplayData/*.txt. Each exchange is written by its
  tests/Framework.py `RecordingConnection` as lines: protocol, method, host, port, path with
  query, request headers (a Python dict literal), request body (`None` or JSON on one line),
  status, response headers (a list of pairs), the response body on one line (a streamed body:
  base64 chunks, one a line, then a blank line), then a blank line.
- @octokit/fixtures 23.1.2's scenarios/api.github.com/<scenario>/normalized-fixture.json: a
  list of {method, path, body, status, response, headers}.

An exchange is named `pygithub:<file>#<n>` or `octokit:<scenario>#<n>`, n counting from 0
in the file's order.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ROOT = REPO_ROOT / ".ci-cache/recordings"
PYGITHUB = "pygithub-2.10.0/ReplayData"
OCTOKIT = "octokit-fixtures-23.1.2/api.github.com"
FETCH_HINT = "run scripts/fetch-recordings.sh (or set CI_REVIEWER_GITHUB_RECORDINGS)"


@dataclass(frozen=True)
class Exchange:
    """One recorded request to api.github.com and GitHub's answer."""

    source: str
    method: str
    path: str  # unquoted, without the query
    query: tuple[tuple[str, str], ...]
    request: Any  # the JSON request body, or None
    status: int
    response: Any  # the JSON response body, or None (empty, or not JSON)

    @property
    def message(self) -> str | None:
        body = self.response
        return body.get("message") if isinstance(body, dict) else None


def root() -> Path:
    configured = os.environ.get("CI_REVIEWER_GITHUB_RECORDINGS")
    found = Path(configured) if configured else DEFAULT_ROOT
    if not (found / PYGITHUB).is_dir() or not (found / OCTOKIT).is_dir():
        pytest.fail(f"recorded GitHub traffic not found under {found}: {FETCH_HINT}", False)
    return found


def exchange(source: str) -> Exchange:
    """The exchange named `source` (`pygithub:File.txt#3`, `octokit:scenario#0`)."""
    kind, _, rest = source.partition(":")
    name = rest.rpartition("#")[0]
    found = _pygithub_file(name) if kind == "pygithub" else _octokit_scenario(name)
    return next(e for e in found if e.source == source)


def every_exchange() -> list[Exchange]:
    """Every recorded exchange with api.github.com, both collections."""
    base = root()
    found: list[Exchange] = []
    for path in sorted((base / PYGITHUB).glob("*.txt")):
        found += _pygithub_file(path.name)
    for path in sorted((base / OCTOKIT).iterdir()):
        found += _octokit_scenario(path.name)
    return found


@cache
def _pygithub_file(name: str) -> tuple[Exchange, ...]:
    lines = (root() / PYGITHUB / name).read_text(encoding="utf-8").split("\n")
    found: list[Exchange] = []
    at = index = 0
    while at < len(lines):
        if lines[at].strip() not in ("http", "https"):
            at += 1
            continue
        _, method, host, _, url, _, body, status, _ = (line.strip() for line in lines[at : at + 9])
        at += 9
        response: list[str] = []
        while at < len(lines) and lines[at].strip():
            response.append(lines[at].strip())
            at += 1
        if host == "api.github.com":
            source = f"pygithub:{name}#{index}"
            answer = _loads("\n".join(response))
            found.append(_exchange(source, method, url, _json(body), int(status), answer))
        index += 1
    return tuple(found)


@cache
def _octokit_scenario(name: str) -> tuple[Exchange, ...]:
    path = root() / OCTOKIT / name / "normalized-fixture.json"
    entries = json.loads(path.read_text(encoding="utf-8"))
    return tuple(
        _exchange(
            f"octokit:{name}#{index}",
            entry["method"].upper(),
            entry["path"],
            entry.get("body") or None,
            int(entry["status"]),
            entry.get("response"),
        )
        for index, entry in enumerate(entries)
        if entry.get("scope") == "https://api.github.com:443"
    )


def _exchange(source: str, method: str, url: str, body: Any, status: int, answer: Any) -> Exchange:
    split = urlsplit(url)
    query = tuple(parse_qsl(split.query, keep_blank_values=True))
    return Exchange(source, method, unquote(split.path), query, body, status, answer)


def _json(text: str) -> Any:
    if text in ("", "None", "null"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text  # a form or binary upload, recorded as its str()


def _loads(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None  # a streamed download or an HTML error page
