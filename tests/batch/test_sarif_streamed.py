"""A large audit's SARIF file is written one result at a time: the file is the same, byte for
byte, as the whole log encoded at once, and reads back as the findings it was given."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import orjson
import pytest

from ci_reviewer import __version__
from ci_reviewer.sarif import streamed_sarif, to_sarif, write_sarif


@dataclass(frozen=True)
class Found:
    path: str
    line: int
    severity: str
    category: str
    title: str
    body: str
    fingerprint: str
    end_line: int | None = None


FINDINGS = [
    Found("src/db.py", 3, "high", "CWE-89", "SQL injection", "Use parameters.", "f1"),
    Found("src/ü.py", 7, "low", "CWE-532", "Token ☃ logged", 'Line one\nline two\t"q"', "f2", 9),
    Found("src/db.py", 1, "critical", "CWE-89", "Another", "", "f3"),
]


def written(findings: list[Found]) -> bytes:
    sink = io.BytesIO()
    write_sarif(streamed_sarif(findings, tool_name="audit"), sink)
    return sink.getvalue()


@pytest.mark.parametrize("count", [0, 1, 3])
def test_the_file_is_the_whole_log_encoded_at_once(count: int) -> None:
    whole = to_sarif(FINDINGS[:count], tool_name="audit")
    assert written(FINDINGS[:count]) == orjson.dumps(whole, option=orjson.OPT_INDENT_2) + b"\n"


def test_the_file_reads_back_as_the_findings() -> None:
    data = written(FINDINGS)
    log = json.loads(data)  # the standard library's parser, not the encoder's

    assert data.endswith(b"}\n") and b"\n  " in data  # indented by two, newline-ended
    assert log["version"] == "2.1.0"
    [run] = log["runs"]
    assert run["tool"]["driver"]["name"] == "audit"
    assert run["tool"]["driver"]["version"] == __version__
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == [
        "ci-reviewer/CWE-532",
        "ci-reviewer/CWE-89",
    ]
    second = run["results"][1]
    assert second == {
        "ruleId": "ci-reviewer/CWE-532",
        "ruleIndex": 0,
        "level": "note",
        "message": {"text": 'Token ☃ logged\n\nLine one\nline two\t"q"'},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": "src/ü.py", "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": 7, "endLine": 9},
                }
            }
        ],
        "partialFingerprints": {"ciReviewer/v1": "f2"},
        "properties": {"severity": "low", "security-severity": "3.0"},
    }
    assert [r["ruleIndex"] for r in run["results"]] == [1, 0, 1]
    assert [r["level"] for r in run["results"]] == ["error", "note", "error"]
    assert run["results"][2]["message"]["text"] == "Another"
