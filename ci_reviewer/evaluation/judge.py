"""The judge: one request per PR that lists its golden comments and the review's candidates,
and asks a model which pairs describe the same problem (structured output).

The prompt lives in `data/eval_judge.md`; its first line is its version (`version: X`),
recorded in every results file so two runs judged differently are told apart. A cheap
pre-filter runs first (`allowed_pairs`): a golden comment that names a file the PR changes
can only be matched by a candidate on that file, and one that also names a line only by a
candidate within `LINE_WINDOW` lines of it. The model's answer is checked on our side: a
pair that is not allowed, or names an id that does not exist, is dropped and counted.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ci_reviewer.evaluation.dataset import GoldenComment
from ci_reviewer.structured import sendable_schema

LINE_WINDOW = 20
JUDGE_MAX_TOKENS = 16_000  # thinking counts against it on the models that think by default

_ANSWER_CONSTRAINTS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "matches": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "golden": {"type": "string", "description": "A golden id, e.g. g1."},
                    "candidate": {"type": "string", "description": "A candidate id, e.g. c2."},
                    "reason": {"type": "string", "description": "One sentence."},
                },
                "required": ["golden", "candidate", "reason"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["matches"],
    "additionalProperties": False,
}
ANSWER_SCHEMA = sendable_schema(_ANSWER_CONSTRAINTS)


@dataclass(frozen=True)
class Candidate:
    """A finding of the review, as the judge sees it."""

    id: str
    path: str
    line: int
    severity: str
    title: str
    body: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": self.path,
            "line": self.line,
            "severity": self.severity,
            "title": self.title,
            "body": self.body,
        }


@dataclass(frozen=True)
class Match:
    golden: str
    candidate: str
    reason: str


@dataclass(frozen=True)
class Verdict:
    """What the judge decided for one PR; `dropped`: pairs refused by our own check."""

    matches: tuple[Match, ...]
    dropped: tuple[str, ...] = ()


@dataclass(frozen=True)
class JudgePrompt:
    version: str
    system: str


@cache
def judge_prompt() -> JudgePrompt:
    text = resources.files("ci_reviewer.data").joinpath("eval_judge.md").read_text("utf-8")
    header, _, system = text.partition("\n---\n")
    return JudgePrompt(header.removeprefix("version:").strip(), system.strip())


def golden_ids(goldens: Sequence[GoldenComment]) -> list[str]:
    return [f"g{index}" for index in range(1, len(goldens) + 1)]


def allowed_pairs(
    goldens: Sequence[GoldenComment],
    candidates: Sequence[Candidate],
    changed: Collection[str] = (),
) -> dict[str, tuple[str, ...]]:
    """golden id -> the candidate ids the pre-filter lets the judge match it with. A file
    named in a golden comment restricts it only when the PR changes that file (one of
    `changed`): a file it names as context is not where the problem is."""
    allowed = {}
    for golden_id, golden in zip(golden_ids(goldens), goldens, strict=True):
        named = _changed_file(golden.path, changed)
        allowed[golden_id] = tuple(c.id for c in candidates if _may_match(named, golden, c))
    return allowed


def _changed_file(named: str | None, changed: Collection[str]) -> str | None:
    if named is None:
        return None
    named = named.strip("/")
    return named if any(_same_file(path, named) for path in changed) else None


def _same_file(path: str, named: str) -> bool:
    return path == named or path.endswith("/" + named)


def _may_match(named: str | None, golden: GoldenComment, candidate: Candidate) -> bool:
    if named is None:
        return True
    if not _same_file(candidate.path, named):
        return False
    return golden.line is None or abs(candidate.line - golden.line) <= LINE_WINDOW


def needs_judge(allowed: Mapping[str, Sequence[str]]) -> bool:
    """Whether any pair is left to decide (else the verdict is "no match", for free)."""
    return any(allowed.values())


def judge_request(
    model: str,
    title: str,
    goldens: Sequence[GoldenComment],
    candidates: Sequence[Candidate],
    allowed: Mapping[str, Sequence[str]],
) -> dict[str, Any]:
    """The Messages request that judges one PR (also a batch request's `params`)."""
    document = {
        "pull_request": title,
        "golden_comments": [
            {"id": golden_id, "comment": golden.comment, "severity": golden.severity}
            for golden_id, golden in zip(golden_ids(goldens), goldens, strict=True)
        ],
        "candidates": [candidate.to_json() for candidate in candidates],
        "allowed_pairs": {golden_id: list(ids) for golden_id, ids in allowed.items()},
    }
    return {
        "model": model,
        "max_tokens": JUDGE_MAX_TOKENS,
        "system": judge_prompt().system,
        "messages": [{"role": "user", "content": json.dumps(document, indent=1)}],
        "output_config": {"format": {"type": "json_schema", "schema": ANSWER_SCHEMA}},
    }


class _Pair(BaseModel):
    model_config = ConfigDict(extra="ignore")
    golden: str
    candidate: str
    reason: str = ""


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    matches: list[_Pair]


class JudgeAnswerError(ValueError):
    """The judge's answer is not the document it was asked for."""


def parse_verdict(text: str, allowed: Mapping[str, Sequence[str]]) -> Verdict:
    """The verdict in the judge's answer text, keeping only allowed, distinct pairs."""
    try:
        answer = _Answer.model_validate_json(text)
    except ValidationError as error:
        first = error.errors()[0]
        message = f"the judge's answer is not the asked document: {first['msg']}"
        raise JudgeAnswerError(message) from None
    matches: dict[tuple[str, str], Match] = {}
    dropped = []
    for pair in answer.matches:
        key = (pair.golden, pair.candidate)
        if pair.candidate not in allowed.get(pair.golden, ()):
            dropped.append(f"{pair.golden}~{pair.candidate}")
        else:
            matches.setdefault(key, Match(pair.golden, pair.candidate, pair.reason))
    return Verdict(tuple(matches.values()), tuple(dropped))


def answer_text(content: Sequence[Mapping[str, Any]]) -> str:
    """The text of a reply's content blocks (never its thinking)."""
    return "".join(str(b.get("text", "")) for b in content if b.get("type") == "text")
