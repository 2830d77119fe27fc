"""The rules a model's answer goes through before a finding is published, and the tag that
keeps a finding from being posted twice: which severities fail the run under `--fail-on`,
what a finding's fingerprint is made of (so a re-run recognises it after lines shift), how a
malformed answer is refused (the reason goes back to the model), and what is kept of an
answer cut off at max_tokens. Fingerprints were computed with `printf ... | sha256sum`."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from ci_reviewer.github.markers import fingerprint_marker, fingerprints_in
from ci_reviewer.review.findings import (
    AnswerError,
    Finding,
    is_blocking,
    parse_answer,
    salvage_findings,
    severity_rank,
)

FINDING = Finding(
    path="src/app.py",
    line=12,
    severity="high",
    category="security",
    title="SQL built from user input",
    body="Use a parameter.",
    line_text='cursor.execute("select " + name)',
)
# printf 'src/app.py\x1fsecurity\x1fsql built from user input\x1fcursor.execute("select " + name)'
#   | sha256sum
FINGERPRINT = "bdcf5200cb380ca0"


def test_the_fingerprint_is_path_category_title_and_code_line() -> None:
    assert FINDING.fingerprint == FINGERPRINT


def test_the_fingerprint_survives_a_line_shift_reindenting_and_title_case() -> None:
    moved = replace(
        FINDING,
        line=40,
        end_line=41,
        title="  SQL   built from\tUSER input ",
        line_text='        cursor.execute("select "  +  name)',
        body="Other words.",
        severity="critical",
        confidence=0.5,
    )

    assert moved.fingerprint == FINGERPRINT


@pytest.mark.parametrize(
    "change",
    [
        {"path": "src/other.py"},
        {"category": "correctness"},
        {"title": "SQL built from input"},
        {"line_text": 'cursor.execute("select " + other)'},
    ],
)
def test_a_different_finding_has_a_different_fingerprint(change: dict[str, str]) -> None:
    assert replace(FINDING, **change).fingerprint != FINGERPRINT  # type: ignore[arg-type]


def test_a_finding_as_json_carries_its_fingerprint() -> None:
    assert FINDING.to_json() == {
        "path": "src/app.py",
        "line": 12,
        "severity": "high",
        "category": "security",
        "title": "SQL built from user input",
        "body": "Use a parameter.",
        "end_line": None,
        "suggestion": None,
        "confidence": 1.0,
        "line_text": 'cursor.execute("select " + name)',
        "excerpt": "",
        "side": "RIGHT",
        "suggestion_note": None,
        "fingerprint": FINGERPRINT,
    }


def test_the_hidden_marker_and_reading_it_back() -> None:
    marker = fingerprint_marker(FINGERPRINT)

    assert marker == "<!-- ci-reviewer:fp:bdcf5200cb380ca0 -->"
    body = f"**high**: SQL built from user input\n\n{marker}\n<!-- ci-reviewer:fp:0123abcd -->"
    assert fingerprints_in(body) == {FINGERPRINT, "0123abcd"}
    assert fingerprints_in("<!-- ci-reviewer:fp:0123abc -->") == set()  # under 8 hex digits
    assert fingerprints_in("<!-- ci-reviewer:fp:XYZ12345 -->") == set()
    assert fingerprints_in(None) == set()  # a comment without a body


@pytest.mark.parametrize(
    ("severity", "rank"),
    [("info", 0), ("low", 1), ("medium", 2), ("high", 3), ("critical", 4), ("none", -1)],
)
def test_severity_ranks(severity: str, rank: int) -> None:
    assert severity_rank(severity) == rank


@pytest.mark.parametrize(
    ("severity", "fail_on", "blocks"),
    [
        ("high", "high", True),  # at the threshold
        ("critical", "high", True),
        ("medium", "high", False),
        ("info", "info", True),
        ("critical", "none", False),  # --fail-on none never fails the run
    ],
)
def test_fail_on_blocks_at_and_above_its_severity(
    severity: str, fail_on: str, blocks: bool
) -> None:
    assert is_blocking(severity, fail_on) is blocks


def _answer(**finding: object) -> str:
    item = {"path": "src/app.py", "line": 3, "severity": "low", "title": "t", **finding}
    return json.dumps({"summary": "Adds a flag.", "findings": [item]})


def test_an_answer_is_cleaned_into_findings() -> None:
    text = _answer(
        path=" ./src/app.py ",
        severity="HIGH",
        category=" Security ",
        title="  Unchecked input ",
        body=" Check it. ",
        end_line=5,
        suggestion="check(x)",
        confidence=0.75,
    )

    answer = parse_answer(text, "default.py")

    assert answer.summary == "Adds a flag."
    assert answer.findings == (
        Finding(
            path="src/app.py",
            line=3,
            severity="high",
            category="security",
            title="Unchecked input",
            body="Check it.",
            end_line=5,
            suggestion="check(x)",
            confidence=0.75,
        ),
    )


def test_what_an_answer_leaves_out_takes_the_defaults() -> None:
    (finding,) = parse_answer(_answer(path="", category="  "), "src/default.py").findings

    assert (finding.path, finding.category, finding.body) == ("src/default.py", "correctness", "")
    assert (finding.end_line, finding.suggestion, finding.confidence) == (None, None, 1.0)


@pytest.mark.parametrize("end_line", [3, 2, 0, None])
def test_an_end_line_not_after_the_line_is_dropped(end_line: int | None) -> None:
    (finding,) = parse_answer(_answer(end_line=end_line), "x").findings

    assert finding.end_line is None


@pytest.mark.parametrize(
    "text",
    [
        "```json\n" + _answer() + "\n```",
        "```\n" + _answer() + "\n```",
        "Here is my review:\n" + _answer() + "\nThanks.",
        "Here is my review: " + _answer() + ". Thanks.",
    ],
)
def test_an_answer_in_a_fence_or_in_prose_is_read(text: str) -> None:
    assert [f.line for f in parse_answer(text, "x").findings] == [3]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (_answer(line=0), "findings.0.line: Input should be greater than or equal to 1"),
        (_answer(title=""), "findings.0.title: String should have at least 1 character"),
        (_answer(confidence=1.5), "findings.0.confidence: Input should be less than or equal to 1"),
        (
            _answer(severity="urgent"),
            "findings.0.severity: Input should be 'info', 'low', 'medium', 'high' or 'critical'",
        ),
        ('{"summary": "no findings key"}', "findings: Field required"),
        ("[]", "answer: Input should be a valid dictionary or instance of _AnswerModel"),
        ("I found nothing to report.", "the answer holds no JSON object"),
        ("Nothing to report }", "the answer holds no JSON object"),  # a brace, no object
        (
            'x{"summary"}',
            "the answer is not valid JSON: Expecting ':' delimiter: line 1 column 11 (char 10)",
        ),
        # A fenced answer is what the fence holds: a list there is not an answer object.
        (
            "```json\n[\n1\n]\n```",
            "answer: Input should be a valid dictionary or instance of _AnswerModel",
        ),
        (
            'prose {"summary": "x", "findings": [} more',
            "the answer is not valid JSON: Expecting value: line 1 column 31 (char 30)",
        ),
    ],
)
def test_a_malformed_answer_is_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(AnswerError) as refused:
        parse_answer(text, "x")

    assert str(refused.value) == reason


def test_an_answer_cut_off_keeps_its_whole_findings() -> None:
    whole = [
        {"path": "a.py", "line": 1, "severity": "low", "title": "first"},
        {"path": "b.py", "line": 2, "severity": "high", "title": "second"},
    ]
    complete = json.dumps({"summary": "s", "findings": whole}, indent=1)
    cut = complete[: complete.rindex("}")] + ',\n {"path": "c.py", "line": 3, "sev'

    kept = salvage_findings(cut, "x")

    assert [(f.path, f.line, f.title) for f in kept] == [
        ("a.py", 1, "first"),
        ("b.py", 2, "second"),
    ]


def test_a_cut_off_answer_stops_at_a_finding_that_is_not_valid() -> None:
    text = '{"findings": [{"line": 1, "severity": "low", "title": "ok"}, {"line": 0, "severity"'
    text_invalid = '{"findings": [{"line": 0, "severity": "low", "title": "no"}, {"line": 2'

    assert [f.path for f in salvage_findings(text, "default.py")] == ["default.py"]
    assert salvage_findings(text_invalid, "x") == ()
    assert salvage_findings('{"summary": "cut before the findings', "x") == ()
    assert salvage_findings('{"findings": [  ', "x") == ()
