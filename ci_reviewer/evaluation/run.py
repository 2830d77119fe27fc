"""One evaluation run: fetch, review and judge each dataset entry, saving after each step.

A PR already reviewed in the results file is not reviewed again (nor paid for); one awaiting
its judgement is judged; a skipped one is tried again (it cost nothing). With the batch
judge, every PR's judge request goes into one batch after the reviews; its id is saved
before polling, so a run stopped while waiting collects that batch next time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ci_reviewer.errors import ClaudeAPIError
from ci_reviewer.evaluation import results as store
from ci_reviewer.evaluation.dataset import DatasetEntry, GoldenComment, PullRef
from ci_reviewer.evaluation.fetch import Checkout, Unfetchable
from ci_reviewer.evaluation.judge import (
    Candidate,
    Verdict,
    allowed_pairs,
    golden_ids,
    judge_prompt,
    judge_request,
    needs_judge,
)
from ci_reviewer.evaluation.judge_api import (
    JudgeCall,
    JudgeJob,
    collect_batch,
    judge_sync,
    submit_batch,
)
from ci_reviewer.evaluation.results import AWAITING, JUDGED, SKIPPED, PRRecord, RunResults
from ci_reviewer.review.engine import ReviewResult

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Judge:
    """How the judge is reached: `client` for sync calls, `batches` (a BatchesAPI) for batch."""

    model: str
    client: Any
    batches: Any = None
    timeout_s: float = 3600.0
    poll_s: float = 30.0


@dataclass(frozen=True)
class Steps:
    """The run's collaborators, passed in: fetch a PR, review a checkout, report progress."""

    fetch: Callable[[PullRef], Checkout]
    review: Callable[[Checkout], ReviewResult]
    progress: Progress


def run_eval(
    entries: Sequence[DatasetEntry], results: RunResults, path: Path, steps: Steps, judge: Judge
) -> RunResults:
    for number, entry in enumerate(entries, 1):
        label = f"[{number}/{len(entries)}] {entry.url}"
        done = results.records.get(entry.url)
        if done is not None and done.status != SKIPPED:
            steps.progress(f"{label}: reviewed in an earlier run, not reviewed again")
            continue
        results.records[entry.url] = _reviewed(entry, steps, label)
        store.save(results, path)
    judge_pending(results, path, judge, steps.progress)
    return results


def _reviewed(entry: DatasetEntry, steps: Steps, label: str) -> PRRecord:
    base = PRRecord(entry.url, entry.title, entry.where, SKIPPED, goldens=_goldens(entry))
    pull = entry.pull
    if pull is None:
        steps.progress(f"{label}: skipped: the URL names no GitHub pull request ({entry.where})")
        return replace(base, reason="the URL names no GitHub pull request")
    try:
        checkout = steps.fetch(pull)
    except Unfetchable as error:
        steps.progress(f"{label}: skipped: {error.message}")
        return replace(base, reason=error.message)
    steps.progress(f"{label}: reviewing")
    result = steps.review(checkout)
    if result.api_error:
        raise ClaudeAPIError(f"reviewing {pull}: {result.api_error}")
    candidates = _candidates(result)
    record = replace(
        base,
        status=AWAITING,
        shas={"head": checkout.head_sha, "base": checkout.base_sha, "fork": checkout.fork_sha},
        candidates=[c.to_json() for c in candidates],
        review=_review_facts(result),
    )
    cost = result.cost_usd
    steps.progress(
        f"{label}: {len(result.files)} file(s), {len(candidates)} finding(s), "
        f"{'cost unknown' if cost is None else f'${cost:.4f}'}, {result.duration_s:.1f} s"
    )
    return record


def _goldens(entry: DatasetEntry) -> list[dict[str, Any]]:
    return [
        {"id": gid, "comment": g.comment, "severity": g.severity, "path": g.path, "line": g.line}
        for gid, g in zip(golden_ids(entry.goldens), entry.goldens, strict=True)
    ]


def _candidates(result: ReviewResult) -> list[Candidate]:
    return [
        Candidate(f"c{index}", f.path, f.line, f.severity, f.title, f.body)
        for index, f in enumerate(result.findings, 1)
    ]


