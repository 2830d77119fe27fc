"""The results file: every PR's candidates, golden comments, judgement, counts and costs.

It is written again after each PR (to a temporary file, then renamed), so a run that stops
keeps every review it paid for; a later run with the same file reviews only what is missing
and judges what was not judged. The run's identity (review model, config digest, judge model
and prompt version) is recorded: resuming with another one would mix two runs in one table,
so it is refused (another judge is taken while no PR has been judged yet).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ci_reviewer.errors import InputError
from ci_reviewer.evaluation.metrics import Counts, counts_of, total

FORMAT = "ci-reviewer-eval/1"
JUDGED, AWAITING, SKIPPED = "judged", "awaiting-judge", "skipped"


@dataclass(frozen=True)
class RunIdentity:
    review_model: str
    config_digest: str
    judge_model: str
    judge_prompt_version: str

    def to_json(self) -> dict[str, str]:
        return {
            "review_model": self.review_model,
            "config_digest": self.config_digest,
            "judge_model": self.judge_model,
            "judge_prompt_version": self.judge_prompt_version,
        }


@dataclass(frozen=True)
class PRRecord:
    """One dataset entry's outcome; dicts are the JSON the file holds."""

    url: str
    title: str
    where: str
    status: str
    reason: str | None = None
    shas: dict[str, str] = field(default_factory=dict)
    goldens: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    allowed: dict[str, list[str]] = field(default_factory=dict)
    matches: list[dict[str, str]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    review: dict[str, Any] = field(default_factory=dict)
    judge: dict[str, Any] = field(default_factory=dict)

    @property
    def counts(self) -> Counts:
        pairs = [(m["golden"], m["candidate"]) for m in self.matches]
        golden_ids = [g["id"] for g in self.goldens]
        return counts_of(golden_ids, [c["id"] for c in self.candidates], pairs)

    @property
    def review_cost(self) -> float | None:
        cost = self.review.get("cost_usd")
        return float(cost) if cost is not None else None

    @property
    def judge_cost(self) -> float | None:
        cost = self.judge.get("cost_usd")
        return float(cost) if cost is not None else None

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "url": self.url,
            "title": self.title,
            "dataset": self.where,
            "status": self.status,
            "reason": self.reason,
            "shas": self.shas,
            "goldens": self.goldens,
            "candidates": self.candidates,
            "allowed_pairs": self.allowed,
            "matches": self.matches,
            "dropped_pairs": self.dropped,
            "review": self.review,
            "judge": self.judge,
        }
        if self.status == JUDGED:
            document["metrics"] = self.counts.to_json()
        return document

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PRRecord:
        return cls(
            url=data["url"],
            title=data.get("title", ""),
            where=data.get("dataset", ""),
            status=data["status"],
            reason=data.get("reason"),
            shas=dict(data.get("shas") or {}),
            goldens=list(data.get("goldens") or []),
            candidates=list(data.get("candidates") or []),
            allowed={k: list(v) for k, v in (data.get("allowed_pairs") or {}).items()},
            matches=list(data.get("matches") or []),
            dropped=list(data.get("dropped_pairs") or []),
            review=dict(data.get("review") or {}),
            judge=dict(data.get("judge") or {}),
        )

    def unjudged(self) -> PRRecord:
        """The record with its judgement removed, to be judged again."""
        if self.status == SKIPPED:
            return self
        return replace(self, status=AWAITING, matches=[], dropped=[], judge={})


@dataclass
class RunResults:
    """The whole file: identity, records in dataset order, a pending judge batch."""

    identity: RunIdentity
    records: dict[str, PRRecord] = field(default_factory=dict)
    judge_api: str = "sync"
    pending_batch: str | None = None

    def to_json(self) -> dict[str, Any]:
        judged = [r for r in self.records.values() if r.status == JUDGED]
        return {
            "format": FORMAT,
            "run": self.identity.to_json(),
            "judge_api": self.judge_api,
            "pending_judge_batch": self.pending_batch,
            "totals": {
                **total(r.counts for r in judged).to_json(),
                "prs_judged": len(judged),
                "prs_awaiting_judge": sum(r.status == AWAITING for r in self.records.values()),
                "prs_skipped": sum(r.status == SKIPPED for r in self.records.values()),
                "review_cost_usd": _sum(r.review_cost for r in self.records.values()),
                "review_seconds": round(
                    sum(float(r.review.get("seconds") or 0) for r in self.records.values()), 3
                ),
                "judge_cost_usd": _sum(r.judge_cost for r in self.records.values()),
            },
            "prs": [record.to_json() for record in self.records.values()],
        }


def _sum(values: Any) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known), 6) if known else None


def save(results: RunResults, path: Path) -> None:
    text = json.dumps(results.to_json(), indent=2) + "\n"
    temporary = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        raise InputError(f"cannot write the results file {path}: {error.strerror}") from None


def load(path: Path) -> RunResults:
    """A results file written by `save`; exit 2 naming the file when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"cannot read the results file {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise InputError(
            f"{path}:{error.lineno}: the results file is not valid JSON: {error.msg}",
            hint="pass a file written by `ci-reviewer eval`, or delete it to start over",
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(
            f'{path}:1: not a ci-reviewer eval results file (no "format": "{FORMAT}")',
            hint="pass a file written by `ci-reviewer eval --results`",
        )
    run = data.get("run") or {}
    try:
        identity = RunIdentity(**{k: str(run[k]) for k in RunIdentity.__dataclass_fields__})
        records = [PRRecord.from_json(entry) for entry in data.get("prs") or []]
    except (KeyError, TypeError, AttributeError) as error:
        raise InputError(f"{path}: the results file is incomplete ({error})") from None
    return RunResults(
        identity,
        {r.url: r for r in records},
        str(data.get("judge_api") or "sync"),
        data.get("pending_judge_batch"),
    )


def resumable(path: Path, identity: RunIdentity, judge_api: str) -> RunResults:
    """The results to continue in `path`: a new run when there is no file yet."""
    if not path.exists():
        return RunResults(identity, judge_api=judge_api)
    results = load(path)
    if _judged_nothing_yet(results, identity):
        # Another judge, and nothing was asked of the old one: its free verdicts are redone.
        results.identity = identity
        results.records = {url: r.unjudged() for url, r in results.records.items()}
    if results.identity != identity:
        different = [
            f"{name} {getattr(results.identity, name)!r} (now {getattr(identity, name)!r})"
            for name in RunIdentity.__dataclass_fields__
            if getattr(results.identity, name) != getattr(identity, name)
        ]
        raise InputError(
            f"{path} holds another run: {'; '.join(different)}",
            hint="pass another --results file to start a new run, or --rejudge it to judge "
            "its reviews with another judge",
        )
    results.judge_api = judge_api
    return results


def _judged_nothing_yet(results: RunResults, identity: RunIdentity) -> bool:
    same_reviews = (results.identity.review_model, results.identity.config_digest) == (
        identity.review_model,
        identity.config_digest,
    )
    # A verdict given without a call (nothing to match) is the same under any judge.
    asked = [
        r for r in results.records.values() if r.status == JUDGED and r.judge.get("api") != "none"
    ]
    return same_reviews and not asked
