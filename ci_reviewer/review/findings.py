"""Findings: the answer schema the model is asked for, its validation, and the `Finding` record.

`ANSWER_CONSTRAINTS` is the whole contract; what is sent (`prompts.ANSWER_SCHEMA`) is its
structured-outputs subset, the bounds the API cannot enforce (line >= 1, a non-empty title,
confidence 0..1) moved into descriptions (`ci_reviewer.structured`). Every rule is enforced
again on our side with pydantic, because a gateway or model may ignore `output_config` and the
moved bounds are only described: an answer is only trusted after `parse_answer` accepted it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SEVERITIES = ("info", "low", "medium", "high", "critical")
Severity = Literal["info", "low", "medium", "high", "critical"]
Side = Literal["LEFT", "RIGHT"]
CATEGORIES = (
    "correctness",
    "security",
    "performance",
    "reliability",
    "maintainability",
    "testing",
    "documentation",
    "style",
)


def _nullable(kind: str, description: str) -> dict[str, Any]:
    return {"anyOf": [{"type": kind}, {"type": "null"}], "description": description}


# The whole contract of an answer, constraints included; `prompts.ANSWER_SCHEMA` is what is
# sent.
FINDING_CONSTRAINTS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "path": {"type": "string", "description": "File path relative to the repository root."},
        "line": {
            "type": "integer",
            "minimum": 1,
            "description": "Line in the new version of the file.",
        },
        "end_line": _nullable("integer", "Last line of a multi-line finding."),
        "excerpt": {
            "type": "string",
            "description": "The code the finding is about, copied exactly from the file or "
            "the diff (one to three lines, without line numbers or +/- markers).",
        },
        "severity": {"type": "string", "enum": list(SEVERITIES)},
        "category": {"type": "string", "enum": list(CATEGORIES)},
        "title": {"type": "string", "minLength": 1, "description": "One line."},
        "body": {"type": "string", "description": "Why it is a problem and how to fix it."},
        "suggestion": _nullable("string", "Replacement text for lines line..end_line, or null."),
        "confidence": {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "How sure you are it is a real problem.",
        },
    },
    "required": [
        "path",
        "line",
        "end_line",
        "excerpt",
        "severity",
        "category",
        "title",
        "body",
        "suggestion",
        "confidence",
    ],
    "additionalProperties": False,
}
ANSWER_CONSTRAINTS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "summary": {"type": "string", "description": "Two sentences on the change."},
        "findings": {"type": "array", "items": FINDING_CONSTRAINTS},
    },
    "required": ["summary", "findings"],
    "additionalProperties": False,
}


def severity_rank(severity: str) -> int:
    """0 for info up to 4 for critical; -1 for anything else (e.g. 'none')."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


def is_blocking(severity: str, fail_on: str) -> bool:
    """Whether a finding of `severity` fails the run under `--fail-on` (never for 'none')."""
    return fail_on != "none" and severity_rank(severity) >= severity_rank(fail_on)


@dataclass(frozen=True)
class Finding:
    """One problem the model reported, validated; `line_text` is the code at `line`.

    `excerpt` is the code the model quotes; once grounded (`ci_reviewer.review.grounding`),
    `line` is where the excerpt is, on `side` (RIGHT: the head; LEFT: a removed line, in the
    base's numbering). `suggestion_note` says why a suggestion is not attached as a
    ```suggestion block (`ci_reviewer.review.suggestions`); None when it applies."""

    path: str
    line: int
    severity: Severity
    category: str
    title: str
    body: str
    end_line: int | None = None
    suggestion: str | None = None
    confidence: float = 1.0
    line_text: str = ""
    excerpt: str = ""
    side: Side = "RIGHT"
    suggestion_note: str | None = None

    @property
    def fingerprint(self) -> str:
        """Stable across re-runs and line shifts: path, category, title and the code line
        (whitespace-normalized), not the line number."""
        title = " ".join(self.title.lower().split())
        code = " ".join(self.line_text.split())
        key = "\x1f".join((self.path, self.category, title, code))
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "fingerprint": self.fingerprint}


@dataclass(frozen=True)
class DroppedFinding:
    """A finding not published: the code it quotes could not be found (`reason`)."""

    finding: Finding
    reason: str

    def to_json(self) -> dict[str, Any]:
        finding = self.finding
        return {
            "path": finding.path,
            "line": finding.line,
            "severity": finding.severity,
            "title": finding.title,
            "excerpt": finding.excerpt,
            "reason": self.reason,
        }


class _FindingModel(BaseModel):
    model_config = ConfigDict(extra="ignore")

    path: str = ""
    line: int = Field(ge=1)
    end_line: int | None = None
    excerpt: str = ""
    severity: Severity
    category: str = "correctness"
    title: str = Field(min_length=1)
    body: str = ""
    suggestion: str | None = None
    confidence: float = Field(1.0, ge=0.0, le=1.0)

    @field_validator("severity", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class _AnswerModel(BaseModel):
    model_config = ConfigDict(extra="ignore")

    summary: str = ""
    findings: list[_FindingModel]


@dataclass(frozen=True)
class Answer:
    summary: str
    findings: tuple[Finding, ...]


class AnswerError(ValueError):
    """The model's answer is not the JSON the schema asks for; the message says what is wrong
    (it is sent back in the repair turn)."""


def parse_answer(text: str, default_path: str) -> Answer:
    """Validate the model's final text; raise AnswerError with a precise reason."""
    document = _json_document(text)
    try:
        answer = _AnswerModel.model_validate(document)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "answer"
        raise AnswerError(f"{where}: {first['msg']}") from None
    return Answer(answer.summary, tuple(_finding(item, default_path) for item in answer.findings))


def salvage_findings(text: str, default_path: str) -> tuple[Finding, ...]:
    """The complete, valid findings of a truncated answer (cut at max_tokens): each finding
    object that parses whole is kept, the cut one is dropped."""
    anchor = re.search(r'"findings"\s*:\s*\[', text)
    if anchor is None:
        return ()
    decoder = json.JSONDecoder()
    position, kept = anchor.end(), []
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text) or text[position] != "{":
            break
        try:
            item, position = decoder.raw_decode(text, position)
            kept.append(_finding(_FindingModel.model_validate(item), default_path))
        except (ValueError, ValidationError):
            break
    return tuple(kept)


def _json_document(text: str) -> Any:
    stripped = text.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", stripped, flags=re.DOTALL)
    if fenced:
        stripped = fenced.group(1)
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        pass
    start, end = stripped.find("{"), stripped.rfind("}")
    if start != -1 and end > start:
        try:
            return json.loads(stripped[start : end + 1])
        except json.JSONDecodeError as error:
            raise AnswerError(f"the answer is not valid JSON: {error}") from None
    raise AnswerError("the answer holds no JSON object")


def _finding(item: _FindingModel, default_path: str) -> Finding:
    end_line = item.end_line if item.end_line and item.end_line > item.line else None
    return Finding(
        path=item.path.strip().removeprefix("./") or default_path,
        line=item.line,
        severity=item.severity,
        category=item.category.strip().lower() or "correctness",
        title=item.title.strip(),
        body=item.body.strip(),
        end_line=end_line,
        suggestion=item.suggestion,
        confidence=item.confidence,
        excerpt=item.excerpt,
    )