def _review_facts(result: ReviewResult) -> dict[str, Any]:
    return {
        "model": result.model,
        "cost_usd": result.cost_usd,
        "seconds": round(result.duration_s, 3),
        "files": len(result.files),
        "changed_files": sorted({r.path for r in result.files} | {s.path for s in result.skipped}),
        "skipped_files": [{"path": s.path, "reason": s.reason} for s in result.skipped],
        "usage": result.usage.to_json(),
        "warnings": list(result.warnings),
    }


def judge_pending(results: RunResults, path: Path, judge: Judge, progress: Progress) -> None:
    """Judge every PR awaiting its judgement (free when no pair is left to decide)."""
    jobs: dict[str, JudgeJob] = {}
    urls: dict[str, str] = {}
    for record in list(results.records.values()):
        if record.status != AWAITING:
            continue
        job = _job(record, judge.model)
        if job is None:
            results.records[record.url] = _with_verdict(record, None, judge, "none")
        else:
            jobs[job.custom_id], urls[job.custom_id] = job, record.url
    store.save(results, path)
    if not jobs:
        return

    def apply(custom_id: str, call: JudgeCall, api: str) -> None:
        url = urls[custom_id]
        results.records[url] = _with_verdict(results.records[url], call, judge, api)

    if judge.batches is None:
        for custom_id, job in jobs.items():
            apply(custom_id, judge_sync(judge.client, job), "sync")
            store.save(results, path)
        progress(f"judged {len(jobs)} PR(s) with {judge.model}")
        return
    for custom_id, call in _judged_in_batch(results, path, judge, jobs, progress).items():
        apply(custom_id, call, "batch")
    results.pending_batch = None
    store.save(results, path)
    progress(f"judged {len(jobs)} PR(s) with {judge.model} (batch)")


def _judged_in_batch(
    results: RunResults,
    path: Path,
    judge: Judge,
    jobs: dict[str, JudgeJob],
    progress: Progress,
) -> dict[str, JudgeCall]:
    """The batch's answers; the batch is created (and its id saved) unless one is pending."""
    if results.pending_batch is None:
        results.pending_batch = submit_batch(judge.batches, list(jobs.values()))
        store.save(results, path)
        progress(f"judge batch {results.pending_batch}: {len(jobs)} request(s) sent")
    else:
        progress(f"judge batch {results.pending_batch}: sent by an earlier run, collecting")
    return collect_batch(
        judge.batches, results.pending_batch, jobs, timeout_s=judge.timeout_s, poll_s=judge.poll_s
    )


def custom_id_of(url: str) -> str:
    """A batch custom_id for the PR (`^[a-zA-Z0-9_-]{1,64}$`, unique per URL)."""
    return "pr-" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:20]


def _inputs(
    record: PRRecord,
) -> tuple[list[GoldenComment], list[Candidate], dict[str, tuple[str, ...]]]:
    goldens = [GoldenComment.from_json(g) for g in record.goldens]
    candidates = [Candidate(**c) for c in record.candidates]
    allowed = allowed_pairs(goldens, candidates, record.review.get("changed_files", ()))
    return goldens, candidates, allowed


def _job(record: PRRecord, model: str) -> JudgeJob | None:
    goldens, candidates, allowed = _inputs(record)
    if not needs_judge(allowed):
        return None
    params = judge_request(model, record.title, goldens, candidates, allowed)
    return JudgeJob(custom_id_of(record.url), params, allowed)


def _with_verdict(record: PRRecord, call: JudgeCall | None, judge: Judge, api: str) -> PRRecord:
    """The record judged by `call` (None: nothing to decide), or left awaiting with the
    reason the judge gave no verdict."""
    allowed = {golden: list(ids) for golden, ids in _inputs(record)[2].items()}
    facts: dict[str, Any] = {
        "model": judge.model,
        "prompt_version": judge_prompt().version,
        "api": api,
        "cost_usd": 0.0 if call is None else call.cost_usd,
        "usage": {} if call is None else _usage_json(call),
    }
    verdict = Verdict(()) if call is None else call.verdict
    if verdict is None:
        error = call.error if call is not None else None
        return replace(record, allowed=allowed, judge={**facts, "error": error})
    matches = [{"golden": m.golden, "candidate": m.candidate, "reason": m.reason}
               for m in verdict.matches]  # fmt: skip
    return replace(
        record,
        status=JUDGED,
        allowed=allowed,
        matches=matches,
        dropped=list(verdict.dropped),
        judge=facts,
    )


def _usage_json(call: JudgeCall) -> dict[str, int]:
    usage = call.usage
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
    }
